//! The whole pipeline's scaling over cores, through the built command: `phsync replay` over the
//! real Samba capture (`tests/fixtures/samba-a/`, the whole NC: 282 objects, 11 synced)
//! copied N times with every objectGUID rewritten, so that each copy is new objects, as in one
//! sync cycle of a large domain (default 400: 112,800 objects, 4,400 verifiers), pinned with
//! `taskset` to 1, 2, … cores. Rounds interleave the core counts, so a host whose speed drifts (a VM's
//! neighbours) affects every count alike; the medians, their ratios and the median of each
//! round's own ratio are printed.
//!
//! ```text
//! cargo bench --features cli --bench pipeline -- [COPIES] [ROUNDS]
//! PHSYNC_BACKEND=avx512-x16 cargo bench --features cli --bench pipeline   # one kernel throughout
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/distinct.rs"]
mod distinct;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_phsync");
const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/samba-a/bin/samba-krb5-nc"
);
/// The capture's session key (`tests/fixtures/samba-a/truth.json`; public test data).
const KEY: &str = "47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let copies = numbers.first().copied().unwrap_or(400);
    let rounds = numbers.get(1).copied().unwrap_or(7).max(1);
    if Command::new("taskset").arg("-V").output().is_err() {
        println!("pipeline: taskset (util-linux) is not installed; nothing measured");
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = std::env::temp_dir().join(format!("phsync-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.hex");
    std::fs::write(&key_file, KEY).unwrap();
    let mut replies: Vec<PathBuf> = std::fs::read_dir(CAPTURE)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    replies.sort();
    let templates: Vec<distinct::Template> = replies
        .iter()
        .map(|p| distinct::Template::new(std::fs::read(p).unwrap()))
        .collect();
    let mut files: Vec<PathBuf> = Vec::with_capacity(copies * replies.len());
    for c in 0..copies {
        for (i, t) in templates.iter().enumerate() {
            let file = dir.join(format!("copy{c:05}-{i}.bin"));
            std::fs::write(&file, t.copy_bytes(c as u32)).unwrap();
            files.push(file);
        }
    }
    let cpu = common::cpu_model();
    println!(
        "pipeline: {cpu}, {cores} cores; {copies} × the capture ({} replies), {rounds} rounds; \
         PHSYNC_BACKEND={}",
        replies.len(),
        std::env::var("PHSYNC_BACKEND").unwrap_or_else(|_| "(calibrated)".into())
    );
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cores];
    for _ in 0..rounds {
        for (k, t) in times.iter_mut().enumerate() {
            let cpus = format!("0-{k}");
            let started = Instant::now();
            let status = Command::new("taskset")
                .args(["-c", &cpus, BIN, "replay", "-q", "--session-key-file"])
                .arg(&key_file)
                .args(&files)
                .stdout(Stdio::null())
                .status()
                .expect("run phsync");
            assert!(status.success(), "phsync replay failed");
            t.push(started.elapsed().as_secs_f64());
        }
    }
    let objects = copies * templates.iter().map(|t| t.objects).sum::<usize>();
    let one = median(times[0].clone());
    for (k, t) in times.iter().enumerate() {
        let m = median(t.clone());
        // The median of each round's own ratio too: a drifting host moves both runs of a
        // round alike, so the paired ratio is steadier than the ratio of the medians.
        let paired = median(times[0].iter().zip(t).map(|(a, b)| a / b).collect());
        println!(
            "pipeline: {} core(s): median {:.3} s, {:.0} objects/s, {:.2}× one core \
             (paired: {paired:.2}×)",
            k + 1,
            m,
            objects as f64 / m,
            one / m
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
