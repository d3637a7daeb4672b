//! Incremental sync on real data: a full replication, then two incremental cycles, captured on
//! one connection from a Samba AD DC after real directory changes (`tests/fixtures/samba-b/`,
//! written by `tests/interop/run.sh` and `tools/bundle_incremental_fixture.py`).
//!
//! The deltas carry only the changed attributes (a password change: `unicodePwd`,
//! `pwdLastSet` and the other secrets; a disable: `userAccountControl`; a delete: the cleared
//! secrets under a deletion-mangled name). Every expectation comes from the harness: what it
//! changed, the new passwords and their MD4, computed independently of phsync.

use std::collections::HashMap;

use phsync::batch::{DrsSync, HeldBack, Outcome, Runner, SyncPolicy, SyncReport};
use phsync::drs::{Guid, Reply, SessionKey};
#[cfg(feature = "sqlite")]
use phsync::state::SqliteStore;
use phsync::state::{MemoryStore, StateError, StateStore};
use phsync::{Iterations, NtHash};
use serde_json::Value;

use crate::common::{incremental_files, incremental_phase, incremental_truth as truth};

fn key(t: &Value) -> SessionKey {
    SessionKey::from_hex(t["session_key_hex"].as_str().unwrap()).unwrap()
}

/// The phase's replies, decoded.
fn replies(t: &Value, phase: &str) -> Vec<Reply> {
    incremental_files(t, phase)
        .iter()
        .map(|f| Reply::decode(&std::fs::read(f).unwrap()).unwrap())
        .collect()
}

fn changes(t: &Value, phase: &str) -> Vec<Value> {
    incremental_phase(t, phase)["changes"]
        .as_array()
        .unwrap()
        .clone()
}

fn policy() -> SyncPolicy {
    SyncPolicy {
        iterations: Iterations::new(3).unwrap(),
        ..SyncPolicy::default()
    }
}

fn run_phase<S: StateStore>(
    sync: &mut DrsSync<S>,
    policy: SyncPolicy,
    replies: Vec<Reply>,
) -> (Vec<Outcome>, SyncReport) {
    let runner = Runner::new(policy).chunk_size(5);
    let mut out = Vec::new();
    let report = sync
        .run(&runner, replies.into_iter().map(Ok::<_, String>), |o| {
            out.push(o)
        })
        .unwrap();
    (out, report)
}

fn by_guid(out: &[Outcome]) -> HashMap<String, &Outcome> {
    out.iter()
        .filter_map(|o| o.identity().object_guid.clone().map(|g| (g, o)))
        .collect()
}

/// Every change of `phase` has the outcome the harness prescribes; synced verifiers verify
/// the harness's MD4 of the new password (and the password itself).
fn check_changes(t: &Value, phase: &str, out: &[Outcome], force: bool) {
    let got = by_guid(out);
    let changes = changes(t, phase);
    assert!(!changes.is_empty());
    for c in &changes {
        let sam = c["sam_account_name"].as_str().unwrap();
        let o = got
            .get(c["object_guid"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{phase}: {sam} has no outcome"));
        let ctx = format!("{phase}: {sam} ({})", c["change"]);
        assert_eq!(o.identity().sam_account_name.as_deref(), Some(sam), "{ctx}");
        let (want_kind, want_reason) = match (c["reason"].as_str(), force) {
            (Some("temporary_password"), true) => ("synced", None),
            (reason, _) => (c["outcome"].as_str().unwrap(), reason),
        };
        assert_eq!((o.kind(), o.reason()), (want_kind, want_reason), "{ctx}");
        if want_kind == "synced" {
            let v = o.verifier().unwrap();
            let nt = NtHash::from_hex(c["nt_hash"].as_str().unwrap()).unwrap();
            assert!(v.verify_nt_hash(&nt), "{ctx}: verifier of the new NT hash");
            assert!(v.verify_password(c["password"].as_str().unwrap()), "{ctx}");
            assert_eq!(
                o.must_change_password(),
                c["must_change"].as_bool().unwrap(),
                "{ctx}"
            );
        }
    }
}

fn no_not_a_user_among_users(phase: &str, out: &[Outcome]) {
    for o in out {
        assert_ne!(
            o.reason(),
            Some("not_a_user"),
            "{phase}: {:?}",
            o.identity()
        );
    }
}

fn full_then_deltas<S: StateStore>(store: S, force: bool) -> S {
    let t = truth();
    let mut sync = DrsSync::new(store, vec![key(&t)]);
    let policy = SyncPolicy {
        force_password_change_on_logon: force,
        ..policy()
    };

    let full = replies(&t, "full");
    let last_full = full.last().unwrap().usn_vec_to();
    let (out, report) = run_phase(&mut sync, policy.clone(), full);
    assert_eq!(report.held_back, None);
    assert_eq!(report.watermark.unwrap().usn_vec_to, last_full);
    let accounts = t["accounts_before_deltas"].as_array().unwrap();
    let got = by_guid(&out);
    let mut plain_synced = 0;
    for a in accounts {
        let o = got[a["object_guid"].as_str().unwrap()];
        if a["role"] == "plain" || a["role"] == "history" {
            let nt = NtHash::from_hex(a["nt_hash"].as_str().unwrap()).unwrap();
            assert!(o.verifier().unwrap().verify_nt_hash(&nt));
            plain_synced += 1;
        }
    }
    assert_eq!(plain_synced, 2);

    let delta1 = replies(&t, "delta-1");
    let last1 = delta1.last().unwrap().usn_vec_to();
    let (out, report) = run_phase(&mut sync, policy.clone(), delta1);
    assert_eq!(out.len(), 3);
    no_not_a_user_among_users("delta-1", &out);
    check_changes(&t, "delta-1", &out, force);
    assert_eq!(report.held_back, None);
    assert_eq!(sync.store().watermark().unwrap().unwrap().usn_vec_to, last1);

    let (out, report) = run_phase(&mut sync, policy.clone(), replies(&t, "delta-2"));
    assert_eq!(out.len(), 6);
    no_not_a_user_among_users("delta-2", &out);
    check_changes(&t, "delta-2", &out, force);
    // The enabled account's password never reached the cloud and the delta does not carry it:
    // reported as failed, and the watermark stays before this reply so it is asked again.
    assert_eq!(
        report.held_back,
        Some(HeldBack::FailedObjects {
            index: 0,
            failed: 1
        })
    );
    assert_eq!(sync.store().watermark().unwrap().unwrap().usn_vec_to, last1);
    // A failure leaves the object's record as it was (still disabled), while the other
    // objects of the same reply were stored (the replay below finds them unchanged).
    let enabled = changes(&t, "delta-2")
        .into_iter()
        .find(|c| c["outcome"] == "failed")
        .unwrap();
    let guid: Guid = enabled["object_guid"].as_str().unwrap().parse().unwrap();
    let record = sync.store().get(&guid).unwrap().unwrap();
    assert_ne!(record.user_account_control.unwrap() & 0x2, 0, "{record:?}");

    // Replaying the same delta: the synced passwords are now unchanged.
    let (again, _) = run_phase(&mut sync, policy, replies(&t, "delta-2"));
    for c in changes(&t, "delta-2") {
        let o = by_guid(&again)[c["object_guid"].as_str().unwrap()];
        if c["outcome"] == "synced" {
            assert_eq!(o.reason(), Some("unchanged"), "{}", c["sam_account_name"]);
        }
    }
    sync.into_store()
}

#[test]
fn full_then_two_deltas_memory_store() {
    let store = full_then_deltas(MemoryStore::new(), false);
    assert!(store.len() >= 282);
}

#[test]
fn full_then_two_deltas_force_change_password() {
    full_then_deltas(MemoryStore::new(), true);
}

#[test]
#[cfg(feature = "sqlite")]
fn full_then_two_deltas_sqlite_store_reopened_between_runs() {
    let dir = crate::common::scratch_dir("sqlite-phases");
    let path = dir.join("state.db");
    let t = truth();
    let policy = policy();
    for phase in ["full", "delta-1", "delta-2"] {
        // A new process each time: reopen the file.
        let store = SqliteStore::open(&path).unwrap();
        let mut sync = DrsSync::new(store, vec![key(&t)]);
        let (out, _) = run_phase(&mut sync, policy.clone(), replies(&t, phase));
        if phase != "full" {
            no_not_a_user_among_users(phase, &out);
            check_changes(&t, phase, &out, false);
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.object_count().unwrap() >= 283);
    let last1 = replies(&t, "delta-1").last().unwrap().usn_vec_to();
    assert_eq!(store.watermark().unwrap().unwrap().usn_vec_to, last1);
}

#[test]
fn one_run_over_full_and_deltas_merges_in_flight_objects() {
    let t = truth();
    let mut all = replies(&t, "full");
    all.extend(replies(&t, "delta-1"));
    all.extend(replies(&t, "delta-2"));
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    // Chunks of 5 read ahead of what was committed: the deltas' objects must see the full
    // cycle's records before they are committed.
    let (out, report) = run_phase(&mut sync, policy(), all);
    let full_objects: usize = replies(&t, "full").iter().map(|r| r.objects().len()).sum();
    let deltas = &out[full_objects..];
    assert_eq!(deltas.len(), 9);
    no_not_a_user_among_users("deltas", deltas);
    check_changes(&t, "delta-1", &deltas[..3], false);
    check_changes(&t, "delta-2", &deltas[3..], false);
    assert_eq!(report.committed, 8);
}

#[test]
fn delta_without_state_is_unknown_object_never_not_a_user() {
    let t = truth();
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let (out, report) = run_phase(&mut sync, policy(), replies(&t, "delta-1"));
    let got = by_guid(&out);
    for c in changes(&t, "delta-1") {
        let o = got[c["object_guid"].as_str().unwrap()];
        if c["change"] == "created" {
            // A new object arrives whole: it can be decided without state.
            assert_eq!(o.kind(), "synced");
        } else {
            assert_eq!((o.kind(), o.reason()), ("failed", Some("unknown_object")));
        }
    }
    assert!(matches!(
        report.held_back,
        Some(HeldBack::FailedObjects { failed: 2, .. })
    ));
    assert!(sync.store().watermark().unwrap().is_none());
}

/// Reply 2 of the full cycle was unreadable: the watermark is the one after reply 1, the last
/// before the gap, and the report says why.
fn held_before_reply_2(t: &Value, report: &SyncReport, sync: &DrsSync<MemoryStore>) {
    assert!(matches!(
        report.held_back,
        Some(HeldBack::Unreadable { index: 2, .. })
    ));
    let after1 = replies(t, "full")[1].usn_vec_to();
    assert_eq!(
        sync.store().watermark().unwrap().unwrap().usn_vec_to,
        after1
    );
}

#[test]
fn unreadable_reply_holds_the_watermark_and_later_replies_still_run() {
    let t = truth();
    let full = replies(&t, "full");
    let n = full.len();
    let mut input: Vec<Result<Reply, String>> = full.into_iter().map(Ok).collect();
    input[2] = Err("reply-002.bin: truncated".into());
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let runner = Runner::new(policy()).chunk_size(5);
    let mut out = Vec::new();
    let report = sync.run(&runner, input, |o| out.push(o)).unwrap();
    assert_eq!(report.replies, n);
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.committed, n);
    held_before_reply_2(&t, &report, &sync);
    // Later replies' objects were still processed.
    assert!(out.len() > 100);
}

#[test]
fn failed_sink_flush_commits_nothing_more() {
    struct Failing(usize, Vec<Outcome>);
    impl phsync::batch::OutcomeSink for &mut Failing {
        fn outcome(&mut self, o: Outcome) {
            self.1.push(o);
        }
        fn flush(&mut self) -> std::io::Result<()> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= 1;
            Ok(())
        }
    }
    let t = truth();
    let full = replies(&t, "full");
    let after1 = full[1].usn_vec_to();
    let mut sink = Failing(2, Vec::new());
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let err = sync
        .run_to(
            &Runner::new(policy()).chunk_size(5),
            full.into_iter().map(Ok::<_, String>),
            &mut sink,
        )
        .unwrap_err();
    assert!(matches!(err, StateError::Sink(_)), "{err}");
    assert_eq!(sync.store().commits(), 2);
    assert_eq!(
        sync.store().watermark().unwrap().unwrap().usn_vec_to,
        after1
    );
}
/// A store and a sink writing to one log: the order of outcomes, flushes and commits.
type Log = std::rc::Rc<std::cell::RefCell<Vec<String>>>;

struct LoggedStore(MemoryStore, Log);

impl StateStore for LoggedStore {
    fn get(
        &self,
        guid: &phsync::drs::Guid,
    ) -> Result<Option<phsync::state::ObjectRecord>, StateError> {
        self.0.get(guid)
    }
    fn watermark(&self) -> Result<Option<phsync::state::Watermark>, StateError> {
        self.0.watermark()
    }
    fn commit(
        &mut self,
        objects: &[phsync::state::ObjectUpdate],
        watermark: Option<&phsync::state::Watermark>,
    ) -> Result<(), StateError> {
        let guids: Vec<String> = objects.iter().map(|u| u.guid.to_string()).collect();
        self.1
            .borrow_mut()
            .push(format!("commit {}", guids.join(" ")));
        self.0.commit(objects, watermark)
    }
}

struct LoggedSink(Log);

impl phsync::batch::OutcomeSink for LoggedSink {
    fn outcome(&mut self, o: Outcome) {
        let guid = o.identity().object_guid.clone().unwrap_or_default();
        self.0.borrow_mut().push(format!("out {guid}"));
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().push("flush".into());
        Ok(())
    }
}

#[test]
fn a_reply_is_committed_only_after_its_outcomes_were_flushed() {
    let t = truth();
    let mut all = replies(&t, "full");
    all.extend(replies(&t, "delta-1"));
    let n_replies = all.len();
    let log = Log::default();
    let mut sync = DrsSync::new(LoggedStore(MemoryStore::new(), log.clone()), vec![key(&t)]);
    for chunk in [1, 5, 64, 4096] {
        log.borrow_mut().clear();
        let runner = Runner::new(policy()).chunk_size(chunk);
        sync.run_to(
            &runner,
            all.clone().into_iter().map(Ok::<_, String>),
            LoggedSink(log.clone()),
        )
        .unwrap();
        let mut delivered = std::collections::HashSet::new();
        let mut flushed = std::collections::HashSet::new();
        let mut commits = 0;
        let mut previous = "";
        for event in log.borrow().iter() {
            if let Some(guid) = event.strip_prefix("out ") {
                delivered.insert(guid.to_owned());
            } else if event == "flush" {
                flushed.extend(delivered.iter().cloned());
            } else if let Some(guids) = event.strip_prefix("commit") {
                assert!(
                    previous == "flush" || previous.starts_with("commit"),
                    "chunk {chunk}"
                );
                for g in guids.split_whitespace() {
                    assert!(
                        flushed.contains(g),
                        "chunk {chunk}: {g} committed before it was flushed"
                    );
                }
                commits += 1;
            }
            previous = event;
        }
        assert_eq!(commits, n_replies, "chunk {chunk}");
    }
}

/// The reply of an extended operation (`EXOP_REPL_OBJ`: one object fetched out of band, as
/// `phsync sync` does for an object a delta left without its password) updates that object's
/// record but neither sets nor moves the cycle's watermark.
#[test]
fn extended_operation_replies_leave_the_watermark_alone() {
    use crate::common::{capture, capture_key, samba_file, samba_truth};
    let t = samba_truth();
    let load = |id: &str| -> (SessionKey, Vec<Reply>) {
        let c = capture(&t, id);
        let replies = c["replies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Reply::decode(&samba_file(r["file"].as_str().unwrap())).unwrap())
            .collect();
        (capture_key(c), replies)
    };
    let (nc_key, nc) = load("impacket-ntlm-nc");
    let (exop_key, exop) = load("impacket-ntlm-exop");
    assert!(exop.iter().all(|r| r.extended_ret() != 0));
    assert!(nc.iter().all(|r| r.extended_ret() == 0));

    let mut sync = DrsSync::new(MemoryStore::new(), vec![nc_key]);
    let (_, full) = run_phase(&mut sync, policy(), nc.clone());
    let after_full = sync.store().watermark().unwrap().unwrap();
    assert_eq!(Some(&after_full), full.watermark.as_ref());
    assert_eq!(full.reached, full.watermark);

    let mut sync = DrsSync::new(sync.into_store(), vec![exop_key]);
    let (out, report) = run_phase(&mut sync, policy(), exop.clone());
    assert_eq!(out.len(), exop.len(), "one outcome per fetched object");
    assert_eq!(report.committed, exop.len());
    assert_eq!((report.watermark, report.reached), (None, None));
    assert_eq!(sync.store().watermark().unwrap().unwrap(), after_full);
    assert!(
        out.iter().all(|o| !matches!(o, Outcome::Failed { .. })),
        "{out:?}"
    );
}

/// The phase's replies as received: the undecoded `[out]` stubs.
fn stubs(t: &Value, phase: &str) -> Vec<Vec<u8>> {
    incremental_files(t, phase)
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

struct Collect<'a>(&'a mut Vec<Outcome>);

impl phsync::batch::OutcomeSink for Collect<'_> {
    fn outcome(&mut self, o: Outcome) {
        self.0.push(o);
    }
}

/// What a run did, without the random salts.
fn shape(out: &[Outcome]) -> Vec<(&str, Option<&str>, &phsync::batch::Identity)> {
    out.iter()
        .map(|o| (o.kind(), o.reason(), o.identity()))
        .collect()
}

#[test]
fn stubs_decoded_by_the_read_ahead_workers_give_what_decoded_replies_give() {
    let t = truth();
    let phases = ["full", "delta-1", "delta-2"];
    // The whole history three times over: the read-ahead workers take replies in turn, and
    // the outcomes must come back in input order.
    let decoded: Vec<Reply> = (0..3)
        .flat_map(|_| phases.iter().flat_map(|p| replies(&t, p)))
        .collect();
    let encoded: Vec<Vec<u8>> = (0..3)
        .flat_map(|_| phases.iter().flat_map(|p| stubs(&t, p)))
        .collect();
    let runner = Runner::new(policy()).chunk_size(5);

    let mut by_caller = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let (want, want_report) = run_phase(&mut by_caller, policy(), decoded);
    let mut on_workers = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let mut got = Vec::new();
    let report = on_workers
        .run_stubs_to(
            &runner,
            encoded.into_iter().map(Ok::<_, String>),
            Collect(&mut got),
        )
        .unwrap();
    assert_eq!(shape(&got), shape(&want));
    assert_eq!(report, want_report);
    assert_eq!(
        on_workers.store().watermark().unwrap(),
        by_caller.store().watermark().unwrap()
    );
    // The same files read by the workers themselves.
    let files: Vec<_> = (0..3)
        .flat_map(|_| phases.iter().flat_map(|p| incremental_files(&t, p)))
        .collect();
    let mut loaded = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
    let mut by_loads = Vec::new();
    let loads = files.into_iter().map(|f| move || std::fs::read(f));
    let load_report = loaded
        .run_loads_to(&runner, loads, Collect(&mut by_loads))
        .unwrap();
    assert_eq!(shape(&by_loads), shape(&want));
    assert_eq!(load_report, want_report);
    assert_eq!(
        loaded.store().watermark().unwrap(),
        by_caller.store().watermark().unwrap()
    );
    // And the first round's deltas are the harness's changes (verifiers checked).
    let full_objects: usize = replies(&t, "full").iter().map(|r| r.objects().len()).sum();
    check_changes(&t, "delta-1", &got[full_objects..full_objects + 3], false);
    check_changes(
        &t,
        "delta-2",
        &got[full_objects + 3..full_objects + 9],
        false,
    );
}

#[test]
fn a_stub_that_does_not_decode_is_unreadable_and_holds_the_watermark() {
    let t = truth();
    let mut input: Vec<Result<Vec<u8>, String>> = stubs(&t, "full").into_iter().map(Ok).collect();
    // Reply 2 cut short, and reply 3 never read.
    let cut = input[2].as_ref().unwrap()[..100].to_vec();
    input[2] = Ok(cut);
    input[3] = Err("cannot read: gone".into());
    gaps_at_2_and_3(&t, |sync, runner, out| {
        sync.run_stubs_to(runner, input, Collect(out)).unwrap()
    });
}

#[test]
fn a_load_that_fails_or_does_not_decode_is_unreadable_and_holds_the_watermark() {
    let t = truth();
    let mut files = incremental_files(&t, "full");
    let cut = std::env::temp_dir().join(format!("phsync-cut-{}.bin", std::process::id()));
    std::fs::write(&cut, &std::fs::read(&files[2]).unwrap()[..100]).unwrap();
    files[2] = cut.clone();
    // Reply 3's file does not exist: its load fails on the worker.
    files[3] = files[3].with_extension("gone");
    let loads = files.into_iter().map(|f| {
        move || {
            if f.extension().is_some_and(|x| x == "gone") {
                return Err("cannot read: gone".to_owned());
            }
            std::fs::read(&f).map_err(|e| e.to_string())
        }
    });
    gaps_at_2_and_3(&t, |sync, runner, out| {
        sync.run_loads_to(runner, loads, Collect(out)).unwrap()
    });
    std::fs::remove_file(cut).unwrap();
}

/// Runs the full phase with reply 2 cut short and reply 3 unreadable, and checks the report,
/// the watermark and that every other reply gave its outcomes.
fn gaps_at_2_and_3(
    t: &Value,
    run: impl FnOnce(&mut DrsSync<MemoryStore>, &Runner<'_>, &mut Vec<Outcome>) -> SyncReport,
) {
    let n = replies(t, "full").len();
    let mut sync = DrsSync::new(MemoryStore::new(), vec![key(t)]);
    let runner = Runner::new(policy()).chunk_size(5);
    let mut out = Vec::new();
    let report = run(&mut sync, &runner, &mut out);
    assert_eq!(report.replies, n);
    assert_eq!(report.unreadable.len(), 2);
    let (index, error) = &report.unreadable[0];
    assert_eq!(*index, 2);
    assert!(
        error.starts_with("not a GetNCChanges reply: at byte 100 in DRS_MSG_GETCHGREPLY_V6"),
        "{error}"
    );
    assert_eq!(report.unreadable[1], (3, "cannot read: gone".to_owned()));
    held_before_reply_2(t, &report, &sync);
    // The replies after the gaps still gave their outcomes.
    let later: usize = replies(t, "full")[4..]
        .iter()
        .map(|r| r.objects().len())
        .sum();
    let before: usize = replies(t, "full")[..2]
        .iter()
        .map(|r| r.objects().len())
        .sum();
    assert_eq!(out.len(), before + later);
}

/// A run cancelled part-way: `reached` (and the store) go no further than the last reply whose
/// outcomes were all delivered, never to the reply that was being read when the run stopped —
/// `phsync sync` commits `reached` after fetching withheld objects, so a `reached` that ran
/// ahead would skip objects nobody saw.
#[test]
fn a_cancelled_run_reaches_only_replies_delivered_whole() {
    use phsync::batch::CancelToken;
    let t = truth();
    let full = replies(&t, "full");
    let sizes: Vec<usize> = full.iter().map(|r| r.objects().len()).collect();
    let total: usize = sizes.iter().sum();
    for cancel_at in (1..total - 40).step_by(13) {
        let token = CancelToken::new();
        let runner = Runner::new(policy())
            .chunk_size(5)
            .cancel_token(token.clone());
        let mut sync = DrsSync::new(MemoryStore::new(), vec![key(&t)]);
        let mut out = Vec::new();
        let report = sync
            .run(
                &runner,
                full.clone().into_iter().map(Ok::<_, String>),
                |o| {
                    out.push(o);
                    if out.len() >= cancel_at {
                        token.cancel();
                    }
                },
            )
            .unwrap();
        assert!(report.summary.cancelled, "cancel at {cancel_at}");
        // The replies delivered whole: the longest prefix whose objects all have outcomes.
        let mut whole = 0;
        let mut seen = 0;
        while whole < sizes.len() && seen + sizes[whole] <= out.len() {
            seen += sizes[whole];
            whole += 1;
        }
        let reached = report.reached.as_ref().map(|w| w.usn_vec_to);
        let allowed: Vec<_> = full[..whole].iter().map(Reply::usn_vec_to).collect();
        assert!(
            reached.is_none() || allowed.contains(&reached.unwrap()),
            "cancel at {cancel_at}: {} outcomes, {whole} replies whole, reached {reached:?}",
            out.len()
        );
        assert_eq!(report.reached, report.watermark, "cancel at {cancel_at}");
        assert_eq!(
            sync.store().watermark().unwrap(),
            report.watermark,
            "cancel at {cancel_at}"
        );
    }
}
