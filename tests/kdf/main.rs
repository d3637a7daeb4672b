//! The kdf core's integration tests, one test binary: every backend against the `pbkdf2` crate,
//! the generated assembly loop against its generator, and how the backend is chosen.

mod differential;
mod generated_code;
mod selection;
