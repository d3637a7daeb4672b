//! Memory and speed of incremental sync at directory scale: N synthetic objects (default 1M)
//! through `DrsSync` into an `SqliteStore`, reporting objects/s, the store's size and the
//! process's peak resident memory (VmHWM).
//!
//! The objects are real ones: the replies of the Samba capture in `tests/fixtures/samba-b`
//! (full cycle, 282 objects), copied over and over with every objectGUID rewritten, so each
//! copy is a new object to the store (users are hashed, with 1 PBKDF2 iteration: this measures
//! the state, not the kernel).
//!
//! ```text
//! cargo bench --features sqlite --bench incremental_state -- [OBJECTS]
//! ```

#[path = "common/mod.rs"]
mod common;
#[path = "common/distinct.rs"]
mod distinct;

use std::path::Path;
use std::time::Instant;

use phsync::Iterations;
use phsync::batch::{DrsSync, Runner, SyncPolicy};
use phsync::drs::{Reply, SessionKey};
use phsync::state::SqliteStore;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samba-b");

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let objects: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURE).join("truth.json")).unwrap(),
    )
    .unwrap();
    let key = SessionKey::from_hex(truth["session_key_hex"].as_str().unwrap()).unwrap();
    let templates: Vec<distinct::Template> = truth["phases"][0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            distinct::Template::new(
                std::fs::read(Path::new(FIXTURE).join(f.as_str().unwrap())).unwrap(),
            )
        })
        .collect();
    let per_cycle: usize = templates.iter().map(|t| t.objects).sum();
    let cycles = objects.div_ceil(per_cycle);

    let dir = std::env::temp_dir().join(format!("phsync-incremental-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let hwm_before = vm_hwm_kib();
    let started = Instant::now();
    let runner = Runner::new(SyncPolicy {
        iterations: Iterations::new(1).unwrap(),
        ..SyncPolicy::default()
    });
    let mut sync = DrsSync::new(SqliteStore::open(&db).unwrap(), vec![key]);
    let replies = (0..cycles as u32).flat_map(|c| {
        templates
            .iter()
            .map(move |t| Ok::<_, String>(Reply::decode(&t.copy_bytes(c)).unwrap()))
    });
    let mut synced = 0u64;
    let report = sync
        .run(&runner, replies, |o| {
            synced += u64::from(o.verifier().is_some())
        })
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let stored = sync.store().object_count().unwrap();
    drop(sync);
    let size: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let cpu = common::cpu_model();
    println!("incremental_state: {cpu}");
    println!(
        "incremental_state: {} objects ({} replies, {synced} synced) into SQLite in {secs:.1} s \
         ({:.0} objects/s); {stored} records, store {:.0} MiB; peak RSS {} MiB (before the run {} MiB)",
        report.summary.total,
        report.replies,
        report.summary.total as f64 / secs,
        size as f64 / 1048576.0,
        vm_hwm_kib() / 1024,
        hwm_before / 1024,
    );
    let _ = std::fs::remove_dir_all(&dir);
}
