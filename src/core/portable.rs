//! Portable scalar backend: fastpbkdf2-style PBKDF2 over an own SHA-256 compression
//! function (`perf.md` §3 "fastpbkdf2", §4 technique 1).
//!
//! Why an own compression rather than `sha2::compress256`: `compress256` takes big-endian
//! *bytes* and re-detects SHA-NI / ARMv8 SHA2 on every call, so as the "portable" backend it
//! would silently be a hardware backend on this machine (we could not test the scalar
//! fallback that machines without those extensions run), and it would pay a byte
//! (de)serialisation per block (`perf.md` §1.2: −20 % for one block per call). Working on
//! words keeps the previous digest usable as message words directly and keeps the fixed
//! padding words constant. Safe code only.

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

#[inline(always)]
fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}
#[inline(always)]
fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}
#[inline(always)]
fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
#[inline(always)]
fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// One SHA-256 compression: returns `state + rounds(state, w)` (FIPS 180-4 §6.2.2).
///
/// The 64 rounds are written out by macros (constant round and word indices, rotating
/// variable names instead of moves), which the compiler does not do reliably for a loop.
#[inline(always)]
pub(super) fn compress(state: &[u32; 8], block: &[u32; 16]) -> [u32; 8] {
    let mut w = *block;
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    macro_rules! round {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $t:expr) => {{
            let t: usize = $t;
            if t >= 16 {
                w[t % 16] = small_sigma1(w[(t - 2) % 16])
                    .wrapping_add(w[(t - 7) % 16])
                    .wrapping_add(small_sigma0(w[(t - 15) % 16]))
                    .wrapping_add(w[t % 16]);
            }
            let t1 = $h
                .wrapping_add(K[t])
                .wrapping_add(w[t % 16])
                .wrapping_add(($e & $f) ^ (!$e & $g))
                .wrapping_add(big_sigma1($e));
            let t2 = big_sigma0($a).wrapping_add(($a & $b) ^ ($c & ($a ^ $b)));
            $d = $d.wrapping_add(t1);
            $h = t1.wrapping_add(t2);
        }};
    }
    macro_rules! round8 {
        ($t:expr) => {
            round!(a, b, c, d, e, f, g, h, $t);
            round!(h, a, b, c, d, e, f, g, $t + 1);
            round!(g, h, a, b, c, d, e, f, $t + 2);
            round!(f, g, h, a, b, c, d, e, $t + 3);
            round!(e, f, g, h, a, b, c, d, $t + 4);
            round!(d, e, f, g, h, a, b, c, $t + 5);
            round!(c, d, e, f, g, h, a, b, $t + 6);
            round!(b, c, d, e, f, g, h, a, $t + 7);
        };
    }
    round8!(0);
    round8!(8);
    round8!(16);
    round8!(24);
    round8!(32);
    round8!(40);
    round8!(48);
    round8!(56);
    w.zeroize();
    [
        state[0].wrapping_add(a),
        state[1].wrapping_add(b),
        state[2].wrapping_add(c),
        state[3].wrapping_add(d),
        state[4].wrapping_add(e),
        state[5].wrapping_add(f),
        state[6].wrapping_add(g),
        state[7].wrapping_add(h),
    ]
}

/// `PBKDF2-HMAC-SHA256(key, salt, iterations ≥ 1, 32)` for one input, scalar.
#[inline(never)]
pub(super) fn derive(
    key: &[u8; KEY_LEN],
    salt: &[u8; SALT_LEN],
    iterations: u32,
    out: &mut [u8; OUT_LEN],
) {
    debug_assert!(iterations >= 1);
    let mut block = key_block(key, IPAD);
    let mut istate = compress(&IV, &block);
    block = key_block(key, OPAD);
    let mut ostate = compress(&IV, &block);

    // U1: inner over salt || INT(1), outer over the inner digest.
    block = salt_block(salt);
    let inner = compress(&istate, &block);
    block[..8].copy_from_slice(&inner);
    block[8..].copy_from_slice(&DIGEST_PAD);
    let mut u = compress(&ostate, &block);
    let mut acc = u;

    for _ in 1..iterations {
        block[..8].copy_from_slice(&u);
        let inner = compress(&istate, &block);
        block[..8].copy_from_slice(&inner);
        u = compress(&ostate, &block);
        for (a, x) in acc.iter_mut().zip(&u) {
            *a ^= x;
        }
    }
    store_be(&acc, out);

    block.zeroize();
    istate.zeroize();
    ostate.zeroize();
    u.zeroize();
    acc.zeroize();
}
