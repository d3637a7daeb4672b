//! x86_64 AVX2 backend: eight PBKDF2 lanes in a transposed layout (one 256-bit vector holds
//! word `j` of all eight lanes), for CPUs without SHA-NI (`BENCHMARKS.md`: ≈ 6.7× the
//! `pbkdf2` crate there; on SHA-NI machines it loses to SHA-NI ×2 and is not selected).
//!
//! The algorithm is the shared transposed kernel ([`super::lanes`]); this file supplies the
//! 256-bit vector type and its operations. AVX2 has no vector rotate, so each rotation is two
//! shifts and an or. Only 8-lane groups run here; the caller sends the remaining `len % 8`
//! inputs to the portable kernel rather than padding dummy lanes. These functions are
//! compiled with `avx2` and never call SHA-NI code (`docs/kdf.md`, "SSE and AVX").

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_or_si256,
    _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_xor_si256,
};

use zeroize::Zeroize;

use super::lanes::{self, Lanes};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

// `avx2` implies `avx` to the compiler, so both are checked (a VM may show one without the
// other).
cpufeatures::new!(avx2_cpuid, "avx2", "avx");

/// Lanes per kernel call.
const LANES: usize = 8;

/// Proof that the running CPU supports AVX2: only [`Avx2::detect`] constructs it, after
/// `cpufeatures` confirmed it (including OS support for the YMM state).
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// `Some` if the CPU (and OS) support AVX2 (runtime CPUID/XGETBV via `cpufeatures`).
    pub(super) fn detect() -> Option<Avx2> {
        avx2_cpuid::get().then_some(Avx2(()))
    }

    /// Derives every full group of eight; returns how many items it did (a multiple of 8).
    pub(super) fn derive_many(
        self,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) -> usize {
        debug_assert!(iterations >= 1);
        super::for_each_group::<LANES>(keys, salts, out, |k, s, o| {
            // SAFETY: `self` is an `Avx2`, which only `Avx2::detect` creates after
            // `cpufeatures` confirmed avx2 on this CPU — the feature `derive8` is compiled
            // with.
            unsafe { derive8(self, k, s, iterations, o) }
        })
    }
}

/// `PBKDF2-HMAC-SHA256` of eight independent inputs in lock-step: the shared kernel,
/// compiled here with AVX2 so that [`Y`]'s operations inline as single instructions.
#[inline(never)]
#[target_feature(enable = "avx2")]
fn derive8(
    t: Avx2,
    keys: &[[u8; KEY_LEN]; LANES],
    salts: &[[u8; SALT_LEN]; LANES],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; LANES],
) {
    lanes::derive::<Y, LANES>(t, keys, salts, iterations, out);
}

/// Eight 32-bit lanes in a YMM register. Every constructor takes an [`Avx2`] token, so a
/// `Y` exists only on a CPU with AVX2: that is the safety argument of every `unsafe` below.
#[derive(Clone, Copy)]
struct Y(__m256i);

impl Zeroize for Y {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// Rotate right by a literal (two shifts and an or).
macro_rules! rotr {
    ($x:expr, $n:literal) => {
        _mm256_or_si256(
            _mm256_srli_epi32::<$n>($x),
            _mm256_slli_epi32::<{ 32 - $n }>($x),
        )
    };
}

/// `rotr(x, a) ^ rotr(x, b) ^ rotr(x, c)`, or `… ^ (x >> c)` with `shr`.
macro_rules! sigma {
    ($x:expr, $a:literal, $b:literal, rotr $c:literal) => {
        _mm256_xor_si256(
            _mm256_xor_si256(rotr!($x, $a), rotr!($x, $b)),
            rotr!($x, $c),
        )
    };
    ($x:expr, $a:literal, $b:literal, shr $c:literal) => {
        _mm256_xor_si256(
            _mm256_xor_si256(rotr!($x, $a), rotr!($x, $b)),
            _mm256_srli_epi32::<$c>($x),
        )
    };
}

impl Lanes<LANES> for Y {
    type Token = Avx2;

    #[inline(always)]
    fn splat(_: Avx2, x: u32) -> Y {
        // SAFETY: the `Avx2` token proves AVX2 support (see `Y`).
        Y(unsafe { _mm256_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn from_words(_: Avx2, words: [u32; LANES]) -> Y {
        // SAFETY: `[u32; 8]` and `__m256i` have the same size and every bit pattern is valid
        // for both; the token proves AVX2 support (see `Y`).
        Y(unsafe { core::mem::transmute::<[u32; LANES], __m256i>(words) })
    }
    #[inline(always)]
    fn to_words(self) -> [u32; LANES] {
        // SAFETY: same size, every bit pattern valid for both types.
        unsafe { core::mem::transmute::<__m256i, [u32; LANES]>(self.0) }
    }
    #[inline(always)]
    fn add(self, o: Y) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { _mm256_add_epi32(self.0, o.0) })
    }
    #[inline(always)]
    fn xor(self, o: Y) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { _mm256_xor_si256(self.0, o.0) })
    }
    #[inline(always)]
    fn big_sigma0(self) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { sigma!(self.0, 2, 13, rotr 22) })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { sigma!(self.0, 6, 11, rotr 25) })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { sigma!(self.0, 7, 18, shr 3) })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Y {
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { sigma!(self.0, 17, 19, shr 10) })
    }
    #[inline(always)]
    fn ch(e: Y, f: Y, g: Y) -> Y {
        // (e & f) ^ (!e & g).
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe { _mm256_xor_si256(_mm256_and_si256(e.0, f.0), _mm256_andnot_si256(e.0, g.0)) })
    }
    #[inline(always)]
    fn maj(a: Y, b: Y, c: Y) -> Y {
        // (a & b) ^ (c & (a ^ b)): one and fewer than the textbook form.
        // SAFETY: a `Y` exists only on a CPU with AVX2 (see `Y`).
        Y(unsafe {
            _mm256_xor_si256(
                _mm256_and_si256(a.0, b.0),
                _mm256_and_si256(c.0, _mm256_xor_si256(a.0, b.0)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_match_the_reference_lanes() {
        let Some(t) = Avx2::detect() else {
            eprintln!("no AVX2 on this CPU: skipped");
            return;
        };
        lanes::tests::ops_match_soft::<Y, LANES>(t);
    }
}
