//! A sync killed with SIGKILL in the middle of a multi-reply run loses nothing: the rerun
//! starts from the last committed reply, and every password change reaches the sink at least
//! once (real captures: `tests/fixtures/samba-b`, full cycle and two deltas).
//!
//! The test runs itself as the child process (`PHSYNC_CRASH_CHILD` set), which syncs slowly
//! into an SQLite store and prints one line per outcome; the parent kills it with SIGKILL
//! right after the commit of the first delta, then reruns in-process with the same store file.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phsync::Iterations;
use phsync::batch::{DrsSync, Outcome, OutcomeSink, Runner, SyncPolicy};
use phsync::drs::{Reply, SessionKey};
use phsync::state::{SqliteStore, StateStore};
use serde_json::Value;

use crate::common::{incremental_truth as truth, scratch_dir};

const CHILD: &str = "PHSYNC_CRASH_CHILD";

/// Every reply of the sequence: full cycle, delta 1, delta 2.
fn replies(t: &Value) -> Vec<Reply> {
    t["reply_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let path =
                crate::common::repo("tests/fixtures/samba-b").join(r["file"].as_str().unwrap());
            Reply::decode(&std::fs::read(path).unwrap()).unwrap()
        })
        .collect()
}

fn sync(store: &Path, sink: impl OutcomeSink) -> phsync::batch::SyncReport {
    let t = truth();
    let key = SessionKey::from_hex(t["session_key_hex"].as_str().unwrap()).unwrap();
    let policy = SyncPolicy {
        iterations: Iterations::new(3).unwrap(),
        ..SyncPolicy::default()
    };
    let runner = Runner::new(policy).chunk_size(4);
    let mut sync = DrsSync::new(SqliteStore::open(store).unwrap(), vec![key]);
    sync.run_to(&runner, replies(&t).into_iter().map(Ok::<_, String>), sink)
        .unwrap()
}

/// `guid/password-version outcome` lines on stdout, flushed (and slowed down) before every commit.
struct Lines<W: Write>(W);

impl<W: Write> OutcomeSink for Lines<W> {
    fn outcome(&mut self, o: Outcome) {
        let guid = o.identity().object_guid.clone().unwrap_or_default();
        let version = match &o {
            Outcome::Synced(r) => r.password_stamp.map_or(0, |s| s.version),
            _ => 0,
        };
        writeln!(self.0, "{guid}/{version} {}", o.kind()).unwrap();
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        std::thread::sleep(Duration::from_millis(150));
        Ok(())
    }
}

fn synced(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_suffix(" synced").map(str::to_owned))
        .collect()
}

#[test]
fn killed_run_resumes_without_loss() {
    if let Some(store) = std::env::var_os(CHILD) {
        sync(Path::new(&store), Lines(std::io::stdout().lock()));
        return;
    }
    let dir = scratch_dir("crash");
    let store = dir.join("state.db");

    // What an uninterrupted run syncs.
    let mut reference = Vec::new();
    let done = sync(&dir.join("reference.db"), Lines(&mut reference));
    let reference: Vec<String> = String::from_utf8(reference)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let want = synced(&reference);
    // 11 accounts of the full cycle, then 4 password changes that sync and a new user in the
    // deltas: each (object, password version) once.
    assert_eq!(want.len(), 16, "{want:?}");

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::killed_run_resumes_without_loss",
            "--nocapture",
            "--quiet",
        ])
        .env(CHILD, &store)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains(' '))
            .collect::<Vec<_>>()
    });
    let kill_at = replies(&truth())[6].usn_vec_to();
    let started = Instant::now();
    let committed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child never committed"
        );
        std::thread::sleep(Duration::from_millis(5));
        if !store.exists() {
            continue;
        }
        // Kill right after the first delta was committed: its last outcome (a new user, synced)
        // must have left the child before the commit.
        if let Ok(Some(w)) = SqliteStore::open(&store).and_then(|s| s.watermark())
            && w.usn_vec_to == kill_at
        {
            child.kill().unwrap(); // SIGKILL
            break w;
        }
    };
    let status = child.wait().unwrap();
    let before_kill = reader.join().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    assert_eq!(committed.usn_vec_to, kill_at);

    // The rerun starts where the killed run's last commit left off.
    let mut rerun = Vec::new();
    let report = sync(&store, Lines(&mut rerun));
    let rerun: Vec<String> = String::from_utf8(rerun)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let got: BTreeSet<String> = synced(&before_kill)
        .union(&synced(&rerun))
        .cloned()
        .collect();
    let lost: Vec<_> = want.difference(&got).collect();
    assert!(lost.is_empty(), "lost after the kill: {lost:?}");
    assert_eq!(report.watermark, done.watermark);
    assert_eq!(
        SqliteStore::open(&store).unwrap().watermark().unwrap(),
        done.watermark
    );
    let _ = std::fs::remove_dir_all(&dir);
}
