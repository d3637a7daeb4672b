//! The transposed multi-lane kernel shared by the SIMD-word backends (AVX2 ×8, AVX-512 ×16):
//! one vector holds word `j` of `N` independent SHA-256 states, and every operation of the
//! compression works on all `N` lanes at once (`docs/kdf.md` technique 3).
//!
//! The algorithm is written once, generic over [`Lanes`]; a backend supplies the vector type
//! and its few operations (add, xor, Σ/σ, Ch, Maj, transposition). Why generic: the AVX-512
//! backend cannot run on the machines this project is built and tested on (no AVX-512, and
//! QEMU's TCG does not emulate it), so its lane algorithm must be one that *is* tested. The
//! same generic code runs as AVX2 on the build machines and as [`Soft`] (plain `[u32; N]`,
//! test-only) anywhere, both differentially tested against the `pbkdf2` crate; an AVX-512
//! backend only adds its one-line intrinsic wrappers. No emulator here runs AVX-512, so the tests
//! need exactly this.
//!
//! Values of a backend's vector type can only be created with its [`Lanes::Token`], the
//! proof that runtime detection found the CPU features — that is what makes the intrinsic
//! calls inside its operations sound.
//!
//! Fixed-shape PBKDF2 (`docs/kdf.md` technique 1): ipad/opad states once per key, the salt
//! block once, and words 8..16 of every later block are the constant [`DIGEST_PAD`], which
//! the compiler folds into the unrolled rounds.

use zeroize::Zeroize;

use super::consts::{DIGEST_PAD, IPAD, IV, K, OPAD, key_block, salt_block, store_be};
use super::{KEY_LEN, OUT_LEN, SALT_LEN};

/// `N` lanes of 32-bit words and the SHA-256 operations on them, lane by lane.
///
/// `Zeroize`: message vectors hold key material (`docs/kdf.md`, "Correctness and secrets").
pub(super) trait Lanes<const N: usize>: Copy + Zeroize {
    /// Proof that the CPU supports this vector type's instructions; every constructor takes
    /// one, so a value of `Self` exists only where its operations may run.
    type Token: Copy;

    /// Every lane `x`.
    fn splat(t: Self::Token, x: u32) -> Self;
    /// Lane `l` = `words[l]`.
    fn from_words(t: Self::Token, words: [u32; N]) -> Self;
    /// The lanes as words.
    fn to_words(self) -> [u32; N];
    /// Lane-wise wrapping addition.
    fn add(self, other: Self) -> Self;
    /// Lane-wise exclusive or.
    fn xor(self, other: Self) -> Self;
    /// Σ0 (FIPS 180-4 §4.1.2, (4.4)).
    fn big_sigma0(self) -> Self;
    /// Σ1 (4.5).
    fn big_sigma1(self) -> Self;
    /// σ0 (4.6).
    fn small_sigma0(self) -> Self;
    /// σ1 (4.7).
    fn small_sigma1(self) -> Self;
    /// Ch(e, f, g) = (e ∧ f) ⊕ (¬e ∧ g) (4.2).
    fn ch(e: Self, f: Self, g: Self) -> Self;
    /// Maj(a, b, c) = (a ∧ b) ⊕ (a ∧ c) ⊕ (b ∧ c) (4.3).
    fn maj(a: Self, b: Self, c: Self) -> Self;
}

/// Immediates of a three-input bitwise function for `vpternlogd` (AVX-512): the function
/// applied to the truth-table columns `A = 0xF0`, `B = 0xCC`, `C = 0xAA` gives its 8-bit
/// table. Written as the formulas themselves, so the table cannot drift from them; [`Soft`]
/// evaluates the same immediates (see [`ternlog`]), so the tests exercise them.
#[cfg(any(target_arch = "x86_64", test))]
pub(super) mod ternlog {
    const A: u8 = 0xF0;
    const B: u8 = 0xCC;
    const C: u8 = 0xAA;
    /// `a ^ b ^ c`.
    pub(in crate::kdf) const XOR3: u8 = A ^ B ^ C;
    /// Ch: `(a & b) ^ (!a & c)`.
    pub(in crate::kdf) const CH: u8 = (A & B) ^ (!A & C);
    /// Maj: `(a & b) ^ (a & c) ^ (b & c)`.
    pub(in crate::kdf) const MAJ: u8 = (A & B) ^ (A & C) ^ (B & C);
}

/// Bitwise evaluation of a `vpternlogd` immediate: result bit = `imm` bit number
/// `(a << 2) | (b << 1) | c` (Intel SDM, VPTERNLOGD).
#[cfg(test)]
pub(super) fn ternlog(imm: u8, a: u32, b: u32, c: u32) -> u32 {
    (0..32).fold(0, |r, i| {
        let idx = ((a >> i) & 1) << 2 | ((b >> i) & 1) << 1 | ((c >> i) & 1);
        r | (u32::from(imm >> idx) & 1) << i
    })
}

/// A state ready to compress blocks on top of it: the state, and what the first rounds
/// compute from it alone (`docs/kdf.md` technique 1). Every compression of the hot loop starts
/// from the ipad or the opad state, so round 0 depends on the message only through `W[0]`:
/// with `T1 = h + K[0] + Ch(e, f, g) + Σ1(e)` fixed, its new `e` is `d + T1 + W[0]` and its
/// new `a` is `T1 + Σ0(a) + Maj(a, b, c) + W[0]` — three additions instead of seventeen
/// operations. Rounds 1..4 still read an initial word as `h` (`g`, `f`, `e`), so their
/// `h + K[t]` is fixed too.
#[derive(Clone, Copy)]
struct Start<V> {
    init: [V; 8],
    /// Round 0's new `e` without `W[0]`: `d + T1`.
    e: V,
    /// Round 0's new `a` without `W[0]`: `T1 + Σ0(a) + Maj(a, b, c)`.
    a: V,
    /// `h + K[t]` of rounds 1, 2 and 3: `g + K[1]`, `f + K[2]`, `e + K[3]`.
    hk: [V; 3],
}

impl<V> Start<V> {
    /// Round 0 and the fixed parts of rounds 1..4 of a compression on top of `init`.
    #[inline(always)]
    fn new<const N: usize>(t: V::Token, init: [V; 8]) -> Self
    where
        V: Lanes<N>,
    {
        let [a, b, c, d, e, f, g, h] = init;
        let k = |r: usize| V::splat(t, K[r]);
        let t1 = h.add(k(0)).add(V::ch(e, f, g)).add(e.big_sigma1());
        Start {
            init,
            e: d.add(t1),
            a: t1.add(a.big_sigma0().add(V::maj(a, b, c))),
            hk: [g.add(k(1)), f.add(k(2)), e.add(k(3))],
        }
    }
}

/// One compression of every lane: `init + rounds(init, w)` (FIPS 180-4 §6.2.2), the 64
/// rounds written out (constant round index, so constant message words fold) with rotating
/// names instead of moves; round 0 and the `h + K` of rounds 1..4 come from [`Start`].
#[inline(always)]
fn compress<V: Lanes<N>, const N: usize>(t: V::Token, s: &Start<V>, w: &mut [V; 16]) -> [V; 8] {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = s.init;
    macro_rules! round {
        ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $t:expr) => {{
            let r: usize = $t;
            if r == 0 {
                $d = s.e.add(w[0]);
                $h = s.a.add(w[0]);
            } else {
                if r >= 16 {
                    w[r % 16] = w[(r - 2) % 16]
                        .small_sigma1()
                        .add(w[(r - 7) % 16])
                        .add(w[(r - 15) % 16].small_sigma0().add(w[r % 16]));
                }
                let hk = if r < 4 {
                    s.hk[r - 1]
                } else {
                    $h.add(V::splat(t, K[r]))
                };
                // Σ1(e) is added last: h + K + W + Ch does not wait for it (shorter chain).
                let hkw = hk.add(w[r % 16]);
                let t1 = hkw.add(V::ch($e, $f, $g)).add($e.big_sigma1());
                let t2 = $a.big_sigma0().add(V::maj($a, $b, $c));
                $d = $d.add(t1);
                $h = t1.add(t2);
            }
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
    let out = [a, b, c, d, e, f, g, h];
    core::array::from_fn(|j| out[j].add(s.init[j]))
}

/// Compressions in [`derive_with`]'s loop: U1's outer hash, then inner and outer of U2.. —
/// `2 × iterations − 1`, in u64 (in u32 it wraps above 2³¹ iterations, which `Iterations`
/// allows, and the kernel would silently compute a few iterations instead).
fn hot_loop_steps(iterations: u32) -> u64 {
    2 * u64::from(iterations) - 1
}

/// `digest || DIGEST_PAD` as a transposed message.
#[inline(always)]
fn digest_message<V: Lanes<N>, const N: usize>(t: V::Token, d: &[V; 8]) -> [V; 16] {
    core::array::from_fn(|j| {
        if j < 8 {
            d[j]
        } else {
            V::splat(t, DIGEST_PAD[j - 8])
        }
    })
}

/// `N` scalar blocks → the transposed message (word `j` of every lane in vector `j`).
#[inline(always)]
fn transpose_in<V: Lanes<N>, const N: usize>(t: V::Token, blocks: &[[u32; 16]; N]) -> [V; 16] {
    core::array::from_fn(|j| V::from_words(t, core::array::from_fn(|l| blocks[l][j])))
}

/// `PBKDF2-HMAC-SHA256` of `N` independent inputs in lock-step (`iterations` ≥ 1).
///
/// Always inlined, so that it is compiled inside the backend's `#[target_feature]` function
/// together with the vector operations.
#[inline(always)]
pub(super) fn derive<V: Lanes<N>, const N: usize>(
    t: V::Token,
    keys: &[[u8; KEY_LEN]; N],
    salts: &[[u8; SALT_LEN]; N],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]; N],
) {
    debug_assert!(iterations >= 1);
    let iv: [V; 8] = IV.map(|x| V::splat(t, x));

    // Three setup compressions through one copy of the rounds: ipad, opad, then the salt
    // block on top of the ipad state (U1's inner hash).
    let mut blocks = [[0u32; 16]; N];
    let mut states = [iv; 3];
    for step in 0..3 {
        for (l, b) in blocks.iter_mut().enumerate() {
            *b = match step {
                0 => key_block(&keys[l], IPAD),
                1 => key_block(&keys[l], OPAD),
                _ => salt_block(&salts[l]),
            };
        }
        let init = if step == 2 { states[0] } else { iv };
        let mut w = transpose_in::<V, N>(t, &blocks);
        states[step] = compress::<V, N>(t, &Start::new(t, init), &mut w);
        w.zeroize();
    }
    blocks.zeroize();
    let [istate, ostate, mut inner] = states;
    states.zeroize();

    // U1's outer hash and then U2..: two compressions per iteration, state transposed, through
    // one copy of the rounds (even steps outer, odd steps inner): half the code of two copies,
    // so the loop stays in the instruction and micro-op caches (a 32-lane body is ~50 KB
    // unrolled twice). The step parity is public, not secret.
    let (istart, ostart) = (Start::new(t, istate), Start::new(t, ostate));
    let mut acc = [V::splat(t, 0); 8];
    for step in 0..hot_loop_steps(iterations) {
        let outer = step % 2 == 0;
        let start = if outer { &ostart } else { &istart };
        let mut w = digest_message::<V, N>(t, &inner);
        inner = compress::<V, N>(t, start, &mut w);
        if outer {
            for (a, u) in acc.iter_mut().zip(&inner) {
                *a = a.xor(*u);
            }
        }
    }

    let mut words = [[0u32; 8]; N];
    for (j, v) in acc.iter().enumerate() {
        for (l, x) in v.to_words().into_iter().enumerate() {
            words[l][j] = x;
        }
    }
    for (o, wds) in out.iter_mut().zip(&words) {
        store_be(wds, o);
    }
    words.zeroize();
    // The ipad/opad states, digests and accumulator live in registers and this frame's spill
    // slots from here on; the caller wipes the stack after every call
    // (`zeroize::zeroize_stack` in `core::run`). Registers cannot be wiped from Rust.
}

/// Plain `[u32; N]` lanes: the reference implementation of [`Lanes`], for tests on any
/// machine (the generic kernel's differential tests, and [`ternlog`] immediates).
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Soft<const N: usize>(pub(super) [u32; N]);

#[cfg(test)]
impl<const N: usize> Zeroize for Soft<N> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
impl<const N: usize> Soft<N> {
    fn map(self, f: impl Fn(u32) -> u32) -> Self {
        Soft(self.0.map(f))
    }
    fn zip(self, o: Self, f: impl Fn(u32, u32) -> u32) -> Self {
        Soft(core::array::from_fn(|l| f(self.0[l], o.0[l])))
    }
    fn tern(imm: u8, a: Self, b: Self, c: Self) -> Self {
        Soft(core::array::from_fn(|l| {
            ternlog(imm, a.0[l], b.0[l], c.0[l])
        }))
    }
}

#[cfg(test)]
impl<const N: usize> Lanes<N> for Soft<N> {
    type Token = ();
    fn splat((): (), x: u32) -> Self {
        Soft([x; N])
    }
    fn from_words((): (), words: [u32; N]) -> Self {
        Soft(words)
    }
    fn to_words(self) -> [u32; N] {
        self.0
    }
    fn add(self, o: Self) -> Self {
        self.zip(o, u32::wrapping_add)
    }
    fn xor(self, o: Self) -> Self {
        self.zip(o, |a, b| a ^ b)
    }
    // Σ/σ, Ch and Maj the way the AVX-512 backend computes them: rotations combined by the
    // same `vpternlogd` immediates.
    fn big_sigma0(self) -> Self {
        let r = |n| self.map(|x| x.rotate_right(n));
        Soft::tern(ternlog::XOR3, r(2), r(13), r(22))
    }
    fn big_sigma1(self) -> Self {
        let r = |n| self.map(|x| x.rotate_right(n));
        Soft::tern(ternlog::XOR3, r(6), r(11), r(25))
    }
    fn small_sigma0(self) -> Self {
        let r = |n| self.map(|x| x.rotate_right(n));
        Soft::tern(ternlog::XOR3, r(7), r(18), self.map(|x| x >> 3))
    }
    fn small_sigma1(self) -> Self {
        let r = |n| self.map(|x| x.rotate_right(n));
        Soft::tern(ternlog::XOR3, r(17), r(19), self.map(|x| x >> 10))
    }
    fn ch(e: Self, f: Self, g: Self) -> Self {
        Soft::tern(ternlog::CH, e, f, g)
    }
    fn maj(a: Self, b: Self, c: Self) -> Self {
        Soft::tern(ternlog::MAJ, a, b, c)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Deterministic distinct test inputs (splitmix64).
    pub(in crate::kdf) fn inputs<const N: usize>(
        seed: u64,
    ) -> ([[u8; KEY_LEN]; N], [[u8; SALT_LEN]; N]) {
        let mut x = seed;
        let mut next = move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        };
        let keys = core::array::from_fn(|_| core::array::from_fn(|_| next()));
        let salts = core::array::from_fn(|_| core::array::from_fn(|_| next()));
        (keys, salts)
    }

    /// The `pbkdf2` crate's answer for every lane.
    pub(in crate::kdf) fn reference<const N: usize>(
        keys: &[[u8; KEY_LEN]; N],
        salts: &[[u8; SALT_LEN]; N],
        iterations: u32,
    ) -> [[u8; OUT_LEN]; N] {
        core::array::from_fn(|l| {
            let mut o = [0u8; OUT_LEN];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&keys[l], &salts[l], iterations, &mut o);
            o
        })
    }

    fn soft_matches_pbkdf2<const N: usize>() {
        for iterations in [1, 2, 3, 100] {
            let (keys, salts) = inputs::<N>(u64::from(iterations) * 7919 + N as u64);
            let mut out = [[0u8; OUT_LEN]; N];
            derive::<Soft<N>, N>((), &keys, &salts, iterations, &mut out);
            assert_eq!(
                out,
                reference(&keys, &salts, iterations),
                "{N} lanes, {iterations} it"
            );
        }
    }

    #[test]
    fn generic_kernel_16_lanes_matches_pbkdf2() {
        soft_matches_pbkdf2::<16>();
    }

    #[test]
    fn the_loop_count_does_not_wrap() {
        assert_eq!(hot_loop_steps(1), 1);
        assert_eq!(hot_loop_steps(1000), 1999);
        assert_eq!(hot_loop_steps(1 << 31), (1 << 32) - 1);
        assert_eq!(hot_loop_steps(u32::MAX), (1 << 33) - 3);
    }

    #[test]
    fn generic_kernel_8_and_1_lanes_match_pbkdf2() {
        soft_matches_pbkdf2::<8>();
        soft_matches_pbkdf2::<1>();
    }

    #[test]
    fn ternlog_immediates_are_the_formulas() {
        assert_eq!(
            (ternlog::XOR3, ternlog::CH, ternlog::MAJ),
            (0x96, 0xCA, 0xE8),
            "the well-known tables"
        );
        let vals = [
            0u32,
            u32::MAX,
            0x0123_4567,
            0x89AB_CDEF,
            0xF0F0_0F0F,
            0x5555_AAAA,
        ];
        for &a in &vals {
            for &b in &vals {
                for &c in &vals {
                    assert_eq!(ternlog(ternlog::XOR3, a, b, c), a ^ b ^ c);
                    assert_eq!(ternlog(ternlog::CH, a, b, c), (a & b) ^ (!a & c));
                    assert_eq!(ternlog(ternlog::MAJ, a, b, c), (a & b) ^ (a & c) ^ (b & c));
                }
            }
        }
    }

    /// A backend's operations agree with [`Soft`]'s on random words, one by one — for the
    /// SIMD backends' tests (each runs where its CPU features are present).
    pub(in crate::kdf) fn ops_match_soft<V: Lanes<N>, const N: usize>(t: V::Token) {
        let (keys, _) = inputs::<N>(42);
        let words = |k: usize| -> [u32; N] {
            core::array::from_fn(|l| {
                u32::from_le_bytes(keys[l][4 * k..4 * k + 4].try_into().unwrap())
            })
        };
        for k in 0..13 {
            let (x, y, z) = (words(k), words(k + 1), words(k + 2));
            let (v, w, u) = (
                V::from_words(t, x),
                V::from_words(t, y),
                V::from_words(t, z),
            );
            let (sx, sy, sz) = (Soft(x), Soft(y), Soft(z));
            assert_eq!(v.to_words(), x, "transposition");
            assert_eq!(V::splat(t, y[0]).to_words(), [y[0]; N], "splat");
            assert_eq!(v.add(w).to_words(), sx.add(sy).0, "add");
            assert_eq!(v.xor(w).to_words(), sx.xor(sy).0, "xor");
            assert_eq!(v.big_sigma0().to_words(), sx.big_sigma0().0, "Σ0");
            assert_eq!(v.big_sigma1().to_words(), sx.big_sigma1().0, "Σ1");
            assert_eq!(v.small_sigma0().to_words(), sx.small_sigma0().0, "σ0");
            assert_eq!(v.small_sigma1().to_words(), sx.small_sigma1().0, "σ1");
            assert_eq!(V::ch(v, w, u).to_words(), Soft::ch(sx, sy, sz).0, "Ch");
            assert_eq!(V::maj(v, w, u).to_words(), Soft::maj(sx, sy, sz).0, "Maj");
        }
    }
}
