//! The kdf core's integration tests, one test binary: every backend against the `pbkdf2` crate,
//! the generated assembly loop against its generator, how the backend is chosen, and that the
//! stack wipe after a kernel call reaches as deep as the kernel did.

mod differential;
mod generated_code;
mod selection;
#[cfg(target_arch = "x86_64")]
mod stack_wipe;
