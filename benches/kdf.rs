//! Throughput of the hashing core (verifiers per second) per backend and of the `pbkdf2`
//! crate, in the same run (`BENCHMARKS.md`).
//!
//! ```sh
//! # single core, pinned (the BENCHMARKS.md table):
//! taskset -c 1 cargo bench --bench kdf -- single/
//! # the same, timed by thread CPU time (robust against time-slice sharing):
//! taskset -c 1 cargo bench --bench kdf -- single-cpu/
//! # 1 thread vs all cores:
//! cargo bench --bench kdf -- threads/
//! # summary (median and max over samples, v/s and ratio vs the pbkdf2 crate):
//! python3 tools/summarize.py
//! # SHA-256 compressions/s: every backend, the pbkdf2 crate and tape-sha256's chain kernels
//! # (the reference multi-lane SHA-256), side by side, wall time and thread CPU time:
//! taskset -c 1 cargo bench --bench kdf -- compress
//! ```
//!
//! `PHSYNC_BENCH_BACKENDS=shani-x2,shani-x4` limits the backends measured.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use phsync::kdf::{self, Backend, KEY_LEN, OUT_LEN, SALT_LEN};
use rayon::prelude::*;

/// NT-hash-shaped passwords (UTF-16LE of 32 uppercase hex digits) and random salts.
fn inputs(n: usize) -> (Vec<[u8; KEY_LEN]>, Vec<[u8; SALT_LEN]>) {
    let mut x = 0x0123_4567_89ab_cdefu64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let hex = b"0123456789ABCDEF";
    let keys = (0..n)
        .map(|_| {
            let mut k = [0u8; KEY_LEN];
            for i in 0..32 {
                k[2 * i] = hex[(next() & 15) as usize];
            }
            k
        })
        .collect();
    let salts = (0..n)
        .map(|_| {
            let mut s = [0u8; SALT_LEN];
            for b in &mut s {
                *b = next() as u8;
            }
            s
        })
        .collect();
    (keys, salts)
}

fn pbkdf2_crate(
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    it: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    for ((k, s), o) in keys.iter().zip(salts).zip(out.iter_mut()) {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(k, s, it, o);
    }
}

fn backends() -> Vec<Backend> {
    let all = Backend::available();
    match std::env::var("PHSYNC_BENCH_BACKENDS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|n| Backend::from_name(n).expect("PHSYNC_BENCH_BACKENDS: unknown backend"))
            .filter(|b| all.contains(b))
            .collect(),
        _ => all,
    }
}

/// Time this thread spent on a CPU (`/proc/thread-self/schedstat`, field 1, ns): on a shared
/// machine, time slices lost to other processes do not count, so the figure approximates an
/// uncontended core better than wall time (SMT/cache contention still shows).
struct ThreadCpuTime;

impl ThreadCpuTime {
    fn now() -> u64 {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
        s.split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .expect("schedstat format")
    }
}

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => n,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Bits(n) => n,
        } as f64;
        for v in values {
            *v = n * 1e9 / *v / 1e3;
        }
        "Kelem/s (cpu)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        Self::now()
    }
    fn end(&self, start: u64) -> u64 {
        Self::now().saturating_sub(start).max(1)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

/// One thread (pin it with `taskset`): every backend and the `pbkdf2` crate, iterations
/// 100 and 1000, batch sizes 1, 7, 64, 1024. `prefix` names the clock (`single` = wall
/// time, `single-cpu` = thread CPU time).
fn single<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let backends = backends();
    for iterations in [100u32, 1000] {
        let mut g = c.benchmark_group(format!("{prefix}/it{iterations}"));
        g.warm_up_time(Duration::from_millis(300));
        for batch in [1usize, 7, 64, 1024] {
            let (keys, salts) = inputs(batch);
            let mut out = vec![[0u8; OUT_LEN]; batch];
            // Flat sampling, 10 samples of ≥ ~100 ms each: per-sample figures are comparable
            // (median / max in `summarize.py`) and long enough for the thread-CPU clock,
            // whose resolution is the scheduler tick.
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .measurement_time(Duration::from_millis(1000));
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(BenchmarkId::new("pbkdf2-crate", batch), |b| {
                b.iter(|| pbkdf2_crate(black_box(&keys), black_box(&salts), iterations, &mut out))
            });
            for &backend in &backends {
                g.bench_function(BenchmarkId::new(backend.name(), batch), |b| {
                    b.iter(|| {
                        kdf::derive_many_with(
                            backend,
                            black_box(&keys),
                            black_box(&salts),
                            iterations,
                            &mut out,
                        )
                        .expect("available")
                    })
                });
            }
        }
        g.finish();
    }
}

/// Verifiers per `compress` sample (a multiple of every lane width) and the work per verifier.
const COMPRESS_BATCH: usize = 256;
const COMPRESS_ITERATIONS: u32 = 1000;
const COMPRESSIONS_PER_VERIFIER: u64 = 2 * COMPRESS_ITERATIONS as u64 + 2;

/// A tape-sha256 chain kernel: `out[i]` = SHA-256 applied `lens[i]` times to `seeds[i]`.
type TapeChains = fn(&[[u8; 32]], &[u64], &mut [[u8; 32]]);

/// tape-sha256 0.2.2's hash-chain kernels this CPU can run, by name. A chain step is one
/// compression of a 32-byte message with constant padding — the shape of a PBKDF2 iteration's
/// compressions — so its compressions/s is the like-for-like reference.
fn tape_kernels() -> Vec<(&'static str, TapeChains)> {
    let mut k: Vec<(&'static str, TapeChains)> =
        vec![("tape-auto", |s, l, o| tape_sha256::hash_chains(s, l, o))];
    #[cfg(target_arch = "x86_64")]
    {
        use tape_sha256::backends::chains;
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: AVX-512F and AVX-512BW were detected just above (tape's requirement).
            k.push(("tape-avx512-16x2", |s, l, o| unsafe {
                chains::avx512_16x2(s, l, o)
            }));
            // SAFETY: as above.
            k.push(("tape-avx512-16", |s, l, o| unsafe {
                chains::avx512_16(s, l, o)
            }));
        }
        if std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse4.1")
        {
            // SAFETY: SHA-NI, SSSE3 (implied by SSE4.1) and SSE4.1 were detected just above.
            k.push(("tape-shani-x4", |s, l, o| unsafe {
                chains::shani_x4(s, l, o)
            }));
        }
    }
    k
}

/// SHA-256 compressions per second, side by side in one run: every phsync backend and the
/// `pbkdf2` crate on [`COMPRESS_BATCH`] verifiers × 1000 iterations, and tape-sha256's chain
/// kernels on 64 chains of the same total length (criterion's elements = compressions).
fn compress<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let mut g = c.benchmark_group(format!("{prefix}/it{COMPRESS_ITERATIONS}"));
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    let (keys, salts) = inputs(COMPRESS_BATCH);
    let mut out = vec![[0u8; OUT_LEN]; COMPRESS_BATCH];
    let total = COMPRESS_BATCH as u64 * COMPRESSIONS_PER_VERIFIER;
    g.throughput(Throughput::Elements(total));
    let batch = COMPRESS_BATCH.to_string();
    g.bench_function(BenchmarkId::new("pbkdf2-crate", &batch), |b| {
        b.iter(|| {
            pbkdf2_crate(
                black_box(&keys),
                black_box(&salts),
                COMPRESS_ITERATIONS,
                &mut out,
            )
        })
    });
    for backend in backends() {
        g.bench_function(BenchmarkId::new(backend.name(), &batch), |b| {
            b.iter(|| {
                kdf::derive_many_with(
                    backend,
                    black_box(&keys),
                    black_box(&salts),
                    COMPRESS_ITERATIONS,
                    &mut out,
                )
                .expect("available")
            })
        });
    }
    let chains = 64;
    let seeds: Vec<[u8; 32]> = (0..chains).map(|i| [i as u8 ^ 0x5a; 32]).collect();
    let lens = vec![total / chains as u64; chains];
    let mut digests = vec![[0u8; 32]; chains];
    for (name, kernel) in tape_kernels() {
        g.bench_function(BenchmarkId::new(name, &batch), |b| {
            b.iter(|| kernel(black_box(&seeds), black_box(&lens), &mut digests))
        });
    }
    g.finish();
}

/// 1 thread vs all cores: rayon over chunks of 64, 1000 iterations, the selected backend
/// (`derive_many`) and the `pbkdf2` crate.
fn threads(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = 256;
    let mut g = c.benchmark_group("threads/it1000");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for threads in counts {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let n = per_thread * threads;
        let (keys, salts) = inputs(n);
        let mut out = vec![[0u8; OUT_LEN]; n];
        g.throughput(Throughput::Elements(n as u64));
        let name = format!("core-{}", Backend::selected());
        g.bench_function(BenchmarkId::new(name, format!("{threads}t")), |b| {
            b.iter(|| {
                pool.install(|| {
                    keys.par_chunks(64)
                        .zip(salts.par_chunks(64))
                        .zip(out.par_chunks_mut(64))
                        .for_each(|((k, s), o)| kdf::derive_many(k, s, 1000, o));
                })
            })
        });
        g.bench_function(
            BenchmarkId::new("pbkdf2-crate", format!("{threads}t")),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        keys.par_chunks(64)
                            .zip(salts.par_chunks(64))
                            .zip(out.par_chunks_mut(64))
                            .for_each(|((k, s), o)| pbkdf2_crate(k, s, 1000, o));
                    })
                })
            },
        );
    }
    g.finish();
}

fn main() {
    let mut wall = Criterion::<WallTime>::default().configure_from_args();
    single(&mut wall, "single");
    threads(&mut wall);
    compress(&mut wall, "compress");
    let mut cpu = Criterion::default()
        .with_measurement(ThreadCpuTime)
        .configure_from_args();
    single(&mut cpu, "single-cpu");
    compress(&mut cpu, "compress-cpu");
    wall.final_summary();
}
