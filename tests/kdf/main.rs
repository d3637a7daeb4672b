//! The kdf core's integration tests, one test binary: every backend against the `pbkdf2` crate,
//! and the generated assembly loop against its generator.

mod differential;
mod generated_code;
