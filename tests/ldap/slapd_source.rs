//! The Samba-schema source against a real OpenLDAP server: `sambaNTPassword` values computed
//! by the smbk5pwd overlay from passwords set with `ldappasswd`, read through phsync's source
//! into the batch runner, checked against the known passwords. See `tests/ldap/slapd.rs`.
#![cfg(feature = "ldap")]

use crate::slapd;

use std::collections::BTreeMap;

use phsync::NtHash;
use phsync::batch::{FailReason, Outcome, Runner, SkipReason, SyncPolicy, SyncState};
use phsync::ldap::{
    Bind, ConnectOptions, DirSyncCookie, DirSyncSearch, LdapSourceError, SambaConfig, SambaSource,
    TlsOptions,
};
use slapd::{PEOPLE, READER_DN, READER_PW, SUFFIX, Slapd};

/// Reads every account through the source and the runner; outcomes keyed by uid.
fn sync(
    source: &mut SambaSource,
    runner: &Runner<'_>,
) -> (
    BTreeMap<String, Outcome>,
    Result<phsync::ldap::ReadSummary, LdapSourceError>,
) {
    let mut accounts = source.accounts();
    let mut out = BTreeMap::new();
    runner.run(&mut accounts, |o| {
        let uid = o
            .identity()
            .sam_account_name
            .clone()
            .unwrap_or_else(|| "<none>".into());
        assert!(out.insert(uid, o).is_none(), "one outcome per account");
    });
    (out, accounts.finish())
}

fn skipped(o: &Outcome) -> Option<SkipReason> {
    match o {
        Outcome::Skipped { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[test]
fn ldap_samba_source_syncs_smbk5pwd_hashes_over_ldapi() {
    let Some(server) = Slapd::start("ldap_samba_source_syncs_smbk5pwd_hashes_over_ldapi") else {
        return;
    };
    let connect = ConnectOptions::new(server.ldapi()).bind(Bind::SaslExternal);
    // Pages of 2 entries: the 8 accounts take several round trips.
    let config = SambaConfig::new(connect, SUFFIX).page_size(2);
    let mut source = SambaSource::connect(config).expect("SASL EXTERNAL over ldapi");
    let runner = Runner::new(SyncPolicy::default());
    let (out, read) = sync(&mut source, &runner);
    let read = read.expect("whole subtree read");
    assert!(read.complete);
    assert_eq!(read.entries, 8);
    assert!(read.pages >= 4, "{read:?}");
    assert_eq!(out.len(), 8, "{:?}", out.keys());

    // alice: a real hash from smbk5pwd, synced.
    let alice = &out["alice"];
    let Outcome::Synced(rec) = alice else {
        panic!("alice: {alice:?}")
    };
    assert!(rec.verifier.verify_password("Pa$$w0rd"));
    assert!(!rec.verifier.verify_password("Pa$$w0rd2"));
    assert!(!rec.must_change_password);
    let anchor = rec.identity.source_anchor.as_deref().unwrap();
    assert_eq!(anchor.len(), 36, "entryUUID: {anchor}");
    assert_eq!(rec.identity.object_guid.as_deref(), Some(anchor));
    assert_eq!(
        rec.identity.user_principal_name.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        rec.identity.sid.as_deref(),
        Some("S-1-5-21-1111111111-2222222222-3333333333-1001")
    );
    assert_eq!(
        rec.identity.distinguished_name.as_deref(),
        Some(format!("uid=alice,{PEOPLE}").as_str())
    );
    // sambaPwdLastSet (now-ish) as FILETIME.
    let pls = rec.pwd_last_set.unwrap();
    let now_ft = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 11_644_473_600)
        * 10_000_000;
    assert!((now_ft - pls).abs() < 600 * 10_000_000, "{pls} vs {now_ft}");
    assert!(rec.password_stamp.is_some());

    // zoe: a non-ASCII password (BMP characters).
    let Outcome::Synced(zoe) = &out["zoe"] else {
        panic!("zoe: {:?}", out["zoe"])
    };
    assert!(zoe.verifier.verify_password("Zürich-Пароль-密码"));

    // yuri: smbk5pwd truncates each character to 16 bits instead of writing a surrogate
    // pair, so an emoji password hashes differently than on Windows. phsync syncs what the
    // directory holds; this pins the behaviour of the real software.
    let Outcome::Synced(yuri) = &out["yuri"] else {
        panic!("yuri: {:?}", out["yuri"])
    };
    assert!(!yuri.verifier.verify_password("key\u{1F511}"));
    let truncated =
        NtHash::from_utf16(&[u16::from(b'k'), u16::from(b'e'), u16::from(b'y'), 0xF511]);
    assert!(yuri.verifier.verify_nt_hash(&truncated));

    assert_eq!(skipped(&out["bob"]), Some(SkipReason::Disabled));
    assert_eq!(skipped(&out["carol"]), Some(SkipReason::TemporaryPassword));
    assert!(out["carol"].must_change_password());
    assert_eq!(
        skipped(&out["dave"]),
        Some(SkipReason::NoPassword),
        "placeholder"
    );
    assert_eq!(
        skipped(&out["frank"]),
        Some(SkipReason::NoPassword),
        "absent"
    );
    match &out["eve"] {
        Outcome::Failed { failure, identity } => {
            assert_eq!(failure.reason, FailReason::InvalidInput);
            assert!(
                failure.detail.contains("sambaNTPassword"),
                "{}",
                failure.detail
            );
            assert!(
                !failure.detail.contains("0123456789abcdef"),
                "{}",
                failure.detail
            );
            assert_eq!(identity.sam_account_name.as_deref(), Some("eve"));
        }
        other => panic!("eve: {other:?}"),
    }

    // Force-change policy: carol is synced, flagged.
    let policy = SyncPolicy {
        force_password_change_on_logon: true,
        ..SyncPolicy::default()
    };
    let (out2, read2) = sync(&mut source, &Runner::new(policy));
    read2.unwrap();
    let Outcome::Synced(carol) = &out2["carol"] else {
        panic!("carol: {:?}", out2["carol"])
    };
    assert!(carol.must_change_password);
    assert!(carol.verifier.verify_password("Temp0rary!"));

    // Change detection: a second run with the first run's state skips everything unchanged;
    // a new password (new entryCSN) is synced again.
    let mut state = SyncState::new();
    out.values().for_each(|o| state.observe(o));
    let runner = Runner::new(SyncPolicy::default()).previous_state(&state);
    let (out3, _) = sync(&mut source, &runner);
    assert_eq!(skipped(&out3["alice"]), Some(SkipReason::Unchanged));
    assert_eq!(skipped(&out3["zoe"]), Some(SkipReason::Unchanged));
    server.set_password("alice", "N3w-Pa$$w0rd");
    let (out4, _) = sync(&mut source, &runner);
    let Outcome::Synced(alice) = &out4["alice"] else {
        panic!("alice after change: {:?}", out4["alice"])
    };
    assert!(alice.verifier.verify_password("N3w-Pa$$w0rd"));
    assert_eq!(skipped(&out4["zoe"]), Some(SkipReason::Unchanged));
    source.close();
}

#[test]
fn ldap_bind_errors_are_typed() {
    let Some(server) = Slapd::start("ldap_bind_errors_are_typed") else {
        return;
    };
    // A working simple bind.
    let ok = ConnectOptions::new(server.url()).bind(Bind::simple(READER_DN, READER_PW));
    ok.connect().expect("reader bind").close();

    let bad = ConnectOptions::new(server.url()).bind(Bind::simple(READER_DN, "wrong"));
    match bad.connect() {
        Err(LdapSourceError::InvalidCredentials { who, .. }) => assert_eq!(who, READER_DN),
        other => panic!("{other:?}"),
    }
    let err = ConnectOptions::new(server.url())
        .bind(Bind::simple(READER_DN, "wrong"))
        .connect()
        .unwrap_err();
    assert_eq!(err.result_code(), Some(49));
    assert!(!err.to_string().contains("wrong"), "{err}");

    // An empty password would be an unauthenticated (anonymous) bind: refused locally.
    let empty = ConnectOptions::new(server.url()).bind(Bind::simple(READER_DN, ""));
    assert!(matches!(
        empty.connect(),
        Err(LdapSourceError::InvalidCredentials { .. })
    ));

    // Nothing listens on this port.
    let mut closed = ConnectOptions::new(format!("ldap://127.0.0.1:{}", slapd::closed_port()));
    closed.connect_timeout = std::time::Duration::from_secs(3);
    match closed.connect() {
        Err(e @ LdapSourceError::Connect { .. }) => assert!(e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ConnectOptions::new("ftp://127.0.0.1/").connect(),
        Err(LdapSourceError::InvalidUrl { .. })
    ));

    // Anonymous users may not read anything (the ACL ends with `by * none`): slapd answers
    // insufficientAccessRights, a typed search error.
    let anon = SambaConfig::new(ConnectOptions::new(server.url()), SUFFIX);
    let mut source = SambaSource::connect(anon).unwrap();
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert!(out.is_empty());
    match read {
        Err(e @ LdapSourceError::Search { rc: 50, .. }) => assert!(!e.is_transient()),
        other => panic!("{other:?}"),
    }

    // A base DN that does not exist.
    let config = SambaConfig::new(
        ConnectOptions::new(server.url()).bind(Bind::simple(READER_DN, READER_PW)),
        "ou=nowhere,dc=example,dc=com",
    );
    let mut source = SambaSource::connect(config).unwrap();
    let (_, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    match read {
        Err(LdapSourceError::Search { rc: 32, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn ldap_size_limit_is_typed_and_read_accounts_keep_outcomes() {
    let Some(server) = Slapd::start("ldap_size_limit_is_typed_and_read_accounts_keep_outcomes")
    else {
        return;
    };
    // The reader is limited to SIZE_LIMIT entries per unpaged search.
    let connect = ConnectOptions::new(server.url()).bind(Bind::simple(READER_DN, READER_PW));
    let config = SambaConfig::new(connect.clone(), SUFFIX).page_size(0);
    let mut source = SambaSource::connect(config).unwrap();
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert_eq!(out.len(), slapd::SIZE_LIMIT);
    match read {
        Err(LdapSourceError::SizeLimitExceeded { entries_read, .. }) => {
            assert_eq!(entries_read, slapd::SIZE_LIMIT as u64)
        }
        other => panic!("{other:?}"),
    }
    // A read dropped after its first page abandons the paged search; the connection stays
    // usable for the next read.
    let mut source =
        SambaSource::connect(SambaConfig::new(connect.clone(), SUFFIX).page_size(2)).unwrap();
    let mut accounts = source.accounts();
    let first_two: Vec<_> = accounts.by_ref().take(2).collect();
    assert_eq!(first_two.len(), 2);
    assert!(!accounts.finish().unwrap().complete);
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert_eq!(read.unwrap().entries, 8);
    assert_eq!(out.len(), 8);

    // With paging (the default), the same user reads everything.
    let mut source = SambaSource::connect(SambaConfig::new(connect, SUFFIX)).unwrap();
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert_eq!(read.unwrap().entries, 8);
    assert_eq!(out.len(), 8);
}

#[test]
fn ldap_referrals_are_typed_and_read_accounts_keep_outcomes() {
    let Some(server) = Slapd::start("ldap_referrals_are_typed_and_read_accounts_keep_outcomes")
    else {
        return;
    };
    server.ldapmodify(&format!(
        "dn: ou=elsewhere,{PEOPLE}\nchangetype: add\nobjectClass: referral\n\
         objectClass: extensibleObject\nou: elsewhere\n\
         ref: ldap://other.example.com/ou=elsewhere,{PEOPLE}\n"
    ));
    let connect = ConnectOptions::new(server.ldapi()).bind(Bind::SaslExternal);
    // A continuation reference inside the subtree: every local account is read, then the
    // read reports the part it could not follow.
    let mut source = SambaSource::connect(SambaConfig::new(connect.clone(), SUFFIX)).unwrap();
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert_eq!(out.len(), 8);
    assert!(out["alice"].verifier().is_some());
    match read {
        Err(LdapSourceError::Referral { urls, entries_read }) => {
            assert_eq!(entries_read, 8);
            assert!(urls[0].starts_with("ldap://other.example.com/"), "{urls:?}");
        }
        other => panic!("{other:?}"),
    }
    // A base DN below the referral: LDAP result 10.
    let below = SambaConfig::new(connect, format!("ou=x,ou=elsewhere,{PEOPLE}"));
    let mut source = SambaSource::connect(below).unwrap();
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert!(out.is_empty());
    match read {
        Err(e @ LdapSourceError::Referral { .. }) => assert_eq!(e.result_code(), Some(10)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ldap_dirsync_against_openldap_is_a_typed_error() {
    let Some(server) = Slapd::start("ldap_dirsync_against_openldap_is_a_typed_error") else {
        return;
    };
    // OpenLDAP does not implement DirSync; the control is critical, so the server must
    // refuse (unavailableCriticalExtension) rather than silently return a full read.
    let mut conn = ConnectOptions::new(server.ldapi())
        .bind(Bind::SaslExternal)
        .connect()
        .unwrap();
    let search = DirSyncSearch::new(SUFFIX);
    match search.changes(&mut conn, &DirSyncCookie::new()) {
        Err(LdapSourceError::Search { rc: 12, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn ldap_tls_ldaps_and_starttls() {
    let Some(server) = Slapd::start("ldap_tls_ldaps_and_starttls") else {
        return;
    };
    let insecure = TlsOptions {
        starttls: false,
        danger_accept_invalid_certs: true,
    };
    // ldaps:// with the self-signed certificate accepted (test-only option).
    let config = SambaConfig::new(
        ConnectOptions::new(server.ldaps_url())
            .bind(Bind::simple(READER_DN, READER_PW))
            .tls(insecure.clone()),
        SUFFIX,
    );
    let mut source = SambaSource::connect(config).expect("ldaps");
    let (out, read) = sync(&mut source, &Runner::new(SyncPolicy::default()));
    assert_eq!(read.unwrap().entries, 8);
    assert!(out["alice"].verifier().unwrap().verify_password("Pa$$w0rd"));

    // StartTLS on the plain port.
    let starttls = ConnectOptions::new(server.url())
        .bind(Bind::simple(READER_DN, READER_PW))
        .tls(TlsOptions {
            starttls: true,
            ..insecure
        });
    starttls.connect().expect("StartTLS").close();

    // Verification on (the default): the self-signed certificate is refused, typed.
    let verified = ConnectOptions::new(server.ldaps_url()).bind(Bind::simple(READER_DN, READER_PW));
    match verified.connect() {
        Err(LdapSourceError::Connect { source, .. }) => {
            let msg = source.to_string();
            assert!(msg.to_lowercase().contains("cert"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}
