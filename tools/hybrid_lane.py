#!/usr/bin/env python3
"""Would a scalar SHA-256 lane in the integer pipes add throughput beside SHA-NI x2?

On a CPU whose SHA unit is saturated by two SHA-NI lanes (Zen 1: `sha256rnds2` every 2
cycles, see `uarch.c`), the integer ALUs sit idle, so a third PBKDF2 lane computed with
scalar `rorx`/`andn`/`add` could in principle ride along. This measures it with hand-written
assembly (no compiler scheduling in the way): the op mix of one SHA-NI x2 compression
(16 four-round steps x 2 lanes: msg1, palignr, paddd, msg2, W+K, pshufd, 2 x rnds2) with R
scalar SHA-256 rounds (with message schedule, BMI2) spread evenly through it.

"gain" is what the hybrid would deliver: the scalar lane adds R/64 of a compression per x2
compression pair, i.e. a factor (1 + R/128), divided by the slowdown of the SHA-NI part.
BENCHMARKS.md records the result on the build host: at best +1.5 %, so
the SHA-NI kernels stay pure.

    python3 tools/hybrid_lane.py        # needs gcc and a CPU with SHA-NI and BMI2
"""
import os
import subprocess
import sys
import tempfile

LANES = [dict(A=1, C=2, w=[3, 4, 5, 6], T=7), dict(A=8, C=9, w=[10, 11, 12, 13], T=14)]
GPR = ["eax", "ebx", "ecx", "edx", "esi", "edi", "r8d", "r9d"]


def x(r):
    return "%%%%xmm%d" % r


def lane_step(lane, s):
    """One four-round step of one SHA-NI lane: schedule, W+K, two sha256rnds2."""
    w = [lane["w"][(s + i) % 4] for i in range(4)]
    t, a, c = lane["T"], lane["A"], lane["C"]
    return [
        f"movdqa {x(w[3])}, {x(t)}", f"palignr $4, {x(w[2])}, {x(t)}",
        f"sha256msg1 {x(w[1])}, {x(w[0])}", f"paddd {x(t)}, {x(w[0])}",
        f"sha256msg2 {x(w[3])}, {x(w[0])}", f"movdqa {x(w[0])}, %%xmm0",
        f"paddd {16 * s}(%[k]), %%xmm0", f"sha256rnds2 %%xmm0, {x(a)}, {x(c)}",
        f"pshufd $0x0e, %%xmm0, %%xmm0", f"sha256rnds2 %%xmm0, {x(c)}, {x(a)}",
    ]


def scalar_round(t):
    """Round t of a scalar SHA-256 lane (state rotates through 8 GPRs) plus W[t+16]."""
    a, b, c, d, e, f, g, h = ["%%" + GPR[(i - t) % 8] for i in range(8)]
    t0, t1, t2, t3 = "%%r10d", "%%r11d", "%%r12d", "%%r13d"

    def w(j):
        return f"{4 * ((t + j) % 16)}(%[w])"

    return [
        f"rorx $6, {e}, {t0}", f"rorx $11, {e}, {t1}", f"xor {t1}, {t0}",
        f"rorx $25, {e}, {t1}", f"xor {t1}, {t0}",
        f"add {4 * (t % 64)}(%[k]), {h}", f"add {w(0)}, {h}",
        f"andn {g}, {e}, {t1}", f"mov {f}, {t2}", f"and {e}, {t2}", f"add {t2}, {h}",
        f"add {t1}, {h}", f"add {t0}, {h}", f"add {h}, {d}",
        f"rorx $2, {a}, {t0}", f"rorx $13, {a}, {t1}", f"xor {t1}, {t0}",
        f"rorx $22, {a}, {t1}", f"xor {t1}, {t0}",
        f"mov {a}, {t1}", f"or {b}, {t1}", f"and {c}, {t1}", f"mov {a}, {t2}",
        f"and {b}, {t2}", f"or {t2}, {t1}", f"add {t0}, {h}", f"add {t1}, {h}",
        # message schedule, in place: W[t+16] into W[t]'s slot
        f"mov {w(1)}, {t0}", f"rorx $7, {t0}, {t1}", f"rorx $18, {t0}, {t2}",
        f"xor {t2}, {t1}", f"shr $3, {t0}", f"xor {t0}, {t1}",
        f"mov {w(14)}, {t0}", f"rorx $17, {t0}, {t2}", f"rorx $19, {t0}, {t3}",
        f"xor {t3}, {t2}", f"shr $10, {t0}", f"xor {t0}, {t2}",
        f"add {t2}, {t1}", f"add {w(9)}, {t1}", f"add {w(0)}, {t1}", f"mov {t1}, {w(0)}",
    ]


def body(rounds, sha, scalar):
    out, t = [], 0
    for s in range(16):
        if sha:
            for lane in LANES:
                out += lane_step(lane, s % 4)
        while t < (s + 1) * rounds // 16:
            if scalar:
                out += scalar_round(t)
            t += 1
    return out


def timed(name, lines):
    asm = "\n".join('"%s\\n\\t"' % line for line in lines) or '""'
    return f"""static double {name}(void) {{
  double best = 1e9;
  for (int k = 0; k < 5; k++) {{
    double t = now();
    for (long i = 0; i < N; i++) __asm__ volatile({asm}
      :: [k]"r"(K), [w]"r"(W) : "eax","ebx","ecx","edx","esi","edi","r8","r9","r10","r11",
         "r12","r13","xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9",
         "xmm10","xmm11","xmm12","xmm13","xmm14","memory","cc");
    t = now() - t;
    if (t < best) best = t;
  }}
  return best / N * 1e9;
}}
"""


def program(rounds):
    return "\n".join([
        "#include <stdio.h>", "#include <stdint.h>", "#include <time.h>",
        "static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);"
        " return t.tv_sec + t.tv_nsec * 1e-9; }",
        "#define N 2000000L",
        "static uint32_t K[64] __attribute__((aligned(64))) = {1, 2, 3};",
        "static uint32_t W[16] __attribute__((aligned(64)));",
        timed("sha_only", body(rounds, True, False)),
        timed("scalar_only", body(rounds, False, True)),
        timed("both", body(rounds, True, True)),
        "int main(void) { double a = sha_only(), b = scalar_only(), c = both();",
        f' printf("R=%2d  SHA-NI x2 %.1f ns  scalar %.1f ns  both %.1f ns  slowdown %.3f'
        f'  gain %.3f\\n", {rounds}, a, b, c, c / a, (1 + {rounds} / 128.0) / (c / a));',
        " return 0; }",
    ])


def main():
    with tempfile.TemporaryDirectory() as d:
        for rounds in [int(r) for r in sys.argv[1:]] or [4, 8, 16]:
            src, exe = os.path.join(d, "h.c"), os.path.join(d, "h")
            with open(src, "w") as f:
                f.write(program(rounds))
            subprocess.run(["gcc", "-O2", "-o", exe, src], check=True)
            subprocess.run(["taskset", "-c", "1", exe], check=True)


if __name__ == "__main__":
    main()
