//! The library's DRS pipeline in a few lines: captured replies → `DrsSync` (merging each
//! object with the state store) → one outcome per object. The `phsync` command (feature `cli`)
//! is this plus options, progress and JSON output.
//!
//! ```text
//! cargo run --example drs_sync
//! ```

use phsync::batch::{DrsSync, Runner, SyncPolicy};
use phsync::drs::{Reply, SessionKey};
use phsync::state::MemoryStore;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samba-b");
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/truth.json"))?)?;
    let key = SessionKey::from_hex(truth["session_key_hex"].as_str().unwrap_or_default())?;
    // A full replication, then two incremental cycles, as a sync engine polls.
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key]);
    let runner = Runner::new(SyncPolicy::default());
    for phase in truth["phases"].as_array().into_iter().flatten() {
        let replies = phase["replies"].as_array().into_iter().flatten().map(|f| {
            let bytes = std::fs::read(format!("{dir}/{}", f.as_str().unwrap_or_default()))
                .map_err(|e| e.to_string())?;
            Reply::decode(&bytes).map_err(|e| e.to_string())
        });
        let report = sync.run(&runner, replies, |outcome| {
            if outcome.kind() != "skipped" || outcome.reason() != Some("not_a_user") {
                println!(
                    "{:<10} {:<22} {:<8} {}",
                    phase["name"].as_str().unwrap_or_default(),
                    outcome
                        .identity()
                        .sam_account_name
                        .as_deref()
                        .unwrap_or("-"),
                    outcome.kind(),
                    outcome.reason().unwrap_or("")
                );
            }
        })?;
        println!(
            "{}: {} objects, {} objects stored",
            phase["name"].as_str().unwrap_or_default(),
            report.summary.total,
            sync.store().len()
        );
    }
    Ok(())
}
