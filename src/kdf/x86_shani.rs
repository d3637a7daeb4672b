//! x86_64 SHA-NI backend: 1, 2 or 4 independent PBKDF2 lanes interleaved round by round
//! (`docs/kdf.md`, techniques 2–3).
//!
//! State stays in the SHA-NI register layout (`ABEF`/`CDGH`) for the whole iteration loop;
//! the previous digest becomes message words `W0..W7` with four shuffles, `W8..W15` are the
//! constant padding words ([`DIGEST_PAD`]), and the accumulator is XOR-ed in the same
//! layout. Only at the end is it converted back to `A..H` and written big-endian.
//!
//! Every intrinsic kernel here touches only `xmm` registers in legacy-SSE encoding and is
//! compiled with exactly `sha,sse2,ssse3,sse4.1` — never `avx`/`avx2` — so no SSE↔AVX
//! transition can occur inside a kernel (`docs/kdf.md`, "SSE and AVX"). The kernels are
//! `#[inline(never)]` so
//! they are never merged into callers that might use 256-bit VEX code. The one exception is
//! `derive_x2_asm` (backend `shani-x2-asm`): compiled with `avx` as well, it runs its loop in
//! [`super::x86_shani_asm`], whose non-SHA instructions are VEX.128 — never 256-bit — entered
//! after `vzeroupper`, which is the mixing `docs/kdf.md` ("SSE and AVX") allows.

#![allow(clippy::needless_range_loop)] // lanes are indexed in lock-step on purpose

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_set_epi32,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi32,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::x86_shani_asm::{self, AsmConsts, LaneMem, LoopMem};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

cpufeatures::new!(shani_cpuid, "sha", "sse2", "ssse3", "sse4.1");
cpufeatures::new!(
    shani_avx_cpuid,
    "sha",
    "sse2",
    "ssse3",
    "sse4.1",
    "sse4.2",
    "avx"
);

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

/// Proof that the running CPU supports SHA-NI (with SSE2–SSE4.1) *and* AVX: only
/// [`ShaNiAvx::detect`] constructs it. The `shani-x2-asm` loop uses VEX.128 encodings for
/// everything that is not a SHA instruction.
#[derive(Clone, Copy, Debug)]
pub(super) struct ShaNiAvx(());

impl ShaNiAvx {
    /// `Some` if the CPU has SHA-NI, SSE4.1 and AVX (runtime CPUID via `cpufeatures`, cached).
    pub(super) fn detect() -> Option<ShaNiAvx> {
        shani_avx_cpuid::get().then_some(ShaNiAvx(()))
    }

    /// Derives every item: pairs in the assembly kernel, an odd last item in SHA-NI ×1.
    pub(super) fn derive_many(
        self,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) {
        debug_assert!(iterations >= 1);
        debug_assert!(keys.len() == salts.len() && keys.len() == out.len());
        let done = super::for_each_group::<2>(keys, salts, out, |k, s, o| {
            // SAFETY: `self` is a `ShaNiAvx`, which only `ShaNiAvx::detect` creates after
            // `cpufeatures` confirmed sha, sse2, ssse3, sse4.1 and avx on this CPU — the
            // features `derive_x2_asm` is compiled with and its assembly uses.
            unsafe { derive_x2_asm(k, s, iterations, o) }
        });
        // A `ShaNiAvx` proves every feature a `ShaNi` stands for (and AVX besides).
        ShaNi(()).run::<1>(&keys[done..], &salts[done..], iterations, &mut out[done..]);
    }
}

/// The one [`AsmConsts`] table.
static ASM_CONSTS: AsmConsts = {
    let mut k = [[0u32; 4]; 16];
    let mut r = 0;
    while r < 16 {
        k[r] = [K[4 * r], K[4 * r + 1], K[4 * r + 2], K[4 * r + 3]];
        r += 1;
    }
    let p = DIGEST_PAD;
    /// `W[t] + K[t]` for a padding word (`t` in 8..16).
    const fn wk(t: usize) -> u32 {
        DIGEST_PAD[t - 8].wrapping_add(K[t])
    }
    AsmConsts {
        k,
        wk2: [wk(8), wk(9), wk(10), wk(11)],
        wk2_hi: [wk(10), wk(11), 0, 0],
        wk3: [wk(12), wk(13), wk(14), wk(15)],
        wk3_hi: [wk(14), wk(15), 0, 0],
        pad0: [p[0], p[1], p[2], p[3]],
        pad1: [p[4], p[5], p[6], p[7]],
    }
};

/// Two lanes: setup with the intrinsics above, the iterations in `x86_shani_asm`.
#[inline(never)]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1,avx")]
fn derive_x2_asm(
    keys: &[[u8; KEY_LEN]; 2],
    salts: &[[u8; SALT_LEN]; 2],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; 2],
) {
    let Setup { istate, ostate, u } = setup(keys, salts);
    let lane = |l: usize| LaneMem {
        istate: [istate.abef[l], istate.cdgh[l]],
        ostate: [ostate.abef[l], ostate.cdgh[l]],
        acc: [u.abef[l], u.cdgh[l]],
    };
    let mut mem: LoopMem = [lane(0), lane(1)];
    let mut cur = [[u.abef[0], u.cdgh[0]], [u.abef[1], u.cdgh[1]]];
    if iterations > 1 {
        // Clean upper halves for the legacy-SSE SHA instructions in the loop (`docs/kdf.md`, "SSE
        // and AVX").
        core::arch::x86_64::_mm256_zeroupper();
        // SAFETY: this function is only reachable through a `ShaNiAvx` token (SHA-NI and AVX
        // confirmed at run time); the upper halves were just cleared; `iterations - 1 >= 1`.
        unsafe { x86_shani_asm::run(&mut mem, &ASM_CONSTS, &mut cur, iterations - 1) };
    }
    let acc = State {
        abef: [mem[0].acc[0], mem[1].acc[0]],
        cdgh: [mem[0].acc[1], mem[1].acc[1]],
    };
    finish(&acc, out);
    // States in memory here; register copies are covered by the caller's stack wipe.
    mem.zeroize();
    cur.zeroize();
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
/// (fully unrolled, `docs/kdf.md` technique 3), lanes interleaved inside each step.
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

/// The per-key and per-salt part: ipad/opad states, `U_1` (also the first accumulator).
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn setup<const N: usize>(keys: &[[u8; KEY_LEN]; N], salts: &[[u8; SALT_LEN]; N]) -> Setup<N> {
    let (iv_abef, iv_cdgh) = from_words(&IV);
    let iv = State {
        abef: [iv_abef; N],
        cdgh: [iv_cdgh; N],
    };
    let pad = digest_pad();

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
    let u = compress_setup(&ostate, &mut w);
    w.zeroize();
    Setup { istate, ostate, u }
}

/// What [`setup`] computes for `N` lanes.
struct Setup<const N: usize> {
    istate: State<N>,
    ostate: State<N>,
    u: State<N>,
}

/// `W8..W15` of every block after the first inner one ([`DIGEST_PAD`]) as two vectors.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest_pad() -> [__m128i; 2] {
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
    [pad[2], pad[3]]
}

/// Writes each lane's accumulator big-endian into `out`.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn finish<const N: usize>(acc: &State<N>, out: &mut [[u8; OUT_LEN]; N]) {
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
    let Setup {
        istate,
        ostate,
        mut u,
    } = setup(keys, salts);
    let pad = digest_pad();
    let mut acc = u;

    // If the whole crate is built with AVX enabled (e.g. `-C target-cpu=x86-64-v3`), the
    // setup above may have used 256-bit moves; clear the upper halves so the legacy-SSE
    // SHA-NI loop below never pays the SSE/AVX transition (`docs/kdf.md`, "SSE and AVX").
    #[cfg(target_feature = "avx")]
    // SAFETY: this code exists only when the whole build enables AVX
    // (`cfg(target_feature = "avx")`), i.e. the binary already requires AVX everywhere.
    unsafe {
        core::arch::x86_64::_mm256_zeroupper()
    };

    // U2..U_iterations: the hot loop, two compressions per lane per iteration.
    let mut w = [[pad[0]; 4]; N];
    for _ in 1..iterations {
        w = digest_message(&u, &pad);
        let inner = compress!(&istate, &mut w);
        w = digest_message(&inner, &pad);
        u = compress!(&ostate, &mut w);
        for l in 0..N {
            acc.abef[l] = _mm_xor_si128(acc.abef[l], u.abef[l]);
            acc.cdgh[l] = _mm_xor_si128(acc.cdgh[l], u.cdgh[l]);
        }
    }

    finish(&acc, out);
    // The register copies die here; their stack spill slots are wiped by the caller
    // (`zeroize::zeroize_stack` in `core::run`).
    w.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec(v: [u32; 4]) -> __m128i {
        let w = v.map(|x| x as i32);
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_set_epi32(w[3], w[2], w[1], w[0]) }
    }

    fn words(v: __m128i) -> [u32; 4] {
        // SAFETY: `__m128i` and `[u32; 4]` have the same size; every bit pattern is valid.
        unsafe { core::mem::transmute(v) }
    }

    /// The two identities `tools/gen_x86_shani_asm.py` folds away, checked with the real
    /// instructions: `palignr(W12..15, W8..11)` is zero and `sha256msg1(W8..11, W12..15)` is
    /// `W8..11`; and the table's `W+K` entries agree with `W` and `K`.
    #[test]
    fn folded_constants_hold() {
        let c = &ASM_CONSTS;
        assert_eq!(c.pad0, [0x8000_0000, 0, 0, 0]);
        assert_eq!(c.pad1, [0, 0, 0, 768]);
        for r in 0..16 {
            assert_eq!(c.k[r], [K[4 * r], K[4 * r + 1], K[4 * r + 2], K[4 * r + 3]]);
        }
        let wk = |t: usize| DIGEST_PAD[t - 8].wrapping_add(K[t]);
        assert_eq!(c.wk2, [wk(8), wk(9), wk(10), wk(11)]);
        assert_eq!(c.wk3, [wk(12), wk(13), wk(14), wk(15)]);
        assert_eq!(c.wk2_hi[..2], c.wk2[2..]);
        assert_eq!(c.wk3_hi[..2], c.wk3[2..]);
        let Some(_) = ShaNi::detect() else {
            eprintln!("no SHA-NI on this CPU: instruction checks skipped");
            return;
        };
        #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
        fn check(p0: __m128i, p1: __m128i) -> ([u32; 4], [u32; 4]) {
            (
                words(_mm_alignr_epi8::<4>(p1, p0)),
                words(_mm_sha256msg1_epu32(p0, p1)),
            )
        }
        // SAFETY: `ShaNi::detect` confirmed sha, sse2, ssse3 and sse4.1.
        let (aligned, msg1) = unsafe { check(vec(c.pad0), vec(c.pad1)) };
        assert_eq!(aligned, [0; 4]);
        assert_eq!(msg1, c.pad0);
    }
}
