//! `phsync hash --state` at directory scale, through the built command: N pwdump lines (default
//! 1M, random NT hashes) into a new SQLite store, then the same file again (every account
//! `unchanged`), reporting lines/s, the store's size and the command's peak resident memory
//! (its own `VmHWM`, which it prints in its summary).
//!
//! ```text
//! cargo bench --features cli --bench hash_state -- [LINES] [ITERATIONS]
//! ```

#[path = "common/mod.rs"]
mod common;

use std::io::{BufWriter, Write};
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_phsync");

/// xorshift64*: reproducible filler, not secrets.
struct Filler(u64);

impl Filler {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One run of the command: (seconds, the summary line it printed).
fn run(args: &[&str]) -> (f64, String) {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run phsync");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "phsync failed: {stderr}");
    let summary = stderr
        .lines()
        .rfind(|l| l.contains(" lines in "))
        .unwrap_or_default()
        .to_owned();
    (secs, summary)
}

fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let lines = numbers.first().copied().unwrap_or(1_000_000);
    let iterations = numbers.get(1).copied().unwrap_or(1000).to_string();
    let dir = std::env::temp_dir().join(format!("phsync-hash-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("ntds.txt");
    let db = dir.join("state.db");
    {
        let mut w = BufWriter::new(std::fs::File::create(&input).unwrap());
        let mut f = Filler(0x9e37_79b9_7f4a_7c15);
        for i in 0..lines {
            writeln!(
                w,
                "CORP\\user{i}:{}:aad3b435b51404eeaad3b435b51404ee:{:016x}{:016x}:::",
                1000 + i,
                f.next(),
                f.next()
            )
            .unwrap();
        }
        w.flush().unwrap();
    }
    let cpu = common::cpu_model();
    println!("hash_state: {cpu}, {lines} lines, {iterations} iterations");
    let args = [
        "hash",
        "--iterations",
        &iterations,
        "--state",
        db.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    for round in ["first run (all synced)", "second run (all unchanged)"] {
        let (secs, summary) = run(&args);
        let size: u64 = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                let name = e.file_name();
                let name = name.to_str()?;
                if name.starts_with("state.db") {
                    Some(e.metadata().ok()?.len())
                } else {
                    None
                }
            })
            .sum();
        println!(
            "hash_state: {round}: {:.1} s, {:.0} lines/s, store {:.0} MiB\n    {summary}",
            secs,
            lines as f64 / secs,
            size as f64 / 1048576.0
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
