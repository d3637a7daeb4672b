//! Constants shared by every backend: the SHA-256 round constants and initial state
//! (FIPS 180-4 §4.2.2, §5.3.3), and the fixed-shape PBKDF2 message blocks (`docs/kdf.md`,
//! technique 1).
//!
//! All blocks here are in *word* form: `W[t]` is the big-endian interpretation of message
//! bytes `4t..4t+4`, as the SHA-256 message schedule consumes them.

/// SHA-256 round constants `K[0..64]`.
pub(super) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 initial hash value `H(0)` = A..H.
pub(super) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// HMAC inner pad byte, replicated into a word.
pub(super) const IPAD: u32 = 0x3636_3636;
/// HMAC outer pad byte, replicated into a word.
pub(super) const OPAD: u32 = 0x5c5c_5c5c;

/// Words 8..16 of every block after the first inner one: a 32-byte digest in words 0..8,
/// then `0x80`, zeros, and the bit length of `64 + 32` bytes (768). These never change, so
/// the kernels treat them as constants (as hashcat mode 12800 and John the Ripper do;
/// `docs/kdf.md`).
pub(super) const DIGEST_PAD: [u32; 8] = [0x8000_0000, 0, 0, 0, 0, 0, 0, (64 + 32) * 8];

/// Bit length of the first inner message: 64-byte ipad block, 10-byte salt, 4-byte `INT(1)`.
const SALT_BLOCK_BITS: u32 = (64 + super::SALT_LEN as u32 + 4) * 8;

/// The key block XOR-ed with a pad word: `W[t] = BE(key[4t..4t+4]) ^ pad`.
///
/// The key is exactly one block (`docs/kdf.md`, "The fixed shape"), so HMAC uses it as is.
#[inline]
pub(super) fn key_block(key: &[u8; super::KEY_LEN], pad: u32) -> [u32; 16] {
    core::array::from_fn(|t| {
        u32::from_be_bytes([key[4 * t], key[4 * t + 1], key[4 * t + 2], key[4 * t + 3]]) ^ pad
    })
}

/// The single block of the first inner hash of U1: `salt(10) || INT(1) || 0x80 || 0… ||
/// bitlen 624`.
#[inline]
pub(super) fn salt_block(salt: &[u8; super::SALT_LEN]) -> [u32; 16] {
    let mut w = [0u32; 16];
    w[0] = u32::from_be_bytes([salt[0], salt[1], salt[2], salt[3]]);
    w[1] = u32::from_be_bytes([salt[4], salt[5], salt[6], salt[7]]);
    // salt[8], salt[9], then INT(1) = 00 00 00 01 begins.
    w[2] = u32::from_be_bytes([salt[8], salt[9], 0, 0]);
    // 00 01 of INT(1), then the 0x80 end-of-message byte.
    w[3] = 0x0001_8000;
    w[15] = SALT_BLOCK_BITS;
    w
}

/// Writes state words `A..H` big-endian into the 32-byte output.
#[inline]
pub(super) fn store_be(words: &[u32; 8], out: &mut [u8; super::OUT_LEN]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}
