/*
 * Instruction-level facts behind the hashing core's speed on *this* CPU (BENCHMARKS.md): sha256rnds2 latency and reciprocal throughput, whether the SHA-NI
 * message instructions and the shuffles/adds of a PBKDF2 step compete with sha256rnds2, and
 * whether 256-bit integer ops run at full rate. Times are relative to a reference loop, so
 * no clock frequency is needed.
 *
 *   gcc -O2 -o /tmp/uarch tools/uarch.c && taskset -c 1 /tmp/uarch
 *
 * Reading it: "rnds2 latency" is cycles per dependent sha256rnds2 relative to a dependent
 * integer add chain (1 cycle); "rnds2 x8 independent" / 8 is the reciprocal throughput
 * (Zen 1: 2 cycles, so two interleaved lanes already saturate the SHA unit; Zen 3: ~1).
 * The "+ step mix" lines add, per two rnds2, what one four-round step of the kernel also
 * issues (msg1, msg2, palignr, pshufd, 2 paddd), all independent: their ratio to the bare
 * rnds2 loop is the kernel's expected slowdown over the pure sha256rnds2 bound.
 *
 * With AVX-512F (checked at run time) it also measures the 512-bit ops of the transposed
 * kernel (vpaddd, vprold, vpternlogd: zmm ops per cycle) and whether they share execution
 * resources with sha256rnds2: a loop of both against each alone. "hidden" is how much of the
 * shorter loop disappears when both run together (1 = free, 0 = the times add up): an upper
 * bound on what a kernel running SHA-NI lanes beside AVX-512 lanes could gain (on Zen 4 such
 * a prototype lost 7-8 %: BENCHMARKS.md, the Zen 4 section).
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define N 10000000L
#define CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
    "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory"
#define LOOP(name, body)                                        \
  static double name(void) {                                    \
    double best = 1e9;                                          \
    for (int k = 0; k < 7; k++) {                               \
      double t = now();                                         \
      for (long i = 0; i < N; i++) __asm__ volatile(body ::: CLOBBER); \
      t = now() - t;                                            \
      if (t < best) best = t;                                   \
    }                                                           \
    return best;                                                \
  }

#define ADD1 "add $1, %%eax\n\t"
#define ADD8 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1 ADD1
static double add_chain(void) {
  double best = 1e9;
  for (int k = 0; k < 7; k++) {
    double t = now();
    for (long i = 0; i < N; i++) __asm__ volatile(ADD8 ADD8 ::: "eax");
    t = now() - t;
    if (t < best) best = t;
  }
  return best / 16; /* one cycle per add */
}

#define R(d) "sha256rnds2 %%xmm0, %%xmm1, %%xmm" #d "\n\t"
#define DEP8 R(2) R(2) R(2) R(2) R(2) R(2) R(2) R(2)
#define IND8 R(2) R(3) R(4) R(5) R(6) R(7) R(8) R(9)
#define FRESH(op, d) "movdqa %%xmm14, %%xmm" #d "\n\t" op " %%xmm1, %%xmm" #d "\n\t"
#define M1(d) FRESH("sha256msg1", d)
#define M2(d) FRESH("sha256msg2", d)
#define AL(d) FRESH("palignr $4,", d)
#define AD(d) FRESH("paddd", d)
#define SH(d) "pshufd $0x0e, %%xmm1, %%xmm" #d "\n\t"
#define MIX(d) M1(d) M2(d) AL(d) SH(15) AD(d) AD(d)
#define YADD(d) "vpaddd %%ymm1, %%ymm" #d ", %%ymm" #d "\n\t"
#define XADD(d) "vpaddd %%xmm1, %%xmm" #d ", %%xmm" #d "\n\t"
#define Y8 YADD(2) YADD(3) YADD(4) YADD(5) YADD(6) YADD(7) YADD(8) YADD(9)
#define X8 XADD(2) XADD(3) XADD(4) XADD(5) XADD(6) XADD(7) XADD(8) XADD(9)

LOOP(rnds2_dep8, DEP8)
LOOP(rnds2_ind8, IND8)
LOOP(msg2_ind8, M2(2) M2(3) M2(4) M2(5) M2(6) M2(7) M2(8) M2(9))
LOOP(rnds2_ind8_msg, IND8 M1(10) M2(11) M1(12) M2(13))
LOOP(rnds2_ind8_halfmix, IND8 MIX(10) MIX(11))
LOOP(rnds2_ind8_fullmix, IND8 MIX(10) MIX(11) MIX(12) MIX(13))
LOOP(ymm_add32, Y8 Y8 Y8 Y8 "vzeroupper\n\t")
LOOP(xmm_add32, X8 X8 X8 X8)

/* 512-bit ops on zmm10..13 (four independent one-cycle chains), beside rnds2 on xmm2..9. */
#define ZADD(d) "vpaddd %%zmm1, %%zmm" #d ", %%zmm" #d "\n\t"
#define ZROL(d) "vprold $7, %%zmm" #d ", %%zmm" #d "\n\t"
#define ZTERN(d) "vpternlogd $0x96, %%zmm1, %%zmm14, %%zmm" #d "\n\t"
#define Z4(op) op(10) op(11) op(12) op(13)
/* A SHA-256 round's 512-bit mix, roughly: 7 adds, 6 rotates, 4 ternary logic ops. */
#define ZROUND Z4(ZADD) ZADD(10) ZADD(11) ZADD(12) Z4(ZROL) ZROL(10) ZROL(11) Z4(ZTERN)
#define VZ "vzeroupper\n\t"
LOOP(zmm_add16, Z4(ZADD) Z4(ZADD) Z4(ZADD) Z4(ZADD) VZ)
LOOP(zmm_rol16, Z4(ZROL) Z4(ZROL) Z4(ZROL) Z4(ZROL) VZ)
LOOP(zmm_tern16, Z4(ZTERN) Z4(ZTERN) Z4(ZTERN) Z4(ZTERN) VZ)
LOOP(zmm_round, ZROUND VZ)
LOOP(rnds2_ind8_zmm_round, IND8 ZROUND VZ)
LOOP(rnds2_ind8_zmm_add8, IND8 Z4(ZADD) Z4(ZADD) VZ)

/* A kernel running SHA-NI lanes beside the 16-lane rounds, as a mix: one four-round chunk of
 * the 16-lane kernel (its hot loop per lane-compression, `objdump` counts: 36 vpaddd, 36 vprold,
 * 24 vpternlogd, 4 vpsrld; twelve independent chains) on zmm16..31, alone and with two SHA-NI
 * lanes' four-round step (4 rnds2 + 2 step mixes) between its quarters. zmm16..31 because a
 * legacy-SSE SHA instruction after a 512-bit write to zmm0..15 costs a state transition (the
 * "dirty upper" lines below); only zmm16..31 stay out of the SSE state. Not in CLOBBER: this
 * file is compiled without AVX-512, so the compiler never allocates xmm16..31. */
#define HADD(d) "vpaddd %%zmm28, %%zmm" #d ", %%zmm" #d "\n\t"
#define HROL(d) "vprold $7, %%zmm29, %%zmm" #d "\n\t"
#define HTERN(d) "vpternlogd $0x96, %%zmm30, %%zmm31, %%zmm" #d "\n\t"
#define HSRL(d) "vpsrld $3, %%zmm29, %%zmm" #d "\n\t"
#define H4(op, a, b, c, d) op(a) op(b) op(c) op(d)
#define HQ(a, b, c, d) H4(HADD, a, b, c, d) H4(HADD, a, b, c, d) H4(HROL, a, b, c, d) \
    H4(HADD, a, b, c, d) H4(HROL, a, b, c, d) H4(HTERN, a, b, c, d) H4(HROL, a, b, c, d) \
    H4(HTERN, a, b, c, d) HSRL(a)
/* Four quarters: 36 adds (3 x 12), 36 rotates, 24 ternary, 4 shifts. */
#define ZQ1 HQ(16, 17, 18, 19)
#define ZQ2 HQ(20, 21, 22, 23)
#define ZQ3 HQ(24, 25, 26, 27)
#define ZQ4 H4(HTERN, 16, 20, 24, 17) H4(HTERN, 18, 21, 22, 23) HSRL(25)
LOOP(zmm_chunk, ZQ1 ZQ2 ZQ3 ZQ4 VZ)
LOOP(zmm_chunk_shani2, R(2) MIX(10) ZQ1 R(3) ZQ2 R(4) MIX(11) ZQ3 R(5) ZQ4 VZ)
/* A legacy-SSE add after a 512-bit add: to zmm10 (in the SSE state) or zmm16 (not). */
LOOP(dirty_low, ZADD(10) "paddd %%xmm1, %%xmm2\n\t")
LOOP(dirty_high, "vpaddd %%zmm28, %%zmm16, %%zmm16\n\t" "paddd %%xmm1, %%xmm2\n\t")

/* How much of the shorter of two loops (times a, b) is hidden when they run together (ab). */
static double hidden(double a, double b, double ab) { return (a + b - ab) / (a < b ? a : b); }

int main(void) {
  double c = add_chain();
  double ind = rnds2_ind8();
  printf("core clock (add chain)        %5.2f GHz\n", 1e-9 * N / c);
  printf("rnds2 latency                 %5.2f cycles\n", rnds2_dep8() / 8 / c);
  printf("rnds2 x8 independent          %5.2f cycles each (reciprocal throughput)\n", ind / 8 / c);
  printf("msg2 x8 independent           %5.2f cycles each\n", msg2_ind8() / 8 / c);
  printf("rnds2 x8 + 2 msg1 + 2 msg2    %5.2f x bare rnds2\n", rnds2_ind8_msg() / ind);
  printf("rnds2 x8 + half step mix      %5.2f x bare rnds2\n", rnds2_ind8_halfmix() / ind);
  printf("rnds2 x8 + full step mix      %5.2f x bare rnds2 (the kernel's mix)\n", rnds2_ind8_fullmix() / ind);
  printf("vpaddd ymm / xmm              %5.2f (1 = full-width 256-bit datapath, 2 = split)\n",
         ymm_add32() / xmm_add32());
  if (!__builtin_cpu_supports("avx512f")) {
    printf("no AVX-512F: 512-bit lines skipped\n");
    return 0;
  }
  double add16 = zmm_add16();
  printf("vpaddd / vprold / vpternlogd zmm  %4.2f / %4.2f / %4.2f per cycle\n",
         16 * c / add16, 16 * c / zmm_rol16(), 16 * c / zmm_tern16());
  double round = zmm_round(), both = rnds2_ind8_zmm_round();
  printf("rnds2 x8 + one round's zmm mix  %5.2f cycles (alone %.2f and %.2f): hidden %.2f\n",
         both / c, ind / c, round / c, hidden(ind, round, both));
  both = rnds2_ind8_zmm_add8();
  printf("rnds2 x8 + 8 vpaddd zmm         %5.2f cycles (alone %.2f and %.2f): hidden %.2f\n",
         both / c, ind / c, add16 / 2 / c, hidden(ind, add16 / 2, both));
  double chunk = zmm_chunk(), hyb = zmm_chunk_shani2();
  printf("16-lane chunk + 2 SHA-NI lanes  %5.2f cycles (chunk alone %.2f): kernel gain %.2f\n",
         hyb / c, chunk / c, (1 + 2.0 / 16) * chunk / hyb);
  double high = dirty_high(), low = dirty_low();
  __asm__ volatile(VZ);
  printf("SSE add after zmm16 / zmm10 add  %4.1f / %4.1f cycles (the second: dirty upper state)\n",
         high / c, low / c);
  return 0;
}
