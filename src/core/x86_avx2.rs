//! x86_64 AVX2 backend: eight PBKDF2 lanes in a transposed layout (one 256-bit vector holds
//! word `j` of all eight lanes), for CPUs without SHA-NI (`perf.md` §1.4, §2.4: ≈ 6.7× the
//! `pbkdf2` crate there; on SHA-NI machines it loses to SHA-NI ×2 and is not selected).
//!
//! The 64 rounds are written out by macros (constant round index, so words 8..16 of the
//! digest blocks fold into constants), the state stays transposed for all iterations, and
//! lanes are transposed back only at the end. Only 8-lane groups run here; the caller sends
//! the remaining `len % 8` inputs to the portable kernel rather than padding dummy lanes.
//! These functions are compiled with `avx2` and never call SHA-NI code (`perf.md` §5).

use core::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_extract_epi32,
    _mm256_or_si256, _mm256_set_epi32, _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32,
    _mm256_xor_si256,
};

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

cpufeatures::new!(avx2_cpuid, "avx2");

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
        for ((k, s), o) in keys
            .chunks_exact(LANES)
            .zip(salts.chunks_exact(LANES))
            .zip(out.chunks_exact_mut(LANES))
        {
            let (Ok(k), Ok(s), Ok(o)) = (k.try_into(), s.try_into(), o.try_into()) else {
                unreachable!("chunks_exact yields chunks of exactly LANES");
            };
            // SAFETY: `self` is an `Avx2`, which only `Avx2::detect` creates after
            // `cpufeatures` confirmed avx2 on this CPU — the feature `derive8` is compiled
            // with.
            unsafe { derive8(k, s, iterations, o) };
        }
        keys.len() / LANES * LANES
    }
}

type V = __m256i;

macro_rules! rotr {
    ($x:expr, $n:literal) => {
        _mm256_or_si256(
            _mm256_srli_epi32::<$n>($x),
            _mm256_slli_epi32::<{ 32 - $n }>($x),
        )
    };
}

/// Σ0, Σ1, σ0, σ1 (FIPS 180-4 §4.1.2); AVX2 has no vector rotate, so 2 shifts + or each.
#[inline]
#[target_feature(enable = "avx2")]
fn big_sigma0(x: V) -> V {
    _mm256_xor_si256(_mm256_xor_si256(rotr!(x, 2), rotr!(x, 13)), rotr!(x, 22))
}
#[inline]
#[target_feature(enable = "avx2")]
fn big_sigma1(x: V) -> V {
    _mm256_xor_si256(_mm256_xor_si256(rotr!(x, 6), rotr!(x, 11)), rotr!(x, 25))
}
#[inline]
#[target_feature(enable = "avx2")]
fn small_sigma0(x: V) -> V {
    _mm256_xor_si256(
        _mm256_xor_si256(rotr!(x, 7), rotr!(x, 18)),
        _mm256_srli_epi32::<3>(x),
    )
}
#[inline]
#[target_feature(enable = "avx2")]
fn small_sigma1(x: V) -> V {
    _mm256_xor_si256(
        _mm256_xor_si256(rotr!(x, 17), rotr!(x, 19)),
        _mm256_srli_epi32::<10>(x),
    )
}

#[inline]
#[target_feature(enable = "avx2")]
fn add(a: V, b: V) -> V {
    _mm256_add_epi32(a, b)
}

/// One compression of all eight lanes: `init + rounds(init, w)`.
///
/// A macro rather than a function so that it is always inlined into the iteration loop
/// (`#[inline(always)]` cannot be combined with `#[target_feature]`). Expands inside
/// `#[target_feature(enable = "avx2")]` functions only.
macro_rules! compress {
    ($init:expr, $w:expr) => {{
    let init: &[V; 8] = $init;
    let w: &mut [V; 16] = $w;
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *init;
    macro_rules! round {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $t:expr) => {{
            let t: usize = $t;
            if t >= 16 {
                w[t % 16] = add(
                    add(small_sigma1(w[(t - 2) % 16]), w[(t - 7) % 16]),
                    add(small_sigma0(w[(t - 15) % 16]), w[t % 16]),
                );
            }
            // Ch(e,f,g) = (e & f) ^ (!e & g); Maj(a,b,c) = (a & b) ^ (c & (a ^ b)).
            let ch = _mm256_xor_si256(_mm256_and_si256($e, $f), _mm256_andnot_si256($e, $g));
            // Σ1(e) is added last: h + K + W + Ch does not wait for it (shorter chain).
            let hkw = add(add($h, _mm256_set1_epi32(K[t] as i32)), w[t % 16]);
            let t1 = add(add(hkw, ch), big_sigma1($e));
            let maj = _mm256_xor_si256(
                _mm256_and_si256($a, $b),
                _mm256_and_si256($c, _mm256_xor_si256($a, $b)),
            );
            let t2 = add(big_sigma0($a), maj);
            $d = add($d, t1);
            $h = add(t1, t2);
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
    [
        add(a, init[0]),
        add(b, init[1]),
        add(c, init[2]),
        add(d, init[3]),
        add(e, init[4]),
        add(f, init[5]),
        add(g, init[6]),
        add(h, init[7]),
    ]
    }};
}

/// Setup compression, kept out of line (cold relative to the iteration loop).
#[inline(never)]
#[target_feature(enable = "avx2")]
fn compress_setup(init: &[V; 8], w: &mut [V; 16]) -> [V; 8] {
    compress!(init, w)
}

/// Word `t` of eight scalar blocks as one vector (lane `l` = `blocks[l][t]`).
#[inline]
#[target_feature(enable = "avx2")]
fn gather(blocks: &[[u32; 16]; LANES], t: usize) -> V {
    let w = |l: usize| blocks[l][t] as i32;
    _mm256_set_epi32(w(7), w(6), w(5), w(4), w(3), w(2), w(1), w(0))
}

/// The eight lanes of a vector.
#[inline]
#[target_feature(enable = "avx2")]
fn lanes(v: V) -> [u32; LANES] {
    [
        _mm256_extract_epi32::<0>(v) as u32,
        _mm256_extract_epi32::<1>(v) as u32,
        _mm256_extract_epi32::<2>(v) as u32,
        _mm256_extract_epi32::<3>(v) as u32,
        _mm256_extract_epi32::<4>(v) as u32,
        _mm256_extract_epi32::<5>(v) as u32,
        _mm256_extract_epi32::<6>(v) as u32,
        _mm256_extract_epi32::<7>(v) as u32,
    ]
}

/// `digest || DIGEST_PAD` as a transposed message.
#[inline]
#[target_feature(enable = "avx2")]
fn digest_message(d: &[V; 8]) -> [V; 16] {
    let p = |x: u32| _mm256_set1_epi32(x as i32);
    [
        d[0],
        d[1],
        d[2],
        d[3],
        d[4],
        d[5],
        d[6],
        d[7],
        p(DIGEST_PAD[0]),
        p(DIGEST_PAD[1]),
        p(DIGEST_PAD[2]),
        p(DIGEST_PAD[3]),
        p(DIGEST_PAD[4]),
        p(DIGEST_PAD[5]),
        p(DIGEST_PAD[6]),
        p(DIGEST_PAD[7]),
    ]
}

/// `PBKDF2-HMAC-SHA256` of eight independent inputs in lock-step.
#[inline(never)]
#[target_feature(enable = "avx2")]
fn derive8(
    keys: &[[u8; KEY_LEN]; LANES],
    salts: &[[u8; SALT_LEN]; LANES],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; LANES],
) {
    let iv: [V; 8] = IV.map(|x| _mm256_set1_epi32(x as i32));

    let mut blocks = [[0u32; 16]; LANES];
    let mut w = [iv[0]; 16];
    for (b, k) in blocks.iter_mut().zip(keys) {
        *b = key_block(k, IPAD);
    }
    for (t, wt) in w.iter_mut().enumerate() {
        *wt = gather(&blocks, t);
    }
    let istate = compress_setup(&iv, &mut w);
    for (b, k) in blocks.iter_mut().zip(keys) {
        *b = key_block(k, OPAD);
    }
    for (t, wt) in w.iter_mut().enumerate() {
        *wt = gather(&blocks, t);
    }
    let ostate = compress_setup(&iv, &mut w);
    for (b, s) in blocks.iter_mut().zip(salts) {
        *b = salt_block(s);
    }
    for (t, wt) in w.iter_mut().enumerate() {
        *wt = gather(&blocks, t);
    }
    blocks.zeroize();
    let inner = compress_setup(&istate, &mut w);
    w = digest_message(&inner);
    let mut u = compress_setup(&ostate, &mut w);
    let mut acc = u;

    for _ in 1..iterations {
        let mut w = digest_message(&u);
        let inner = compress!(&istate, &mut w);
        let mut w = digest_message(&inner);
        u = compress!(&ostate, &mut w);
        for j in 0..8 {
            acc[j] = _mm256_xor_si256(acc[j], u[j]);
        }
    }

    let mut words = [[0u32; 8]; LANES];
    for (j, v) in acc.iter().enumerate() {
        for (l, x) in lanes(*v).into_iter().enumerate() {
            words[l][j] = x;
        }
    }
    for (o, wds) in out.iter_mut().zip(&words) {
        store_be(wds, o);
    }
    words.zeroize();
    // Register copies die here; the caller wipes the stack (`zeroize::zeroize_stack`).
    w.zeroize();
}
