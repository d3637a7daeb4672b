//! x86_64 SHA-NI backend: 1, 2 or 4 independent PBKDF2 lanes interleaved round by round
//! (`perf.md` §1.3, §4 techniques 2–3).
//!
//! State stays in the SHA-NI register layout (`ABEF`/`CDGH`) for the whole iteration loop;
//! the previous digest becomes message words `W0..W7` with four shuffles, `W8..W15` are the
//! constant padding words ([`DIGEST_PAD`]), and the accumulator is XOR-ed in the same
//! layout. Only at the end is it converted back to `A..H` and written big-endian.
//!
//! Every function here touches only `xmm` registers in legacy-SSE encoding and is compiled
//! with exactly `sha,sse2,ssse3,sse4.1` — never `avx`/`avx2` — so no SSE↔AVX transition can
//! occur inside a kernel (`perf.md` §5). The kernels are `#[inline(never)]` so they are never
//! merged into callers that might use 256-bit VEX code.

#![allow(clippy::needless_range_loop)] // lanes are indexed in lock-step on purpose

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_set_epi32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

cpufeatures::new!(shani_cpuid, "sha", "sse2", "ssse3", "sse4.1");

/// Proof that the running CPU supports SHA-NI, SSE2, SSSE3 and SSE4.1: only [`ShaNi::detect`]
/// constructs it, after `cpufeatures` has confirmed all four.
#[derive(Clone, Copy, Debug)]
pub(super) struct ShaNi(());

impl ShaNi {
    /// `Some` if the CPU has SHA-NI and SSE4.1 (runtime CPUID via `cpufeatures`, cached).
    pub(super) fn detect() -> Option<ShaNi> {
        shani_cpuid::get().then_some(ShaNi(()))
    }

    /// Derives every item, `max_lanes` (4, 2 or 1) at a time; the remainder goes to the
    /// narrower kernels (4 → 2 → 1), never to padded dummy lanes.
    pub(super) fn derive_many(
        self,
        max_lanes: usize,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) {
        debug_assert!(iterations >= 1);
        debug_assert!(keys.len() == salts.len() && keys.len() == out.len());
        let mut done = 0;
        if max_lanes >= 4 {
            done += self.run::<4>(keys, salts, iterations, out);
        }
        if max_lanes >= 2 {
            done += self.run::<2>(&keys[done..], &salts[done..], iterations, &mut out[done..]);
        }
        self.run::<1>(&keys[done..], &salts[done..], iterations, &mut out[done..]);
    }

    /// Runs the `N`-lane kernel over all full groups of `N`; returns how many items it did.
    fn run<const N: usize>(
        self,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) -> usize {
        super::for_each_group::<N>(keys, salts, out, |k, s, o| {
            // SAFETY: `self` is a `ShaNi`, which only `ShaNi::detect` creates after
            // `cpufeatures` confirmed sha, sse2, ssse3 and sse4.1 on this CPU — exactly the
            // features `derive_lanes` is compiled with.
            unsafe { derive_lanes::<N>(k, s, iterations, o) }
        })
    }
}

/// Hash state of `N` lanes in SHA-NI layout: `abef = [F, E, B, A]`, `cdgh = [H, G, D, C]`
/// (element 0 first).
#[derive(Clone, Copy)]
struct State<const N: usize> {
    abef: [__m128i; N],
    cdgh: [__m128i; N],
}

/// `[A..H]` words → SHA-NI layout.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn from_words(s: &[u32; 8]) -> (__m128i, __m128i) {
    let w = s.map(|x| x as i32);
    (
        _mm_set_epi32(w[0], w[1], w[4], w[5]),
        _mm_set_epi32(w[2], w[3], w[6], w[7]),
    )
}

/// A 16-word block → four message vectors `[W0..W3]`, … (element 0 = lowest word).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn load_block(b: &[u32; 16]) -> [__m128i; 4] {
    let w = b.map(|x| x as i32);
    [
        _mm_set_epi32(w[3], w[2], w[1], w[0]),
        _mm_set_epi32(w[7], w[6], w[5], w[4]),
        _mm_set_epi32(w[11], w[10], w[9], w[8]),
        _mm_set_epi32(w[15], w[14], w[13], w[12]),
    ]
}

/// A digest in SHA-NI layout → message vectors `[A,B,C,D]`, `[E,F,G,H]` (four shuffles).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest_words(abef: __m128i, cdgh: __m128i) -> (__m128i, __m128i) {
    let t1 = _mm_shuffle_epi32::<0x1B>(abef); // [A, B, E, F]
    let t2 = _mm_shuffle_epi32::<0x1B>(cdgh); // [C, D, G, H]
    (_mm_unpacklo_epi64(t1, t2), _mm_unpackhi_epi64(t1, t2))
}

/// Round constants `K[4r..4r+4]` as a vector.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn kvec(r: usize) -> __m128i {
    _mm_set_epi32(
        K[4 * r + 3] as i32,
        K[4 * r + 2] as i32,
        K[4 * r + 1] as i32,
        K[4 * r] as i32,
    )
}

/// Four rounds with `wk = W + K` for them.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn rounds4(abef: &mut __m128i, cdgh: &mut __m128i, wk: __m128i) {
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32::<0x0E>(wk));
}

/// Rounds `4r..4r+4` of every lane, without message expansion (`r` < 4).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn plain<const N: usize>(st: &mut State<N>, w: &[[__m128i; 4]; N], r: usize) {
    let k = kvec(r);
    for l in 0..N {
        rounds4(&mut st.abef[l], &mut st.cdgh[l], _mm_add_epi32(w[l][r], k));
    }
}

/// Message vector `W[4(r-4+k)..]` (`k` < 3) for step `r` of lane `l`: one of the three
/// older vectors `expand` needs besides the newest one.
///
/// With 4 lanes the state (8 xmm) plus 4 message vectors per lane would need 24+ registers;
/// LLVM then spilled `abef`/`cdgh` and put a store→load round trip on the `sha256rnds2`
/// latency chain. So for `N ≥ 4` the older message vectors live in memory on purpose: a
/// volatile read keeps LLVM from promoting them to registers, and it still folds the load
/// into `sha256msg1`/`palignr` as a memory operand. The constant padding vectors `W8..W15`
/// (`r - 4 + k` ∈ {2, 3}) are read normally so LLVM keeps folding them into constants.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn older<const N: usize>(w: &[[__m128i; 4]; N], l: usize, r: usize, k: usize) -> __m128i {
    let src = &w[l][(r + k) % 4];
    if N >= 4 && !matches!(r - 4 + k, 2 | 3) {
        // SAFETY: `src` is a reference to an initialised, aligned `__m128i`.
        unsafe { core::ptr::read_volatile(src) }
    } else {
        *src
    }
}

/// Rounds `4r..4r+4` of every lane with the message expansion producing their words into
/// `w[l][r % 4]` (`r` ≥ 4).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn expand<const N: usize>(st: &mut State<N>, w: &mut [[__m128i; 4]; N], r: usize) {
    let k = kvec(r);
    let i = r % 4;
    for l in 0..N {
        let w0 = older(w, l, r, 0);
        let w1 = older(w, l, r, 1);
        let w2 = older(w, l, r, 2);
        let w3 = w[l][(i + 3) % 4];
        let t1 = _mm_sha256msg1_epu32(w0, w1);
        let t2 = _mm_alignr_epi8::<4>(w3, w2);
        let new = _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), w3);
        if N >= 4 {
            // Into memory for the later `older` reads (see there).
            // SAFETY: `w[l][i]` is a live, aligned `__m128i` slot we hold `&mut` to.
            unsafe { core::ptr::write_volatile(&mut w[l][i], new) };
        } else {
            w[l][i] = new;
        }
        rounds4(&mut st.abef[l], &mut st.cdgh[l], _mm_add_epi32(new, k));
    }
}

/// One compression per lane: `init + rounds(init, w)`, the 16 four-round steps written out
/// (fully unrolled, `perf.md` §4 technique 3), lanes interleaved inside each step.
///
/// A macro rather than a function: `#[inline(always)]` cannot be combined with
/// `#[target_feature]`, and LLVM left a `compress` *function* out of line in the hot loop
/// (state passed through memory). Expands inside `#[target_feature]` functions only.
macro_rules! compress {
    ($init:expr, $w:expr) => {{
        let init: &State<N> = $init;
        let w: &mut [[__m128i; 4]; N] = $w;
        let mut st = *init;
        plain(&mut st, w, 0);
        plain(&mut st, w, 1);
        plain(&mut st, w, 2);
        plain(&mut st, w, 3);
        expand(&mut st, w, 4);
        expand(&mut st, w, 5);
        expand(&mut st, w, 6);
        expand(&mut st, w, 7);
        expand(&mut st, w, 8);
        expand(&mut st, w, 9);
        expand(&mut st, w, 10);
        expand(&mut st, w, 11);
        expand(&mut st, w, 12);
        expand(&mut st, w, 13);
        expand(&mut st, w, 14);
        expand(&mut st, w, 15);
        for l in 0..N {
            st.abef[l] = _mm_add_epi32(st.abef[l], init.abef[l]);
            st.cdgh[l] = _mm_add_epi32(st.cdgh[l], init.cdgh[l]);
        }
        st
    }};
}

/// Setup compression (not on the hot path; kept out of line to keep the kernel small).
#[inline(never)]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress_setup<const N: usize>(init: &State<N>, w: &mut [[__m128i; 4]; N]) -> State<N> {
    compress!(init, w)
}

/// The message of the next block: `digest || DIGEST_PAD`.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest_message<const N: usize>(d: &State<N>, pad: &[__m128i; 2]) -> [[__m128i; 4]; N] {
    let mut w = [[pad[0]; 4]; N];
    for l in 0..N {
        let (lo, hi) = digest_words(d.abef[l], d.cdgh[l]);
        w[l] = [lo, hi, pad[0], pad[1]];
    }
    w
}

/// `PBKDF2-HMAC-SHA256` of `N` independent inputs in lock-step.
#[inline(never)]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn derive_lanes<const N: usize>(
    keys: &[[u8; KEY_LEN]; N],
    salts: &[[u8; SALT_LEN]; N],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; N],
) {
    let (iv_abef, iv_cdgh) = from_words(&IV);
    let iv = State {
        abef: [iv_abef; N],
        cdgh: [iv_cdgh; N],
    };
    let pad = load_block(&[
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        DIGEST_PAD[0],
        0,
        0,
        0,
        0,
        0,
        0,
        DIGEST_PAD[7],
    ]);
    let pad = [pad[2], pad[3]];

    // ipad / opad states, once per key.
    let mut w = [[pad[0]; 4]; N];
    for l in 0..N {
        let mut b = key_block(&keys[l], IPAD);
        w[l] = load_block(&b);
        b.zeroize();
    }
    let istate = compress_setup(&iv, &mut w);
    for l in 0..N {
        let mut b = key_block(&keys[l], OPAD);
        w[l] = load_block(&b);
        b.zeroize();
    }
    let ostate = compress_setup(&iv, &mut w);

    // U1.
    for l in 0..N {
        w[l] = load_block(&salt_block(&salts[l]));
    }
    let inner = compress_setup(&istate, &mut w);
    let mut w = digest_message(&inner, &pad);
    let mut u = compress_setup(&ostate, &mut w);
    let mut acc = u;

    // If the whole crate is built with AVX enabled (e.g. `-C target-cpu=x86-64-v3`), the
    // setup above may have used 256-bit moves; clear the upper halves so the legacy-SSE
    // SHA-NI loop below never pays the SSE/AVX transition (`perf.md` §5).
    #[cfg(target_feature = "avx")]
    // SAFETY: this code exists only when the whole build enables AVX
    // (`cfg(target_feature = "avx")`), i.e. the binary already requires AVX everywhere.
    unsafe {
        core::arch::x86_64::_mm256_zeroupper()
    };

    // U2..U_iterations: the hot loop, two compressions per lane per iteration.
    for _ in 1..iterations {
        let mut w = digest_message(&u, &pad);
        let inner = compress!(&istate, &mut w);
        let mut w = digest_message(&inner, &pad);
        u = compress!(&ostate, &mut w);
        for l in 0..N {
            acc.abef[l] = _mm_xor_si128(acc.abef[l], u.abef[l]);
            acc.cdgh[l] = _mm_xor_si128(acc.cdgh[l], u.cdgh[l]);
        }
    }

    for l in 0..N {
        let (lo, hi) = digest_words(acc.abef[l], acc.cdgh[l]);
        let mut words = [
            _mm_extract_epi32::<0>(lo) as u32,
            _mm_extract_epi32::<1>(lo) as u32,
            _mm_extract_epi32::<2>(lo) as u32,
            _mm_extract_epi32::<3>(lo) as u32,
            _mm_extract_epi32::<0>(hi) as u32,
            _mm_extract_epi32::<1>(hi) as u32,
            _mm_extract_epi32::<2>(hi) as u32,
            _mm_extract_epi32::<3>(hi) as u32,
        ];
        store_be(&words, &mut out[l]);
        words.zeroize();
    }
    // The register copies die here; their stack spill slots are wiped by the caller
    // (`zeroize::zeroize_stack` in `core::run`).
    w.zeroize();
}
