#!/usr/bin/env python3
"""Writes src/kdf/x86_shani_asm.rs: the hand-scheduled hot loop of the `shani-x2-asm` backend.

One PBKDF2 iteration for two lanes is 2 x 2 SHA-256 compressions (inner, outer), fully
unrolled; the generator exists so the 500-odd instructions are derived from one description
of a four-round step instead of being typed by hand. Regenerate with

    python3 tools/gen_x86_shani_asm.py > src/kdf/x86_shani_asm.rs

(a test checks that the committed file is what this script prints).

Why assembly (BENCHMARKS.md, docs/kdf.md): on a CPU whose SHA unit is the bound
(Zen 1: `sha256rnds2` every 2 cycles), the compiler's version of the same loop spends ~235
register moves per iteration on two-operand SSE forms and the implicit `xmm0`, and reloads
the ipad/opad states; this loop uses three-operand VEX.128 forms for everything that is not
a SHA instruction (no moves), keeps the constants as memory operands, and measured 5-10 %
faster on the build host. VEX.128 and legacy-SSE SHA instructions mix without penalty as long
as the upper halves are clean, which the caller guarantees with `vzeroupper`.

Register plan: lane 0 uses xmm1 (ABEF), xmm2 (CDGH), xmm3-6 (message ring), xmm7 (temp);
lane 1 the same in xmm8-14; xmm0 is sha256rnds2's implicit W+K operand.
Memory: {st} -> [ipad state ABEF, CDGH, opad state ABEF, CDGH, accumulator ABEF, CDGH] per
lane (LANE_BYTES apart); {k} -> the `AsmConsts` table (offsets below).
"""

LANE_BYTES = 0x60
ISTATE, OSTATE, ACC = 0x00, 0x20, 0x40
# AsmConsts layout: k[16] (K[4r..4r+4]) at 16*r, then:
WK2, WK2H, WK3, WK3H, PAD0, PAD1 = (0x100 + 16 * i for i in range(6))

LANES = [dict(A=1, C=2, w=[3, 4, 5, 6], T=7), dict(A=8, C=9, w=[10, 11, 12, 13], T=14)]


def x(r):
    return "%%xmm%d" % r


def st(lane, off):
    return "%d({st})" % (lane * LANE_BYTES + off)


def k(off):
    return "%d({k})" % off


def rounds4(lane):
    """Four rounds with W+K in xmm0: the low pair, then the high pair."""
    a, c = x(LANES[lane]["A"]), x(LANES[lane]["C"])
    return [f"sha256rnds2 %xmm0, {a}, {c}", "vpshufd $0x0e, %xmm0, %xmm0",
            f"sha256rnds2 %xmm0, {c}, {a}"]


def prologue(lane, init):
    """Digest in ABEF/CDGH -> message W0..3, W4..7; then load the compression's start state."""
    ln = LANES[lane]
    a, c, w = x(ln["A"]), x(ln["C"]), [x(r) for r in ln["w"]]
    return [f"vpshufd $0x1b, {a}, {w[0]}",           # [A, B, E, F]
            f"vpshufd $0x1b, {c}, {w[2]}",           # [C, D, G, H]
            f"vpunpckhqdq {w[2]}, {w[0]}, {w[1]}",   # W4..7 = [E, F, G, H]
            f"vpunpcklqdq {w[2]}, {w[0]}, {w[0]}",   # W0..3 = [A, B, C, D]
            f"vmovdqa {st(lane, init)}, {a}",
            f"vmovdqa {st(lane, init + 16)}, {c}"]


def step(lane, r):
    """Rounds 4r..4r+4 of one lane, with the message expansion they need.

    Message vector i (W4i..W4i+3) lives in ring slot i % 4; vectors 2 and 3 (W8..W15) are the
    constant padding and are read from memory. Constant-folded here (unit tests in
    x86_shani_asm.rs check each identity with the intrinsics):
      step 4: palignr(W12..15, W8..11) = [W9, W10, W11, W12] = 0, so nothing is added;
      step 6: sha256msg1(W8..11, W12..15) = W8..11 (sigma0(0) = 0): a load of PAD0.
    """
    ln = LANES[lane]
    a, c, t = x(ln["A"]), x(ln["C"]), x(ln["T"])
    w = [x(q) for q in ln["w"]]
    if r < 2:
        return [f"vpaddd {k(16 * r)}, {w[r]}, %xmm0"] + rounds4(lane)
    if r < 4:
        lo, hi = (WK2, WK2H) if r == 2 else (WK3, WK3H)
        return [f"vmovdqa {k(lo)}, %xmm0", f"sha256rnds2 %xmm0, {a}, {c}",
                f"vmovdqa {k(hi)}, %xmm0", f"sha256rnds2 %xmm0, {c}, {a}"]

    def vec(i):  # register or memory operand holding message vector i
        return {2: k(PAD0), 3: k(PAD1)}.get(i, w[i % 4])

    dst = w[r % 4]
    out = []
    if r == 6:
        out.append(f"vmovdqa {k(PAD0)}, {dst}")
    elif r == 7:
        out += [f"vmovdqa {k(PAD1)}, {dst}", f"sha256msg1 {vec(r - 3)}, {dst}"]
    else:
        out.append(f"sha256msg1 {vec(r - 3)}, {dst}")
    if r != 4:
        out += [f"vpalignr $4, {vec(r - 2)}, {vec(r - 1)}, {t}", f"vpaddd {t}, {dst}, {dst}"]
    out += [f"sha256msg2 {vec(r - 1)}, {dst}", f"vpaddd {k(16 * r)}, {dst}, %xmm0"]
    return out + rounds4(lane)


def compression(init):
    out = prologue(0, init) + prologue(1, init)
    for r in range(16):
        out += step(0, r) + step(1, r)
    for lane in (0, 1):
        a, c = x(LANES[lane]["A"]), x(LANES[lane]["C"])
        out += [f"vpaddd {st(lane, init)}, {a}, {a}", f"vpaddd {st(lane, init + 16)}, {c}, {c}"]
    return out


def iteration():
    out = compression(ISTATE) + compression(OSTATE)
    for lane in (0, 1):
        a, c, t = x(LANES[lane]["A"]), x(LANES[lane]["C"]), x(LANES[lane]["T"])
        out += [f"vpxor {st(lane, ACC)}, {a}, {t}", f"vmovdqa {t}, {st(lane, ACC)}",
                f"vpxor {st(lane, ACC + 16)}, {c}, {t}", f"vmovdqa {t}, {st(lane, ACC + 16)}"]
    return out


def main():
    body = iteration()
    # After the loop, clear the scratch registers: they hold message words and digests
    # (the outputs xmm1/2/8/9 go back to Rust, whose copies the caller's stack wipe covers).
    wipe = [f"vpxor {x(r)}, {x(r)}, {x(r)}" for r in (0, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14)]
    lines = [".p2align 6", "2:"] + body + ["dec {n:e}", "jnz 2b"] + wipe
    asm = "\n".join(f'            "{line}",' for line in lines)
    print(f"""// @generated by tools/gen_x86_shani_asm.py — do not edit; regenerate with
//     python3 tools/gen_x86_shani_asm.py > src/kdf/x86_shani_asm.rs
//! The `shani-x2-asm` hot loop: `iterations - 1` PBKDF2 iterations of two SHA-NI lanes in
//! hand-scheduled assembly ({len(body)} instructions per iteration). See the generator's
//! docstring for the register plan and why this exists; `x86_shani.rs` does the setup.

use core::arch::asm;
use core::arch::x86_64::__m128i;

/// Bytes between the two lanes' blocks in [`LoopMem`].
pub(super) const LANE_BYTES: usize = {LANE_BYTES:#x};

/// Per-lane states the loop reads (ipad, opad) and updates (accumulator), in SHA-NI layout.
#[derive(Clone, Copy, zeroize::Zeroize)]
#[repr(C, align(16))]
pub(super) struct LaneMem {{
    /// ipad state `[ABEF, CDGH]` (offset {ISTATE:#x}).
    pub istate: [__m128i; 2],
    /// opad state (offset {OSTATE:#x}).
    pub ostate: [__m128i; 2],
    /// `U_1 ^ … ^ U_i` (offset {ACC:#x}).
    pub acc: [__m128i; 2],
}}

/// Both lanes' memory, `LANE_BYTES` apart.
pub(super) type LoopMem = [LaneMem; 2];

/// Constants of the loop, at the offsets below: `K` as sixteen vectors, `W+K` of rounds 8–11
/// and 12–15 (whole and high pair), and the padding vectors `W8..11`, `W12..15`. The one
/// table is built in `x86_shani.rs`.
#[repr(C, align(16))]
pub(super) struct AsmConsts {{
    pub(super) k: [[u32; 4]; 16],
    pub(super) wk2: [u32; 4],
    pub(super) wk2_hi: [u32; 4],
    pub(super) wk3: [u32; 4],
    pub(super) wk3_hi: [u32; 4],
    pub(super) pad0: [u32; 4],
    pub(super) pad1: [u32; 4],
}}

// Every offset the assembly below uses, checked at compile time.
const _: () = {{
    use core::mem::{{offset_of, size_of}};
    assert!(size_of::<LaneMem>() == LANE_BYTES);
    assert!(offset_of!(LaneMem, istate) == {ISTATE:#x});
    assert!(offset_of!(LaneMem, ostate) == {OSTATE:#x});
    assert!(offset_of!(LaneMem, acc) == {ACC:#x});
    assert!(offset_of!(AsmConsts, k) == 0);
    assert!(offset_of!(AsmConsts, wk2) == {WK2:#x});
    assert!(offset_of!(AsmConsts, wk2_hi) == {WK2H:#x});
    assert!(offset_of!(AsmConsts, wk3) == {WK3:#x});
    assert!(offset_of!(AsmConsts, wk3_hi) == {WK3H:#x});
    assert!(offset_of!(AsmConsts, pad0) == {PAD0:#x});
    assert!(offset_of!(AsmConsts, pad1) == {PAD1:#x});
}};

/// Runs the loop `n` (≥ 1) times; `u` is each lane's last `U` in `[ABEF, CDGH]` and is
/// updated in place, as is `mem[l].acc`.
///
/// # Safety
/// The CPU must support SHA-NI and AVX (checked by the caller's `ShaNiAvx` token), and the
/// upper halves of the YMM registers must be clean (`vzeroupper`) so the legacy-SSE SHA
/// instructions pay no transition penalty.
#[inline(always)]
pub(super) unsafe fn run(mem: &mut LoopMem, consts: &AsmConsts, u: &mut [[__m128i; 2]; 2], n: u32) {{
    debug_assert!(n >= 1);
    let [[mut a0, mut c0], [mut a1, mut c1]] = *u;
    // SAFETY: the caller guarantees SHA-NI + AVX; `mem` and `consts` are live, 16-byte
    // aligned (`repr(align(16))`) and every offset used is inside them (LANE_BYTES * 2 = the
    // size of `LoopMem`; the constant offsets are those of `AsmConsts`, checked by a test).
    // All other vector registers are declared clobbered; no stack, no flags beyond `dec`.
    unsafe {{
        asm!(
{asm}
            st = in(reg) mem.as_mut_ptr(),
            k = in(reg) consts,
            n = inout(reg) n => _,
            inout("xmm1") a0, inout("xmm2") c0, inout("xmm8") a1, inout("xmm9") c1,
            out("xmm0") _, out("xmm3") _, out("xmm4") _, out("xmm5") _, out("xmm6") _,
            out("xmm7") _, out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _,
            out("xmm14") _,
            options(att_syntax, nostack),
        );
    }}
    *u = [[a0, c0], [a1, c1]];
}}""")


if __name__ == "__main__":
    main()
