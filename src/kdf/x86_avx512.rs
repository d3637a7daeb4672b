//! x86_64 AVX-512 backend: sixteen PBKDF2 lanes in a transposed layout (one 512-bit vector
//! holds word `j` of all sixteen lanes) — the kernel that wins on Intel Xeon servers and on
//! AMD Zen 5 (`BENCHMARKS.md`: tape-sha256's 16-lane AVX-512 at 1.7× its SHA-NI ×4 on Emerald
//! Rapids; Skylake-SP/Cascade Lake Xeons have AVX-512 but no SHA-NI at all).
//!
//! The algorithm is the shared transposed kernel ([`super::lanes`]), tested on every machine
//! through its reference lanes and the AVX2 backend; this file only supplies the vector type:
//! `vprord` rotates in one instruction, and `vpternlogd` computes Σ/σ's three-way xor, Ch and
//! Maj in one instruction each, with immediates derived from the formulas
//! ([`super::lanes::ternlog`]) and exercised by the tests. 32 ZMM registers hold the eight
//! state words and the sixteen message words without spilling.
//!
//! Executed and tested on Intel Emerald Rapids (2026-11-29, `BENCHMARKS.md`); most build and CI
//! machines have no AVX-512, and QEMU's TCG does not emulate it (checked: SIGILL under
//! `qemu-x86_64 -cpu max`). `tests/kdf/` and this file's unit test run it automatically
//! wherever `avx512f` is present. Compiled with `avx512f` only; LLVM clears the upper register state
//! (`vzeroupper`) before returning, so no SSE/AVX transition penalty reaches the SHA-NI code
//! that handles the tail (`docs/kdf.md`, "SSE and AVX").

use core::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_ror_epi32, _mm512_set1_epi32, _mm512_srli_epi32,
    _mm512_ternarylogic_epi32, _mm512_xor_si512,
};

use zeroize::Zeroize;

use super::lanes::{self, Lanes, ternlog};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

// `avx512f` implies `avx2`, `avx` and `fma` to the compiler (and `f16c`, which cpufeatures
// cannot name and no kernel here uses): all are checked, so a VM that shows AVX-512F but hides
// AVX2 gets no kernel that LLVM may have given a VEX.256 instruction.
cpufeatures::new!(avx512_cpuid, "avx512f", "avx2", "avx", "fma");

/// Lanes per kernel call.
const LANES: usize = 16;

/// Proof that the running CPU supports AVX-512F: only [`Avx512::detect`] constructs it,
/// after `cpufeatures` confirmed it (including OS support for the ZMM state).
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

impl Avx512 {
    /// `Some` if the CPU (and OS) support AVX-512F (runtime CPUID/XGETBV via `cpufeatures`).
    pub(super) fn detect() -> Option<Avx512> {
        avx512_cpuid::get().then_some(Avx512(()))
    }

    /// Derives every full group of sixteen; returns how many items it did.
    pub(super) fn derive_many(
        self,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) -> usize {
        debug_assert!(iterations >= 1);
        super::for_each_group::<LANES>(keys, salts, out, |k, s, o| {
            // SAFETY: `self` is an `Avx512`, which only `Avx512::detect` creates after
            // `cpufeatures` confirmed avx512f on this CPU — the feature `derive16` is compiled
            // with.
            unsafe { derive16(self, k, s, iterations, o) }
        })
    }
}

/// `PBKDF2-HMAC-SHA256` of sixteen independent inputs in lock-step: the shared kernel,
/// compiled here with AVX-512F so that [`Z`]'s operations inline as single instructions.
#[inline(never)]
#[target_feature(enable = "avx512f")]
fn derive16(
    t: Avx512,
    keys: &[[u8; KEY_LEN]; LANES],
    salts: &[[u8; SALT_LEN]; LANES],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; LANES],
) {
    lanes::derive::<Z, LANES>(t, keys, salts, iterations, out);
}

/// Sixteen 32-bit lanes in a ZMM register. Every constructor takes an [`Avx512`] token, so a
/// `Z` exists only on a CPU with AVX-512F: that is the safety argument of every `unsafe`
/// below.
#[derive(Clone, Copy)]
pub(super) struct Z(__m512i);

impl Zeroize for Z {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// `vpternlogd` with an immediate from [`ternlog`].
macro_rules! tern {
    ($imm:expr, $a:expr, $b:expr, $c:expr) => {
        _mm512_ternarylogic_epi32::<{ $imm as i32 }>($a, $b, $c)
    };
}

impl Lanes<LANES> for Z {
    type Token = Avx512;

    #[inline(always)]
    fn splat(_: Avx512, x: u32) -> Z {
        // SAFETY: the `Avx512` token proves AVX-512F support (see `Z`).
        Z(unsafe { _mm512_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn from_words(_: Avx512, words: [u32; LANES]) -> Z {
        // SAFETY: `[u32; 16]` and `__m512i` have the same size and every bit pattern is
        // valid for both; the token proves AVX-512F support (see `Z`).
        Z(unsafe { core::mem::transmute::<[u32; LANES], __m512i>(words) })
    }
    #[inline(always)]
    fn to_words(self) -> [u32; LANES] {
        // SAFETY: same size, every bit pattern valid for both types.
        unsafe { core::mem::transmute::<__m512i, [u32; LANES]>(self.0) }
    }
    #[inline(always)]
    fn add(self, o: Z) -> Z {
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe { _mm512_add_epi32(self.0, o.0) })
    }
    #[inline(always)]
    fn xor(self, o: Z) -> Z {
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe { _mm512_xor_si512(self.0, o.0) })
    }
    #[inline(always)]
    fn big_sigma0(self) -> Z {
        let x = self.0;
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe {
            tern!(
                ternlog::XOR3,
                _mm512_ror_epi32::<2>(x),
                _mm512_ror_epi32::<13>(x),
                _mm512_ror_epi32::<22>(x)
            )
        })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Z {
        let x = self.0;
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe {
            tern!(
                ternlog::XOR3,
                _mm512_ror_epi32::<6>(x),
                _mm512_ror_epi32::<11>(x),
                _mm512_ror_epi32::<25>(x)
            )
        })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Z {
        let x = self.0;
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe {
            tern!(
                ternlog::XOR3,
                _mm512_ror_epi32::<7>(x),
                _mm512_ror_epi32::<18>(x),
                _mm512_srli_epi32::<3>(x)
            )
        })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Z {
        let x = self.0;
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe {
            tern!(
                ternlog::XOR3,
                _mm512_ror_epi32::<17>(x),
                _mm512_ror_epi32::<19>(x),
                _mm512_srli_epi32::<10>(x)
            )
        })
    }
    #[inline(always)]
    fn ch(e: Z, f: Z, g: Z) -> Z {
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe { tern!(ternlog::CH, e.0, f.0, g.0) })
    }
    #[inline(always)]
    fn maj(a: Z, b: Z, c: Z) -> Z {
        // SAFETY: a `Z` exists only on a CPU with AVX-512F (see `Z`).
        Z(unsafe { tern!(ternlog::MAJ, a.0, b.0, c.0) })
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
        lanes::tests::ops_match_soft::<Z, LANES>(t);
    }

    #[test]
    fn sixteen_lanes_match_pbkdf2() {
        let Some(t) = Avx512::detect() else {
            eprintln!("no AVX-512F on this CPU: skipped");
            return;
        };
        for iterations in [1, 2, 3, 100] {
            let (keys, salts) = lanes::tests::inputs::<LANES>(u64::from(iterations));
            let mut out = [[0u8; OUT_LEN]; LANES];
            t.derive_many(&keys, &salts, iterations, &mut out);
            assert_eq!(out, lanes::tests::reference(&keys, &salts, iterations));
        }
    }
}
