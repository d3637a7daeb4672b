//! aarch64 backend on the ARMv8 SHA2 extensions (`docs/kdf.md` technique 5): 1, 2 or 4
//! independent PBKDF2 lanes interleaved instruction by instruction.
//!
//! The ARM state is kept as native words in `ABCD`/`EFGH` order, so the previous digest *is*
//! message words `W0..W7` — no shuffle between the inner and the outer compression; words
//! `W8..W15` are the constant padding ([`DIGEST_PAD`]). Compiles for
//! `aarch64-unknown-linux-gnu`; it cannot run on the x86_64 development machine, so its tests
//! run only where an aarch64 CPU with SHA2 is available.

#![allow(clippy::needless_range_loop)] // lanes are indexed in lock-step on purpose

use core::arch::aarch64::{
    uint32x4_t, vaddq_u32, vcombine_u32, vcreate_u32, veorq_u32, vgetq_lane_u32, vsha256h2q_u32,
    vsha256hq_u32, vsha256su0q_u32, vsha256su1q_u32,
};

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

cpufeatures::new!(sha2_cpuid, "sha2");

/// Proof that the running CPU has the ARMv8 SHA2 extensions (and NEON, which they imply):
/// only [`Sha2::detect`] constructs it, after `cpufeatures` confirmed them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sha2(());

impl Sha2 {
    /// `Some` if the CPU has the SHA2 extensions (runtime detection via `cpufeatures`).
    pub(super) fn detect() -> Option<Sha2> {
        sha2_cpuid::get().then_some(Sha2(()))
    }

    /// Derives every item, `max_lanes` (4, 2 or 1) at a time; the remainder goes to the
    /// narrower kernels, never to padded dummy lanes.
    pub(super) fn derive_many(
        self,
        max_lanes: usize,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) {
        debug_assert!(iterations >= 1);
        let mut done = 0;
        if max_lanes >= 4 {
            done += self.run::<4>(keys, salts, iterations, out);
        }
        if max_lanes >= 2 {
            done += self.run::<2>(&keys[done..], &salts[done..], iterations, &mut out[done..]);
        }
        self.run::<1>(&keys[done..], &salts[done..], iterations, &mut out[done..]);
    }

    fn run<const N: usize>(
        self,
        keys: &[[u8; KEY_LEN]],
        salts: &[[u8; SALT_LEN]],
        iterations: u32,
        out: &mut [[u8; OUT_LEN]],
    ) -> usize {
        super::for_each_group::<N>(keys, salts, out, |k, s, o| {
            // SAFETY: `self` is a `Sha2`, which only `Sha2::detect` creates after
            // `cpufeatures` confirmed the sha2 extension (which implies neon) on this CPU —
            // the features `derive_lanes` is compiled with.
            unsafe { derive_lanes::<N>(k, s, iterations, o) }
        })
    }
}

type V = uint32x4_t;

/// Four words as a vector, element 0 = `w[0]`.
#[inline]
#[target_feature(enable = "neon,sha2")]
fn vec4(w: &[u32]) -> V {
    let lo = u64::from(w[0]) | (u64::from(w[1]) << 32);
    let hi = u64::from(w[2]) | (u64::from(w[3]) << 32);
    vcombine_u32(vcreate_u32(lo), vcreate_u32(hi))
}

#[inline]
#[target_feature(enable = "neon,sha2")]
fn load_block(b: &[u32; 16]) -> [V; 4] {
    [
        vec4(&b[0..4]),
        vec4(&b[4..8]),
        vec4(&b[8..12]),
        vec4(&b[12..16]),
    ]
}

#[inline]
#[target_feature(enable = "neon,sha2")]
fn words(v: V) -> [u32; 4] {
    [
        vgetq_lane_u32::<0>(v),
        vgetq_lane_u32::<1>(v),
        vgetq_lane_u32::<2>(v),
        vgetq_lane_u32::<3>(v),
    ]
}

#[derive(Clone, Copy)]
struct State<const N: usize> {
    abcd: [V; N],
    efgh: [V; N],
}

#[inline]
#[target_feature(enable = "neon,sha2")]
fn rounds4(abcd: &mut V, efgh: &mut V, wk: V) {
    let prev = *abcd;
    *abcd = vsha256hq_u32(prev, *efgh, wk);
    *efgh = vsha256h2q_u32(*efgh, prev, wk);
}

/// Rounds `4r..4r+4` of every lane; for `r ≥ 4` the message words are expanded first.
#[inline]
#[target_feature(enable = "neon,sha2")]
fn step<const N: usize>(st: &mut State<N>, w: &mut [[V; 4]; N], r: usize) {
    let k = vec4(&K[4 * r..4 * r + 4]);
    let i = r % 4;
    for l in 0..N {
        if r >= 4 {
            w[l][i] = vsha256su1q_u32(
                vsha256su0q_u32(w[l][i], w[l][(i + 1) % 4]),
                w[l][(i + 2) % 4],
                w[l][(i + 3) % 4],
            );
        }
        rounds4(&mut st.abcd[l], &mut st.efgh[l], vaddq_u32(w[l][i], k));
    }
}

/// One compression per lane, the 16 four-round steps written out, lanes interleaved.
/// A macro so it is always inlined into the loop (see the x86 SHA-NI backend).
macro_rules! compress {
    ($init:expr, $w:expr) => {{
        let init: &State<N> = $init;
        let w: &mut [[V; 4]; N] = $w;
        let mut st = *init;
        step(&mut st, w, 0);
        step(&mut st, w, 1);
        step(&mut st, w, 2);
        step(&mut st, w, 3);
        step(&mut st, w, 4);
        step(&mut st, w, 5);
        step(&mut st, w, 6);
        step(&mut st, w, 7);
        step(&mut st, w, 8);
        step(&mut st, w, 9);
        step(&mut st, w, 10);
        step(&mut st, w, 11);
        step(&mut st, w, 12);
        step(&mut st, w, 13);
        step(&mut st, w, 14);
        step(&mut st, w, 15);
        for l in 0..N {
            st.abcd[l] = vaddq_u32(st.abcd[l], init.abcd[l]);
            st.efgh[l] = vaddq_u32(st.efgh[l], init.efgh[l]);
        }
        st
    }};
}

#[inline(never)]
#[target_feature(enable = "neon,sha2")]
fn compress_setup<const N: usize>(init: &State<N>, w: &mut [[V; 4]; N]) -> State<N> {
    compress!(init, w)
}

#[inline]
#[target_feature(enable = "neon,sha2")]
fn digest_message<const N: usize>(d: &State<N>, pad: &[V; 2]) -> [[V; 4]; N] {
    let mut w = [[pad[0]; 4]; N];
    for l in 0..N {
        w[l] = [d.abcd[l], d.efgh[l], pad[0], pad[1]];
    }
    w
}

/// `PBKDF2-HMAC-SHA256` of `N` independent inputs in lock-step.
#[inline(never)]
#[target_feature(enable = "neon,sha2")]
fn derive_lanes<const N: usize>(
    keys: &[[u8; KEY_LEN]; N],
    salts: &[[u8; SALT_LEN]; N],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; N],
) {
    let iv = State {
        abcd: [vec4(&IV[0..4]); N],
        efgh: [vec4(&IV[4..8]); N],
    };
    let pad = [vec4(&DIGEST_PAD[0..4]), vec4(&DIGEST_PAD[4..8])];

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
    for l in 0..N {
        w[l] = load_block(&salt_block(&salts[l]));
    }
    let inner = compress_setup(&istate, &mut w);
    let mut w = digest_message(&inner, &pad);
    let mut u = compress_setup(&ostate, &mut w);
    let mut acc = u;

    for _ in 1..iterations {
        let mut w = digest_message(&u, &pad);
        let inner = compress!(&istate, &mut w);
        let mut w = digest_message(&inner, &pad);
        u = compress!(&ostate, &mut w);
        for l in 0..N {
            acc.abcd[l] = veorq_u32(acc.abcd[l], u.abcd[l]);
            acc.efgh[l] = veorq_u32(acc.efgh[l], u.efgh[l]);
        }
    }

    for l in 0..N {
        let (lo, hi) = (words(acc.abcd[l]), words(acc.efgh[l]));
        let mut all = [lo[0], lo[1], lo[2], lo[3], hi[0], hi[1], hi[2], hi[3]];
        store_be(&all, &mut out[l]);
        all.zeroize();
    }
    // Register copies die here; the caller wipes the stack (`zeroize::zeroize_stack`).
}
