//! Change detection for NT-hash input (`VerifierSync` over a `VerifierStore`): an account is
//! skipped as `unchanged` exactly when its NT hash still gives the verifier last delivered.
//! The check itself is compared with verifiers made with the `pbkdf2` crate, independently of
//! phsync's kernels (`the_check_agrees_with_the_pbkdf2_crate`); the other tests store what a
//! first run delivered and check what a second run makes of it.
//! (The same on Samba's real export of a DC's hashes: `tests/cli.rs`, `hash_state_*`.)

use std::collections::BTreeMap;

use phsync::batch::{
    Outcome, OutcomeSink, Runner, SourceItem, SyncAccount, SyncPolicy, UF_ACCOUNTDISABLE,
    VerifierSync, verifier_key,
};
use phsync::state::{MemoryStore, StateError, VerifierStore, VerifierUpdate};
use phsync::{CloudVerifier, Iterations, NtHash, Salt};

fn policy(iterations: u32) -> SyncPolicy {
    SyncPolicy {
        iterations: Iterations::new(iterations).unwrap(),
        require_sam_account_name: false,
        ..SyncPolicy::default()
    }
}

fn user(name: &str, password: &str) -> SourceItem {
    Ok(SyncAccount::from_nt_hash(
        name,
        NtHash::from_password(password),
    ))
}

fn disabled(name: &str, password: &str) -> SourceItem {
    let mut a = SyncAccount::from_nt_hash(name, NtHash::from_password(password));
    a.user_account_control = Some(0x200 | UF_ACCOUNTDISABLE);
    Ok(a)
}

fn bare(password: &str) -> SourceItem {
    let mut a = SyncAccount::from_nt_hash("", NtHash::from_password(password));
    a.identity.sam_account_name = None;
    Ok(a)
}

/// `(name or "-", outcome, reason)` per outcome, and the synced verifiers by name.
type Run = (Vec<(String, String)>, BTreeMap<String, CloudVerifier>);

fn run<S: VerifierStore>(
    sync: &mut VerifierSync<S>,
    iterations: u32,
    items: Vec<SourceItem>,
) -> Run {
    let runner = Runner::new(policy(iterations)).chunk_size(2).sub_batch(1);
    let mut seen = Vec::new();
    let mut verifiers = BTreeMap::new();
    let summary = sync
        .run(&runner, items, |o| {
            let name = o
                .identity()
                .sam_account_name
                .clone()
                .unwrap_or_else(|| "-".into());
            if let Some(v) = o.verifier() {
                verifiers.insert(name.clone(), v.clone());
            }
            seen.push((name, o.reason().unwrap_or("synced").to_owned()));
        })
        .unwrap();
    assert_eq!(summary.total as usize, seen.len());
    (seen, verifiers)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// PBKDF2-HMAC-SHA256 of `password`'s NT hash by the `pbkdf2` crate.
fn reference_verifier(password: &str, salt: [u8; 10], iterations: u32) -> CloudVerifier {
    let hex = NtHash::from_password(password)
        .to_hex()
        .to_ascii_uppercase();
    let key: Vec<u8> = hex.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&key, &salt, iterations, &mut out);
    CloudVerifier::from_parts(
        Salt::from_bytes(salt),
        Iterations::new(iterations).unwrap(),
        out,
    )
}

#[test]
fn unchanged_changed_disabled_and_new_iteration_counts() {
    let mut sync = VerifierSync::new(MemoryStore::new());
    let (seen, first) = run(
        &mut sync,
        3,
        vec![
            user("alice", "pw-a"),
            user("bob", "pw-b"),
            disabled("carol", "pw-c"),
            bare("pw-x"),
        ],
    );
    assert_eq!(
        seen,
        pairs(&[
            ("alice", "synced"),
            ("bob", "synced"),
            ("carol", "disabled"),
            ("-", "synced")
        ])
    );
    assert_eq!(
        sync.store().verifier_count(),
        2,
        "named, synced accounts only"
    );

    // Same input: nothing to sync but the nameless hash. Names match without case.
    let (seen, _) = run(
        &mut sync,
        3,
        vec![
            user("ALICE", "pw-a"),
            user("bob", "pw-b"),
            disabled("carol", "pw-c"),
            bare("pw-x"),
        ],
    );
    assert_eq!(
        seen,
        pairs(&[
            ("ALICE", "unchanged"),
            ("bob", "unchanged"),
            ("carol", "disabled"),
            ("-", "synced")
        ])
    );

    // bob changed his password, carol was enabled.
    let (seen, third) = run(
        &mut sync,
        3,
        vec![
            user("alice", "pw-a"),
            user("bob", "pw-b2"),
            user("carol", "pw-c"),
        ],
    );
    assert_eq!(
        seen,
        pairs(&[
            ("alice", "unchanged"),
            ("bob", "synced"),
            ("carol", "synced")
        ])
    );
    let bob = &third["bob"];
    assert!(bob.verify_password("pw-b2") && !bob.verify_password("pw-b"));
    assert_ne!(
        bob.salt(),
        first["bob"].salt(),
        "a new password gets a new salt"
    );
    assert_eq!(
        sync.store().last_verifier("sam:bob").unwrap().as_ref(),
        Some(bob)
    );

    // Another iteration count: every stored verifier is stale.
    let (seen, _) = run(
        &mut sync,
        4,
        vec![user("alice", "pw-a"), user("bob", "pw-b2")],
    );
    assert_eq!(seen, pairs(&[("alice", "synced"), ("bob", "synced")]));

    // alice disabled: forgotten, so that enabling her syncs her again.
    let (seen, _) = run(&mut sync, 4, vec![disabled("alice", "pw-a")]);
    assert_eq!(seen, pairs(&[("alice", "disabled")]));
    assert_eq!(sync.store().last_verifier("sam:alice").unwrap(), None);
    let (seen, _) = run(&mut sync, 4, vec![user("alice", "pw-a")]);
    assert_eq!(seen, pairs(&[("alice", "synced")]));
}

#[test]
fn the_check_agrees_with_the_pbkdf2_crate() {
    let mut store = MemoryStore::new();
    let good = reference_verifier("Pa$$w0rd", *b"0123456789", 5);
    let mut flipped = *good.hash();
    flipped[31] ^= 1;
    let bad = CloudVerifier::from_parts(*good.salt(), good.iterations(), flipped);
    store
        .commit_verifiers(&[
            VerifierUpdate {
                key: "sam:alice".into(),
                verifier: Some(good),
            },
            VerifierUpdate {
                key: "sam:bob".into(),
                verifier: Some(bad),
            },
        ])
        .unwrap();
    let mut sync = VerifierSync::new(store);
    let (seen, _) = run(
        &mut sync,
        5,
        vec![user("alice", "Pa$$w0rd"), user("bob", "Pa$$w0rd")],
    );
    assert_eq!(seen, pairs(&[("alice", "unchanged"), ("bob", "synced")]));
}

#[test]
fn keys_prefer_stable_identifiers() {
    let mut a = SyncAccount::from_nt_hash("Alice", NtHash::from_bytes([0; 16]));
    assert_eq!(verifier_key(&a.identity).as_deref(), Some("sam:alice"));
    a.identity.sid = Some("s-1-5-21-1-2-3-1104".into());
    assert_eq!(
        verifier_key(&a.identity).as_deref(),
        Some("sid:S-1-5-21-1-2-3-1104")
    );
    a.identity.source_anchor = Some("MHgAAA==".into());
    assert_eq!(
        verifier_key(&a.identity).as_deref(),
        Some("anchor:MHgAAA==")
    );
    a.identity = Default::default();
    a.identity.sam_account_name = Some(String::new());
    assert_eq!(verifier_key(&a.identity), None);
}

/// A sink whose flush fails: nothing may be committed.
struct BrokenPipe(usize);

impl OutcomeSink for BrokenPipe {
    fn outcome(&mut self, _outcome: Outcome) {
        self.0 += 1;
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "reader gone",
        ))
    }
}

#[test]
fn nothing_is_remembered_that_was_not_delivered() {
    let mut sync = VerifierSync::new(MemoryStore::new()).commit_every(1);
    let runner = Runner::new(policy(2)).chunk_size(1);
    let mut sink = BrokenPipe(0);
    let items: Vec<_> = (0..10).map(|i| user(&format!("u{i}"), "pw")).collect();
    let err = sync.run_to(&runner, items, &mut sink).unwrap_err();
    assert!(matches!(err, StateError::Sink(_)), "{err}");
    assert_eq!(sync.store().verifier_count(), 0);
    // The run stops reading after the failed flush: what it read before (at most two chunks
    // past the first one emitted) still gets its outcomes.
    assert!(sink.0 <= 3, "{} outcomes", sink.0);
}

impl OutcomeSink for &mut BrokenPipe {
    fn outcome(&mut self, outcome: Outcome) {
        (**self).outcome(outcome);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (**self).flush()
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use phsync::state::{SCHEMA_VERSION, SqliteStore, StateError, StateStore, VerifierStore};

    use super::{VerifierSync, pairs, run, user};
    use crate::common::{repo, scratch_dir};

    #[test]
    fn remembered_across_processes_in_a_private_file() {
        let dir = scratch_dir("verifier-store");
        let path = dir.join("state.db");
        let mut sync = VerifierSync::new(SqliteStore::open(&path).unwrap());
        let (seen, _) = run(&mut sync, 3, vec![user("alice", "a"), user("bob", "b")]);
        assert_eq!(seen, pairs(&[("alice", "synced"), ("bob", "synced")]));
        drop(sync);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the store holds verifiers");
        }
        let mut sync = VerifierSync::new(SqliteStore::open(&path).unwrap());
        let (seen, _) = run(&mut sync, 3, vec![user("alice", "a"), user("bob", "b!")]);
        assert_eq!(seen, pairs(&[("alice", "unchanged"), ("bob", "synced")]));
    }

    #[test]
    fn a_corrupt_verifier_row_is_a_typed_error() {
        let dir = scratch_dir("verifier-corrupt");
        let path = dir.join("state.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO verifiers VALUES ('sam:alice', 'v1;PPH1_MD4,zz,1000,00;')",
            [],
        )
        .unwrap();
        drop(conn);
        let mut sync = VerifierSync::new(SqliteStore::open(&path).unwrap());
        let runner = phsync::batch::Runner::new(super::policy(2));
        let err = sync
            .run(&runner, vec![user("bob", "b"), user("alice", "a")], |_| {})
            .unwrap_err();
        assert!(
            matches!(&err, StateError::Corrupt { key, column: "verifier" } if key == "sam:alice"),
            "{err}"
        );
    }

    /// A store written by phsync 0.x with schema 1 (a real run over the bundled Samba capture,
    /// `tests/fixtures/state-v1/`) opens, keeps its objects and watermark, and gains the
    /// verifier table.
    #[test]
    fn a_schema_1_store_is_upgraded_in_place() {
        let dir = scratch_dir("state-v1");
        let path = dir.join("state.db");
        std::fs::copy(repo("tests/fixtures/state-v1/samba-a-krb5-nc.db"), &path).unwrap();
        let version = |p: &std::path::Path| -> i64 {
            rusqlite::Connection::open(p)
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&path), 1);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.object_count().unwrap(), 282);
        let watermark = store.watermark().unwrap().expect("the v1 watermark");
        assert!(watermark.complete);
        drop(store);
        assert_eq!(version(&path), SCHEMA_VERSION);
        let mut sync = VerifierSync::new(SqliteStore::open(&path).unwrap());
        let (seen, _) = run(&mut sync, 3, vec![user("alice", "a")]);
        assert_eq!(seen, pairs(&[("alice", "synced")]));
        let store = sync.into_store();
        assert!(store.last_verifier("sam:alice").unwrap().is_some());
        assert_eq!(store.watermark().unwrap(), Some(watermark));
    }
}

#[test]
fn an_account_listed_twice_is_checked_against_its_first_line_at_every_chunk_size() {
    // The second line of an account sees what the first delivered, committed or not, however
    // far the pipeline had got: outcomes never depend on chunk sizes or commit batches.
    let items = || {
        vec![
            user("alice", "one"),
            user("bob", "one"),
            user("alice", "one"),
            user("bob", "two"),
            user("carol", "three"),
            disabled("carol", "three"),
            user("carol", "three"),
        ]
    };
    let want = pairs(&[
        ("alice", "synced"),
        ("bob", "synced"),
        ("alice", "unchanged"),
        ("bob", "synced"),
        ("carol", "synced"),
        ("carol", "disabled"),
        ("carol", "synced"),
    ]);
    for chunk in [1, 2, 3, 4096] {
        for commit_every in [1, 4096] {
            let mut sync = VerifierSync::new(MemoryStore::new()).commit_every(commit_every);
            let runner = Runner::new(policy(1)).chunk_size(chunk);
            let mut seen = Vec::new();
            let mut bob = Vec::new();
            sync.run(&runner, items(), |o| {
                let name = o.identity().sam_account_name.clone().unwrap();
                if name == "bob" {
                    bob.extend(o.verifier().cloned());
                }
                seen.push((name, o.reason().unwrap_or("synced").to_owned()));
            })
            .unwrap();
            assert_eq!(seen, want, "chunk {chunk}, commit every {commit_every}");
            // What is remembered is what each account's last line delivered.
            let key = |name: &str| {
                verifier_key(&SyncAccount::from_nt_hash(name, NtHash::from_password("x")).identity)
                    .unwrap()
            };
            let stored = sync.store().last_verifier(&key("bob")).unwrap();
            assert_eq!(stored.as_ref(), bob.last());
            assert!(stored.unwrap().verify_password("two"));
            assert!(sync.store().last_verifier(&key("carol")).unwrap().is_some());
        }
    }
}
