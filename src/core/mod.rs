//! The hashing core: PBKDF2-HMAC-SHA256 specialised for the cloud verifier's shape
//! (`perf.md` §3–§4): a 64-byte password (one SHA-256 block, used as the HMAC key as is),
//! a 10-byte salt, one 32-byte output block.
//!
//! Bytes in, bytes out: this module knows nothing of NT hashes, policies or input formats.

/// Length of the PBKDF2 password: UTF-16LE of 32 hex digits.
pub const KEY_LEN: usize = 64;
/// Length of the salt.
pub const SALT_LEN: usize = 10;
/// Length of the derived key.
pub const OUT_LEN: usize = 32;

/// `PBKDF2-HMAC-SHA256(key, salt, iterations, 32)` for one input.
pub fn derive(
    key: &[u8; KEY_LEN],
    salt: &[u8; SALT_LEN],
    iterations: u32,
    out: &mut [u8; OUT_LEN],
) {
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, salt, iterations, out);
}

/// [`derive()`] for many inputs: `out[i]` = derive(`keys[i]`, `salts[i]`).
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
    for ((key, salt), out) in keys.iter().zip(salts).zip(out.iter_mut()) {
        derive(key, salt, iterations, out);
    }
}
