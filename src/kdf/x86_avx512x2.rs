//! x86_64 AVX-512 backend, two interleaved groups: thirty-two PBKDF2 lanes as two independent
//! sixteen-lane groups in lock-step. Every operation of [`Z2`] issues the same instruction on
//! both halves, so each SHA-256 step carries two independent dependency chains: where one
//! group waits on a `vprord` → `vpternlogd` → `vpaddd` chain (a round's critical path is about
//! four instructions long), the other group's instructions fill the vector ports. That is the
//! lever on cores with more 512-bit ports than one group's chain can feed (AMD Zen 5:
//! `BENCHMARKS.md`); on a core that one group already keeps busy (two 512-bit ports, Intel
//! Sapphire/Emerald Rapids) it cannot win, and the calibration ([`super::select`]) keeps
//! whichever of `avx512-x16` and `avx512-x32` is faster on the running CPU.
//!
//! Same shared transposed kernel as `avx512-x16` ([`super::lanes`]), same vector instructions
//! ([`super::x86_avx512`]'s operations on each half); 2 × (8 state + 16 message) vectors are
//! more than 32 ZMM registers, so the compiler spills some message words — to the stack, as
//! full-width loads/stores that use the load/store ports, not the vector ALUs.
//!
//! Compiled with `avx512f` only and never calls SHA-NI code (`docs/kdf.md`, "SSE and AVX").

use zeroize::Zeroize;

use super::lanes::{self, Lanes};
use super::x86_avx512::{Avx512, Z};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

/// Lanes per kernel call.
const LANES: usize = 32;
/// Lanes per ZMM register.
const HALF: usize = 16;

/// Derives every full group of thirty-two with an [`Avx512`] proof token; returns how many
/// items it did.
pub(super) fn derive_many(
    t: Avx512,
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) -> usize {
    debug_assert!(iterations >= 1);
    super::for_each_group::<LANES>(keys, salts, out, |k, s, o| {
        // SAFETY: `t` is an `Avx512`, which only `Avx512::detect` creates after `cpufeatures`
        // confirmed avx512f on this CPU — the feature `derive32` is compiled with.
        unsafe { derive32(t, k, s, iterations, o) }
    })
}

/// `PBKDF2-HMAC-SHA256` of thirty-two independent inputs in lock-step: the shared kernel,
/// compiled here with AVX-512F so that [`Z2`]'s operations inline as pairs of instructions.
#[inline(never)]
#[target_feature(enable = "avx512f")]
fn derive32(
    t: Avx512,
    keys: &[[u8; KEY_LEN]; LANES],
    salts: &[[u8; SALT_LEN]; LANES],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; LANES],
) {
    lanes::derive::<Z2, LANES>(t, keys, salts, iterations, out);
}

/// Two independent sixteen-lane groups: lanes 0..16 in the first ZMM register, 16..32 in the
/// second. Built only from [`Z`] values, which exist only on a CPU with AVX-512F (their
/// constructors take the [`Avx512`] token); `Z2` has no `unsafe` of its own.
#[derive(Clone, Copy)]
pub(super) struct Z2([Z; 2]);

impl Zeroize for Z2 {
    fn zeroize(&mut self) {
        self.0[0].zeroize();
        self.0[1].zeroize();
    }
}

impl Z2 {
    /// `f` on both halves.
    #[inline(always)]
    fn map(self, f: impl Fn(Z) -> Z) -> Z2 {
        Z2([f(self.0[0]), f(self.0[1])])
    }
    /// `f` on both pairs of halves.
    #[inline(always)]
    fn zip(self, o: Z2, f: impl Fn(Z, Z) -> Z) -> Z2 {
        Z2([f(self.0[0], o.0[0]), f(self.0[1], o.0[1])])
    }
}

impl Lanes<LANES> for Z2 {
    type Token = Avx512;

    #[inline(always)]
    fn splat(t: Avx512, x: u32) -> Z2 {
        let z = Z::splat(t, x);
        Z2([z, z])
    }
    #[inline(always)]
    fn from_words(t: Avx512, words: [u32; LANES]) -> Z2 {
        Z2([
            Z::from_words(t, core::array::from_fn(|l| words[l])),
            Z::from_words(t, core::array::from_fn(|l| words[HALF + l])),
        ])
    }
    #[inline(always)]
    fn to_words(self) -> [u32; LANES] {
        let (lo, hi) = (self.0[0].to_words(), self.0[1].to_words());
        core::array::from_fn(|l| if l < HALF { lo[l] } else { hi[l - HALF] })
    }
    #[inline(always)]
    fn add(self, o: Z2) -> Z2 {
        self.zip(o, Z::add)
    }
    #[inline(always)]
    fn xor(self, o: Z2) -> Z2 {
        self.zip(o, Z::xor)
    }
    #[inline(always)]
    fn big_sigma0(self) -> Z2 {
        self.map(Z::big_sigma0)
    }
    #[inline(always)]
    fn big_sigma1(self) -> Z2 {
        self.map(Z::big_sigma1)
    }
    #[inline(always)]
    fn small_sigma0(self) -> Z2 {
        self.map(Z::small_sigma0)
    }
    #[inline(always)]
    fn small_sigma1(self) -> Z2 {
        self.map(Z::small_sigma1)
    }
    #[inline(always)]
    fn ch(e: Z2, f: Z2, g: Z2) -> Z2 {
        Z2([Z::ch(e.0[0], f.0[0], g.0[0]), Z::ch(e.0[1], f.0[1], g.0[1])])
    }
    #[inline(always)]
    fn maj(a: Z2, b: Z2, c: Z2) -> Z2 {
        Z2([
            Z::maj(a.0[0], b.0[0], c.0[0]),
            Z::maj(a.0[1], b.0[1], c.0[1]),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_match_the_reference_lanes() {
        let Some(t) = Avx512::detect() else {
            eprintln!("no AVX-512F on this CPU: skipped");
            return;
        };
        lanes::tests::ops_match_soft::<Z2, LANES>(t);
    }

    #[test]
    fn thirty_two_lanes_match_pbkdf2() {
        let Some(t) = Avx512::detect() else {
            eprintln!("no AVX-512F on this CPU: skipped");
            return;
        };
        for iterations in [1, 2, 3, 100] {
            let (keys, salts) = lanes::tests::inputs::<LANES>(u64::from(iterations) + 77);
            let mut out = [[0u8; OUT_LEN]; LANES];
            assert_eq!(derive_many(t, &keys, &salts, iterations, &mut out), LANES);
            assert_eq!(out, lanes::tests::reference(&keys, &salts, iterations));
        }
    }
}
