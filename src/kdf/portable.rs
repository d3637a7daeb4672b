//! Portable scalar backend: one PBKDF2 lane in plain `u32` words, fastpbkdf2-style
//! (fastpbkdf2's approach, `docs/kdf.md` technique 1) — the shared lane kernel
//! ([`super::lanes`]) with one lane per "vector".
//!
//! Why an own compression rather than `sha2::compress256`: `compress256` takes big-endian
//! *bytes* and re-detects SHA-NI / ARMv8 SHA2 on every call, so as the "portable" backend it
//! would silently be a hardware backend on this machine (we could not test the scalar
//! fallback that machines without those extensions run), and it would pay a byte
//! (de)serialisation per block (`BENCHMARKS.md`: −20 % for one block per call). Working on
//! words keeps the previous digest usable as message words directly and keeps the fixed
//! padding words constant. Safe code only.

use zeroize::Zeroize;

use super::lanes::{self, Lanes};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

/// `PBKDF2-HMAC-SHA256(key, salt, iterations ≥ 1, 32)` for one input, scalar.
#[inline(never)]
pub(super) fn derive(
    key: &[u8; KEY_LEN],
    salt: &[u8; SALT_LEN],
    iterations: u32,
    out: &mut [u8; OUT_LEN],
) {
    lanes::derive::<Word, 1>(
        (),
        core::array::from_ref(key),
        core::array::from_ref(salt),
        iterations,
        core::array::from_mut(out),
    );
}

/// One 32-bit word: a one-lane "vector" that any CPU can compute with.
#[derive(Clone, Copy)]
struct Word(u32);

impl Zeroize for Word {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Lanes<1> for Word {
    type Token = ();

    #[inline(always)]
    fn splat((): (), x: u32) -> Word {
        Word(x)
    }
    #[inline(always)]
    fn from_words((): (), [x]: [u32; 1]) -> Word {
        Word(x)
    }
    #[inline(always)]
    fn to_words(self) -> [u32; 1] {
        [self.0]
    }
    #[inline(always)]
    fn add(self, o: Word) -> Word {
        Word(self.0.wrapping_add(o.0))
    }
    #[inline(always)]
    fn xor(self, o: Word) -> Word {
        Word(self.0 ^ o.0)
    }
    #[inline(always)]
    fn big_sigma0(self) -> Word {
        let x = self.0;
        Word(x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22))
    }
    #[inline(always)]
    fn big_sigma1(self) -> Word {
        let x = self.0;
        Word(x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25))
    }
    #[inline(always)]
    fn small_sigma0(self) -> Word {
        let x = self.0;
        Word(x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3))
    }
    #[inline(always)]
    fn small_sigma1(self) -> Word {
        let x = self.0;
        Word(x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10))
    }
    #[inline(always)]
    fn ch(e: Word, f: Word, g: Word) -> Word {
        Word((e.0 & f.0) ^ (!e.0 & g.0))
    }
    #[inline(always)]
    fn maj(a: Word, b: Word, c: Word) -> Word {
        // (a & b) ^ (c & (a ^ b)): one and fewer than the textbook form.
        Word((a.0 & b.0) ^ (c.0 & (a.0 ^ b.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_match_the_reference_lanes() {
        lanes::tests::ops_match_soft::<Word, 1>(());
    }
}
