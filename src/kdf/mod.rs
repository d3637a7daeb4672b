//! The hashing core: PBKDF2-HMAC-SHA256 specialised for the cloud verifier's shape
//! (`docs/kdf.md`): a 64-byte password (one SHA-256 block, used as the HMAC key as is),
//! a 10-byte salt, one 32-byte output block.
//!
//! Bytes in, bytes out: this module knows nothing of NT hashes, policies or input formats.
//!
//! # How it is fast
//! Per verifier the work is `2·iterations + 2` SHA-256 compressions. The kernels
//! (`docs/kdf.md`, "Techniques"):
//! 1. compute the HMAC ipad/opad states once per key, build `salt || INT(1)` as one block,
//!    and treat words 8..16 of every later block as constants ([technique 1]);
//! 2. keep the hash state in the backend's native layout between iterations and feed the
//!    previous digest as message words without byte swaps ([technique 2]);
//! 3. run several independent verifiers in lock-step ([technique 3]): SHA-NI ×2/×4
//!    interleaved (×2 also as a hand-scheduled assembly loop), AVX2 8 / AVX-512 16 lanes
//!    transposed (AVX-512 also as two interleaved 16-lane groups, ×32), ARMv8 SHA2 ×2/×4;
//! 4. pick the kernel at run time with `cpufeatures` ([technique 4]); no global
//!    `target-cpu`/`+avx2` flags are needed or wanted (`docs/kdf.md`, "SSE and AVX").
//!
//! # Choosing a backend
//! [`Backend::selected`] is the best available kernel for this CPU, unless the environment
//! variable `PHSYNC_BACKEND` names another one (see [`Backend::from_name`]) — for tests and
//! benchmarks. [`selection()`] says which was chosen and why (forced, calibrated with the
//! timings, detected), and reports an unusable override or a failed self-test as values: the
//! library never prints. [`derive_many_with`] runs one backend explicitly.
//!
//! # Secrets
//! Key blocks, ipad/opad states, intermediate digests and accumulators are zeroized after
//! use (`docs/kdf.md`): explicit `zeroize` on the named buffers, and a best-effort wipe of
//! the stack the kernels used ([`zeroize::zeroize_stack`]) after every call. Register
//! contents cannot be wiped from Rust. No kernel branches or indexes on secret data.
//!
//! [technique 1]: Backend#techniques
//! [technique 2]: Backend#techniques
//! [technique 3]: Backend#techniques
//! [technique 4]: Backend#techniques

#[cfg(target_arch = "aarch64")]
mod aarch64_sha2;
mod backend;
mod consts;
mod dispatch;
mod lanes;
mod portable;
mod select;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;
#[cfg(target_arch = "x86_64")]
mod x86_avx512x2;
#[cfg(target_arch = "x86_64")]
mod x86_shani;
#[cfg(target_arch = "x86_64")]
mod x86_shani_asm;

pub use backend::{Backend, BackendUnavailable, UnknownBackend};
use dispatch::{for_each_group, run};
pub use select::{BackendChoiceError, OverrideProblem, Selection, SelectionReason, selection};

/// Length of the PBKDF2 password: UTF-16LE of 32 hex digits.
pub const KEY_LEN: usize = 64;
/// Length of the salt.
pub const SALT_LEN: usize = 10;
/// Length of the derived key.
pub const OUT_LEN: usize = 32;

/// Name of the environment variable that forces a backend (read once, by
/// [`Backend::selected`]).
pub const BACKEND_ENV: &str = "PHSYNC_BACKEND";

/// `PBKDF2-HMAC-SHA256(key, salt, iterations, 32)` for one input, on
/// [`Backend::selected`]'s one-lane kernel.
///
/// `iterations = 0` is outside the specialised shape and goes to the `pbkdf2` crate (which
/// treats it like 1).
pub fn derive(
    key: &[u8; KEY_LEN],
    salt: &[u8; SALT_LEN],
    iterations: u32,
    out: &mut [u8; OUT_LEN],
) {
    run(
        Backend::selected(),
        core::slice::from_ref(key),
        core::slice::from_ref(salt),
        iterations,
        core::slice::from_mut(out),
    );
}

/// [`derive()`] for many inputs: `out[i]` = derive(`keys[i]`, `salts[i]`), on
/// [`Backend::selected`]. Full lane groups run in the widest kernel, the tail in narrower
/// ones (`docs/kdf.md` technique 3). Runs on the calling thread; split the slices across
/// threads for more cores (`docs/kdf.md` technique 6).
///
/// # Panics
/// If the three slices differ in length (a caller bug, not an input error).
pub fn derive_many(
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    assert!(
        keys.len() == salts.len() && keys.len() == out.len(),
        "derive_many: slice lengths differ"
    );
    run(Backend::selected(), keys, salts, iterations, out);
}

/// [`derive_many`] on an explicitly chosen backend (for tests and benchmarks).
///
/// # Errors
/// [`BackendUnavailable`] if this CPU cannot run `backend`; nothing is written then.
///
/// # Panics
/// If the three slices differ in length.
pub fn derive_many_with(
    backend: Backend,
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) -> Result<(), BackendUnavailable> {
    assert!(
        keys.len() == salts.len() && keys.len() == out.len(),
        "derive_many_with: slice lengths differ"
    );
    if !backend.is_available() {
        return Err(BackendUnavailable { backend });
    }
    run(backend, keys, salts, iterations, out);
    Ok(())
}
