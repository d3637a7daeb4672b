//! The sync policy and the runner's contract: one outcome per input, in order; each rule of
//! the Entra Connect-like policy; change detection; cancellation; the JSON line shape.

use std::sync::Arc;

use phsync::batch::{
    CancelToken, FailReason, Identity, ObjectKind, Outcome, PasswordStamp, PasswordState, Runner,
    SourceFailure, SourceItem, SyncAccount, SyncPolicy, SyncState,
};
use phsync::{Iterations, NtHash};
use proptest::prelude::*;

fn fast() -> SyncPolicy {
    SyncPolicy {
        iterations: Iterations::new(2).unwrap(),
        ..SyncPolicy::default()
    }
}

fn user(name: &str, password: &str) -> SyncAccount {
    let mut a = SyncAccount::from_nt_hash(name, NtHash::from_password(password));
    a.identity.object_guid = Some(format!("00000000-0000-0000-0000-{:012}", name.len()));
    a.identity.source_anchor = Some(format!("anchor-{name}"));
    a.user_account_control = Some(0x200);
    a.pwd_last_set = Some(133_000_000_000_000_000);
    a.rid = Some(1100);
    a.password_stamp = Some(PasswordStamp {
        version: 1,
        changed_unix: 1_700_000_000,
    });
    a
}

fn run_all(runner: &Runner<'_>, inputs: Vec<SourceItem>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let summary = runner.run(inputs, |o| out.push(o));
    assert_eq!(summary.total as usize, out.len());
    out
}

fn reason_of(policy: &SyncPolicy, account: SyncAccount) -> Option<&'static str> {
    run_all(&Runner::new(policy.clone()), vec![Ok(account)])[0].reason()
}

#[test]
fn each_rule_gives_its_reason() {
    let p = fast();
    assert_eq!(reason_of(&p, user("alice", "pw")), None);

    let mut a = user("alice", "pw");
    a.is_deleted = true;
    assert_eq!(reason_of(&p, a), Some("deleted"));

    for kind in [
        ObjectKind::Computer,
        ObjectKind::Other,
        ObjectKind::InetOrgPerson,
    ] {
        let mut a = user("alice", "pw");
        a.kind = kind;
        assert_eq!(reason_of(&p, a), Some("not_a_user"), "{kind:?}");
    }
    let mut a = user("person", "pw");
    a.kind = ObjectKind::InetOrgPerson;
    let inet = SyncPolicy {
        include_inet_org_person: true,
        ..fast()
    };
    assert_eq!(reason_of(&inet, a), None);

    for uac in [0x800 | 0x200, 0x1000, 0x2000] {
        let mut a = user("trust$", "pw");
        a.user_account_control = Some(uac);
        assert_eq!(reason_of(&p, a), Some("not_a_user"), "{uac:#x}");
    }
    let mut a = user("krbtgt", "pw");
    a.rid = Some(502);
    assert_eq!(reason_of(&p, a), Some("not_a_user"));

    let mut a = user("Administrator", "pw");
    a.is_critical_system_object = true;
    assert_eq!(reason_of(&p, a.clone()), Some("critical_system_object"));
    let keep = SyncPolicy {
        skip_critical_system_objects: false,
        ..fast()
    };
    assert_eq!(reason_of(&keep, a), None);

    let mut a = user("x", "pw");
    a.identity.sam_account_name = None;
    assert_eq!(reason_of(&p, a), Some("no_sam_account_name"));

    let mut a = user("bob", "pw");
    a.identity.distinguished_name = Some("CN=bob\\0ACNF:1234,DC=x".into());
    assert_eq!(reason_of(&p, a), Some("replication_conflict"));

    for name in ["MSOL_0123abc", "AAD_987", "aad_lower"] {
        assert_eq!(
            reason_of(&p, user(name, "pw")),
            Some("service_account"),
            "{name}"
        );
    }

    let only_a = SyncPolicy {
        filter: Some(Arc::new(|a: &SyncAccount| {
            a.identity.sam_account_name.as_deref() == Some("a")
        })),
        ..fast()
    };
    assert_eq!(reason_of(&only_a, user("a", "pw")), None);
    assert_eq!(reason_of(&only_a, user("b", "pw")), Some("filtered"));

    let mut a = user("dis", "pw");
    a.user_account_control = Some(0x202);
    assert_eq!(reason_of(&p, a.clone()), Some("disabled"));
    let incl = SyncPolicy {
        include_disabled: true,
        ..fast()
    };
    assert_eq!(reason_of(&incl, a), None);

    for state in [PasswordState::Absent, PasswordState::NoValue] {
        let mut a = user("nopw", "pw");
        a.password = state;
        assert_eq!(reason_of(&p, a), Some("no_password"));
    }
    // The empty password is a password.
    assert_eq!(reason_of(&p, user("empty", "")), None);
}

#[test]
fn must_change_is_skipped_or_forced() {
    let mut a = user("mustchg", "Temp123!");
    a.pwd_last_set = Some(0);
    let out = run_all(&Runner::new(fast()), vec![Ok(a.clone())]);
    assert_eq!(out[0].reason(), Some("temporary_password"));
    assert!(out[0].must_change_password());

    let force = SyncPolicy {
        force_password_change_on_logon: true,
        ..fast()
    };
    let out = run_all(&Runner::new(force), vec![Ok(a)]);
    assert_eq!(out[0].kind(), "synced");
    assert!(out[0].must_change_password());
    assert!(out[0].verifier().unwrap().verify_password("Temp123!"));
}

#[test]
fn smart_card_required_is_flagged() {
    let mut a = user("scril", "random");
    a.user_account_control = Some(0x200 | 0x40000);
    let out = run_all(&Runner::new(fast()), vec![Ok(a)]);
    let Outcome::Synced(record) = &out[0] else {
        panic!("{:?}", out[0])
    };
    assert!(record.smart_card_required);
}

#[test]
fn unchanged_detection_across_two_runs() {
    let inputs = || {
        vec![
            Ok(user("a", "1")),
            Ok(user("bb", "2")),
            Ok(user("ccc", "3")),
        ]
    };
    let mut state = SyncState::new();
    let first = run_all(&Runner::new(fast()), inputs());
    first.iter().for_each(|o| state.observe(o));
    assert!(first.iter().all(|o| o.kind() == "synced"));
    assert_eq!(state.len(), 3);

    // Persist and reload, as an engine would.
    let json = serde_json::to_string(&state).unwrap();
    let state: SyncState = serde_json::from_str(&json).unwrap();

    let mut second_in = inputs();
    if let Ok(a) = &mut second_in[1] {
        a.password = PasswordState::Present(NtHash::from_password("changed"));
        a.password_stamp = Some(PasswordStamp {
            version: 2,
            changed_unix: 1_700_000_100,
        });
    }
    if let Ok(a) = &mut second_in[2] {
        a.pwd_last_set = Some(0); // must-change toggled: re-sync the flag
    }
    let force = SyncPolicy {
        force_password_change_on_logon: true,
        ..fast()
    };
    let second = run_all(&Runner::new(force).previous_state(&state), second_in);
    assert_eq!(second[0].reason(), Some("unchanged"));
    assert_eq!(second[1].kind(), "synced");
    assert!(second[1].verifier().unwrap().verify_password("changed"));
    assert_eq!(second[2].kind(), "synced");
    assert!(second[2].must_change_password());

    // Raw NT-hash inputs have no stamp and are always re-hashed.
    let raw = SyncAccount::from_nt_hash("raw", NtHash::from_password("x"));
    let out = run_all(&Runner::new(fast()).previous_state(&state), vec![Ok(raw)]);
    assert_eq!(out[0].kind(), "synced");
}

#[test]
fn source_failures_are_reported_in_place() {
    let failure = SourceFailure {
        identity: Identity {
            sam_account_name: Some("broken".into()),
            ..Identity::default()
        },
        reason: FailReason::DecryptFailed,
        detail: "crc mismatch".into(),
    };
    let out = run_all(
        &Runner::new(fast()),
        vec![
            Ok(user("a", "1")),
            Err(Box::new(failure)),
            Ok(user("c", "3")),
        ],
    );
    assert_eq!(out[1].reason(), Some("decrypt_failed"));
    assert_eq!(
        out[1].identity().sam_account_name.as_deref(),
        Some("broken")
    );
    assert_eq!(out[2].kind(), "synced");
}

#[test]
fn cancellation_stops_reading_and_reports_every_read_account() {
    let token = CancelToken::new();
    let t2 = token.clone();
    let progress = move |s: &phsync::batch::Summary| {
        if s.total >= 10 {
            t2.cancel();
        }
    };
    let runner = Runner::new(fast())
        .chunk_size(10)
        .sub_batch(3)
        .cancel_token(token)
        .on_progress(&progress);
    let mut read = 0usize;
    let inputs = (0..1000).map(|i| {
        read += 1;
        Ok(user(&format!("u{i}"), "pw"))
    });
    let mut out = Vec::new();
    let summary = runner.run(inputs, |o| out.push(o));
    assert!(summary.cancelled);
    assert!(out.len() < 1000);
    assert_eq!(summary.total as usize, out.len());
    // Whatever was read got an outcome: the pipelined run reads at most two chunks past the
    // one emitted, which stops it here.
    assert!(out.len() <= 30, "{}", out.len());
    drop(runner);
    assert_eq!(read, out.len());
}

#[test]
fn outcome_json_line_has_the_contract_keys() {
    let out = run_all(&Runner::new(fast()), vec![Ok(user("alice", "pw"))]);
    let v: serde_json::Value = serde_json::to_value(&out[0]).unwrap();
    for key in [
        "sam_account_name",
        "user_principal_name",
        "object_guid",
        "sid",
        "outcome",
        "reason",
        "verifier",
        "must_change_password",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["outcome"], "synced");
    assert!(v["reason"].is_null());
    assert!(v["verifier"].as_str().unwrap().starts_with("v1;PPH1_MD4,"));
    assert_eq!(v["password_changed"], "2023-11-14T22:13:20Z");
    let text = v.to_string();
    let nt_hex = NtHash::from_password("pw").to_hex();
    assert!(
        !text.to_lowercase().contains(nt_hex.as_str()),
        "NT hash leaked: {text}"
    );
}

#[derive(Clone, Debug)]
enum Kind {
    Sync,
    Disabled,
    NoPw,
    Computer,
    Fail,
}

fn item(i: usize, kind: &Kind) -> SourceItem {
    let name = format!("acct{i}");
    let mut a = user(&name, &format!("pw{i}"));
    a.identity.source_anchor = Some(format!("anchor{i}"));
    match kind {
        Kind::Sync => {}
        Kind::Disabled => a.user_account_control = Some(0x202),
        Kind::NoPw => a.password = PasswordState::NoValue,
        Kind::Computer => a.kind = ObjectKind::Computer,
        Kind::Fail => {
            return Err(Box::new(SourceFailure {
                identity: a.identity.clone(),
                reason: FailReason::DecodeFailed,
                detail: format!("object {i}"),
            }));
        }
    }
    Ok(a)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Order and count preservation over random mixes, chunk and sub-batch sizes and pool
    /// sizes (the parts of a chunk are shared out among the pool's threads), for both the
    /// pipelined `run` and the pull iterator.
    #[test]
    fn one_outcome_per_input_in_order(
        kinds in proptest::collection::vec(
            prop_oneof![Just(Kind::Sync), Just(Kind::Disabled), Just(Kind::NoPw), Just(Kind::Computer), Just(Kind::Fail)],
            0..80),
        chunk in 1usize..20,
        sub in 1usize..9,
        threads in 1usize..5,
    ) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let runner = Runner::new(SyncPolicy { iterations: Iterations::new(1).unwrap(), ..SyncPolicy::default() })
            .chunk_size(chunk)
            .sub_batch(sub)
            .thread_pool(&pool);
        let inputs: Vec<SourceItem> = kinds.iter().enumerate().map(|(i, k)| item(i, k)).collect();
        let mut pushed = Vec::new();
        runner.run(inputs.clone(), |o| pushed.push(o));
        let pulled: Vec<Outcome> = runner.outcomes(inputs).collect();
        prop_assert_eq!(pushed.len(), kinds.len());
        prop_assert_eq!(pulled.len(), kinds.len());
        for (i, (kind, (a, b))) in kinds.iter().zip(pushed.iter().zip(&pulled)).enumerate() {
            let anchor = format!("anchor{i}");
            prop_assert_eq!(a.identity().source_anchor.as_deref(), Some(anchor.as_str()));
            prop_assert_eq!(b.identity().source_anchor.as_deref(), Some(anchor.as_str()));
            let expected = match kind {
                Kind::Sync => None,
                Kind::Disabled => Some("disabled"),
                Kind::NoPw => Some("no_password"),
                Kind::Computer => Some("not_a_user"),
                Kind::Fail => Some("decode_failed"),
            };
            prop_assert_eq!(a.reason(), expected);
            prop_assert_eq!(b.reason(), expected);
            if let Some(v) = a.verifier() {
                let pw = format!("pw{i}");
                prop_assert!(v.verify_password(&pw));
                prop_assert!(b.verifier().unwrap().verify_password(&pw));
                prop_assert_ne!(v.salt(), b.verifier().unwrap().salt());
            }
        }
    }
}
