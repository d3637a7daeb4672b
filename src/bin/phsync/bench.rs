//! `phsync bench`: how fast this machine makes verifiers — every hashing kernel this CPU runs
//! and the `pbkdf2` crate (RustCrypto) in one process, then the selected kernel on 1…N
//! threads. For sizing sync servers; the project's own figures are criterion benchmarks
//! (`cargo bench`, BENCHMARKS.md).

use std::time::{Duration, Instant};

use clap::Args;
use phsync::kdf::{self, Backend, KEY_LEN, OUT_LEN, SALT_LEN};

use crate::Status;

#[derive(Args)]
pub struct BenchArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Threads for the scaling run (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// PBKDF2 iterations per verifier.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
}

const BATCH: usize = 64;

fn inputs() -> (Vec<[u8; KEY_LEN]>, Vec<[u8; SALT_LEN]>) {
    let keys = (0..BATCH)
        .map(|i| std::array::from_fn(|j| (i * 31 + j) as u8))
        .collect();
    let salts = (0..BATCH)
        .map(|i| std::array::from_fn(|j| (i * 7 + j) as u8))
        .collect();
    (keys, salts)
}

/// Verifiers per second of `work` (which makes `per_call` verifiers) over `seconds`.
fn rate(seconds: f64, per_call: usize, mut work: impl FnMut()) -> f64 {
    work(); // warm-up
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < budget {
        work();
        calls += 1;
    }
    (calls as f64 * per_call as f64) / started.elapsed().as_secs_f64()
}

fn backend_rate(backend: Backend, seconds: f64, iterations: u32) -> f64 {
    let (keys, salts) = inputs();
    let mut out = vec![[0u8; OUT_LEN]; BATCH];
    rate(seconds, BATCH, || {
        let _ = kdf::derive_many_with(backend, &keys, &salts, iterations, &mut out);
    })
}

fn reference_rate(seconds: f64, iterations: u32) -> f64 {
    let (keys, salts) = inputs();
    let mut out = [0u8; OUT_LEN];
    let mut i = 0;
    rate(seconds, 1, || {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            &keys[i % BATCH],
            &salts[i % BATCH],
            iterations,
            &mut out,
        );
        i += 1;
    })
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|n| n.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// `phsync bench`.
pub fn run(args: BenchArgs) -> Status {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 600.0) {
        eprintln!("phsync: --seconds must be in (0, 600]");
        return Status::Usage;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores).clamp(1, 1024);
    let selected = Backend::selected();
    println!(
        "phsync bench: {} ({cores} cores), {} iterations, batches of {BATCH}, {:.1} s each",
        cpu_name(),
        args.iterations,
        args.seconds
    );
    let sel = kdf::selection();
    let why = match sel.reason {
        kdf::SelectionReason::Forced => format!("forced by {}", kdf::BACKEND_ENV),
        kdf::SelectionReason::Calibrated => {
            let times: Vec<String> = sel
                .calibration
                .iter()
                .map(|(b, t)| format!("{} {:.2} ms", b.name(), t.as_secs_f64() * 1e3))
                .collect();
            format!("fastest in the start-up calibration: {}", times.join(", "))
        }
        _ => "the only eligible kernel on this CPU".to_owned(),
    };
    println!("selected kernel: {} ({why})", selected.name());
    if let Some(problem) = &sel.override_problem {
        println!("  {problem}; the detected kernel is used instead");
    }
    for b in &sel.self_test_failures {
        println!(
            "  {} failed its known-answer self-test on this CPU and is never used",
            b.name()
        );
    }
    let reference = reference_rate(args.seconds, args.iterations);
    println!();
    println!(
        "{:<24} {:>12} {:>10}",
        "one thread", "verifiers/s", "x pbkdf2"
    );
    println!("{:<24} {:>12.0} {:>10.2}", "pbkdf2 crate", reference, 1.0);
    for backend in Backend::available() {
        let r = backend_rate(backend, args.seconds, args.iterations);
        let mark = if backend == selected { " *" } else { "" };
        println!(
            "{:<24} {:>12.0} {:>10.2}",
            format!("{}{mark}", backend.name()),
            r,
            r / reference
        );
    }
    println!();
    println!(
        "{:<24} {:>12} {:>10}",
        format!("threads ({})", selected.name()),
        "verifiers/s",
        "x 1 thread"
    );
    let mut one = 0.0;
    for n in 1..=threads {
        let total: f64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|_| s.spawn(|| backend_rate(selected, args.seconds, args.iterations)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
        });
        if n == 1 {
            one = total;
        }
        println!("{:<24} {:>12.0} {:>10.2}", n, total, total / one);
    }
    Status::Ok
}
