//! An object that comes again in the same run (a full replication replayed twice, a delta
//! after the full cycle it changes, an object re-sent because it changed during replication)
//! is decided on what its earlier copy's outcome made of it, however far the pipeline had got:
//! the outcomes of a run never depend on chunk sizes, threads or timing.
//!
//! Real data: the Samba capture of `tests/fixtures/samba-b/` (a full cycle, then two deltas
//! after real directory changes).

use phsync::Iterations;
use phsync::batch::{DrsSync, Identity, Outcome, OutcomeSink, Runner, SyncPolicy};
use phsync::drs::SessionKey;
use phsync::state::{MemoryStore, StateStore};
use serde_json::Value;

use crate::common::{incremental_files, incremental_truth as truth};

fn key(t: &Value) -> SessionKey {
    SessionKey::from_hex(t["session_key_hex"].as_str().unwrap()).unwrap()
}

fn policy() -> SyncPolicy {
    SyncPolicy {
        iterations: Iterations::new(2).unwrap(),
        ..SyncPolicy::default()
    }
}

/// The phases' reply files (undecoded `[out]` stubs), in order.
fn stubs(t: &Value, phases: &[&str]) -> Vec<Vec<u8>> {
    phases
        .iter()
        .flat_map(|p| incremental_files(t, p))
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

struct Collect(Vec<Outcome>);

impl OutcomeSink for &mut Collect {
    fn outcome(&mut self, o: Outcome) {
        self.0.push(o);
    }
}

type Shape = Vec<(&'static str, Option<&'static str>, Identity)>;

/// What a run did, without the random salts.
fn shape(out: &[Outcome]) -> Shape {
    out.iter()
        .map(|o| (o.kind(), o.reason(), o.identity().clone()))
        .collect()
}

/// One run over `input` into `store`, `chunk` accounts per chunk; the outcomes.
fn run<S: StateStore>(store: S, t: &Value, input: Vec<Vec<u8>>, chunk: usize) -> (S, Shape) {
    let mut sync = DrsSync::new(store, vec![key(t)]);
    let runner = Runner::new(policy()).chunk_size(chunk);
    let mut out = Collect(Vec::new());
    let report = sync
        .run_stubs_to(&runner, input.into_iter().map(Ok::<_, String>), &mut out)
        .unwrap();
    assert_eq!(report.summary.total as usize, out.0.len());
    (sync.into_store(), shape(&out.0))
}

#[test]
fn a_full_cycle_replayed_in_the_same_run_is_unchanged_the_second_time() {
    let t = truth();
    let full = stubs(&t, &["full"]);
    // The reference: two runs, the second on the store the first left.
    let (store, first) = run(MemoryStore::new(), &t, full.clone(), 4096);
    let (_, second) = run(store, &t, full.clone(), 4096);
    let synced_first = first.iter().filter(|s| s.0 == "synced").count();
    assert!(synced_first >= 5, "{synced_first} synced");
    assert!(second.iter().all(|s| s.0 != "synced"), "{second:?}");
    let mut want = first.clone();
    want.extend(second.iter().cloned());
    // The same input in one run, with everything in one chunk (the second copy of each object
    // is read while the first is still waiting to be hashed), and in chunks of every size
    // down to one object.
    let twice: Vec<Vec<u8>> = full.iter().chain(&full).cloned().collect();
    for chunk in [100_000, 4096, 64, 5, 1] {
        let (store, got) = run(MemoryStore::new(), &t, twice.clone(), chunk);
        assert_eq!(got, want, "chunk size {chunk}");
        assert!(store.watermark().unwrap().is_some());
    }
}

#[test]
fn a_history_in_one_run_gives_the_same_outcomes_at_every_chunk_size() {
    let t = truth();
    // The full cycle and both deltas, three times over: every object comes again, and the
    // deltas' users again after their earlier copy synced or was skipped.
    let phases = ["full", "delta-1", "delta-2"];
    let input: Vec<Vec<u8>> = (0..3).flat_map(|_| stubs(&t, &phases)).collect();
    let (_, want) = run(MemoryStore::new(), &t, input.clone(), 1);
    for chunk in [100_000, 4096, 7, 2] {
        let (_, got) = run(MemoryStore::new(), &t, input.clone(), chunk);
        assert_eq!(got, want, "chunk size {chunk}");
    }
}
