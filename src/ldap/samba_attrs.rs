//! One Samba-schema entry's attributes → [`SyncAccount`] (or a [`SourceFailure`]): pure
//! functions, testable without a server.
//!
//! # Mapping
//!
//! | attribute | field |
//! |---|---|
//! | `entryUUID` | `identity.source_anchor` and `identity.object_guid` (lowercase) |
//! | `uid` (the RDN's value when the RDN is `uid=`, else the first value) | `identity.sam_account_name` |
//! | `userPrincipalName`, else `mail` | `identity.user_principal_name` |
//! | DN | `identity.distinguished_name` |
//! | `sambaSID` | `identity.sid`, and its last component as `rid` |
//! | `sambaAcctFlags` | `user_account_control`, see [`acct_flags_to_uac`] |
//! | `sambaPwdLastSet`, `sambaPwdMustChange` | `pwd_last_set`, see below |
//! | `sambaNTPassword` | `password`, see [`parse_nt_password`] |
//! | `entryCSN`, else `modifyTimestamp`, else `sambaPwdLastSet` | `password_stamp`, see below |
//!
//! `kind` is always [`ObjectKind::User`]: a `sambaSamAccount` is an account whatever its
//! structural class (usually `inetOrgPerson`); machine and trust accounts are told apart by
//! their `sambaAcctFlags` (`W`, `S`, `I`), which the policy skips as `not_a_user`.
//!
//! ## pwdLastSet and "must change"
//!
//! Samba's passdb stores `sambaPwdLastSet` in Unix seconds; `0` means "must change at next
//! logon" (`pdb_get_pass_must_change_time` returns 0 when the last-set time is 0), and
//! `sambaPwdMustChange` is the time from which the password counts as expired, so logons
//! must change it. The rule here:
//!
//! - `sambaPwdLastSet = 0` → `pwd_last_set = Some(0)` (must change);
//! - `sambaPwdMustChange` present and `≤ now` (including `0`) → `Some(0)` (must change);
//! - otherwise `sambaPwdLastSet` converted to FILETIME, or `None` when absent.
//!
//! ## Change-detection stamp
//!
//! The batch runner's [`PasswordStamp`] must change whenever the hash may have changed. A
//! hash written directly (an `ldapmodify` of `sambaNTPassword` without touching
//! `sambaPwdLastSet`, as migration scripts do) changes only the entry's modification time, so
//! the stamp is taken from the entry:
//!
//! - `entryCSN` (OpenLDAP, `YYYYmmddHHMMSS.uuuuuuZ#…`): `changed_unix` = its time,
//!   `version` = its microseconds (so two writes within one second differ);
//! - else `modifyTimestamp` (`YYYYmmddHHMMSSZ`): its time, `version` 0;
//! - else `sambaPwdLastSet`: its time, `version` 0;
//! - else no stamp (the account is hashed on every run).
//!
//! Any modification of the entry therefore re-hashes the account on the next run: extra work,
//! but never a stale cloud password.

use crate::NtHash;
use crate::batch::{
    FailReason, Identity, ObjectKind, PasswordStamp, PasswordState, SourceFailure, SourceItem,
    SyncAccount,
};

use super::entry::Entry;

/// The attributes the Samba source requests.
pub const SAMBA_ATTRIBUTES: &[&str] = &[
    "objectClass",
    "uid",
    "entryUUID",
    "entryCSN",
    "modifyTimestamp",
    "mail",
    "userPrincipalName",
    "sambaSID",
    "sambaNTPassword",
    "sambaAcctFlags",
    "sambaPwdLastSet",
    "sambaPwdMustChange",
];

/// userAccountControl bits synthesized from `sambaAcctFlags` (Samba's `ds_acb2uf`,
/// `libds/common/flag_mapping.c`).
const ACB_TO_UF: &[(char, u32)] = &[
    ('D', 0x0000_0002), // disabled → ACCOUNTDISABLE
    ('H', 0x0000_0008), // home directory required → HOMEDIR_REQUIRED
    ('L', 0x0000_0010), // auto-locked → LOCKOUT
    ('N', 0x0000_0020), // password not required → PASSWD_NOTREQD
    ('T', 0x0000_0100), // temporary duplicate → TEMP_DUPLICATE_ACCOUNT
    ('U', 0x0000_0200), // normal user → NORMAL_ACCOUNT
    ('I', 0x0000_0800), // interdomain trust → INTERDOMAIN_TRUST_ACCOUNT
    ('W', 0x0000_1000), // workstation trust → WORKSTATION_TRUST_ACCOUNT
    ('S', 0x0000_2000), // server trust → SERVER_TRUST_ACCOUNT
    ('X', 0x0001_0000), // password does not expire → DONT_EXPIRE_PASSWORD
    ('M', 0x0002_0000), // MNS logon → MNS_LOGON_ACCOUNT
];

/// `sambaAcctFlags` (e.g. `[UD         ]`) → userAccountControl.
///
/// Letters are matched case-insensitively; brackets, spaces and unknown letters are ignored.
/// Samba treats an account without a type letter as a normal user, so `NORMAL_ACCOUNT`
/// (0x200) is added when none of `U`, `W`, `S`, `I` is present. `D` gives `0x200 | 0x2`, which
/// the batch policy skips as `disabled`.
pub fn acct_flags_to_uac(flags: &str) -> u32 {
    let mut uac = 0;
    for c in flags.chars() {
        let c = c.to_ascii_uppercase();
        if let Some((_, bit)) = ACB_TO_UF.iter().find(|(l, _)| *l == c) {
            uac |= bit;
        }
    }
    if uac & (0x200 | 0x800 | 0x1000 | 0x2000) == 0 {
        uac |= 0x200;
    }
    uac
}

/// Why a `sambaNTPassword` value was rejected: a description that never contains the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadHash(pub String);

/// One `sambaNTPassword` value → a password state.
///
/// - 32 hex digits in any case → [`PasswordState::Present`] (the schema's equality rule is
///   `caseIgnoreIA5Match`; smbk5pwd writes lowercase, Samba's passdb uppercase);
/// - Samba's placeholders for "no password" — a value starting with `NO PASSWORD` (the
///   smbpasswd format's `NO PASSWORDXXXXXXXXXXXXXXXXXXXXX` for password-not-required
///   accounts) or made only of `X` (`XXXX…`, "no password set") — → [`PasswordState::NoValue`];
/// - anything else (wrong length, non-hex digits, empty, not UTF-8) → an error naming what
///   was wrong, without the value.
pub fn parse_nt_password(value: &[u8]) -> Result<PasswordState, BadHash> {
    let Ok(s) = std::str::from_utf8(value) else {
        return Err(BadHash("sambaNTPassword: value is not UTF-8".into()));
    };
    // No copy of the value's start (it is most of a hash when it is one).
    if s.get(..11)
        .is_some_and(|p| p.eq_ignore_ascii_case("NO PASSWORD"))
    {
        return Ok(PasswordState::NoValue);
    }
    if !s.is_empty() && s.bytes().all(|b| b == b'X' || b == b'x') {
        return Ok(PasswordState::NoValue);
    }
    if s.is_empty() {
        return Err(BadHash("sambaNTPassword: value is empty".into()));
    }
    match NtHash::from_hex(s) {
        Ok(nt) => Ok(PasswordState::Present(nt)),
        Err(e) => Err(BadHash(format!("sambaNTPassword: {e}"))),
    }
}

/// Parses an LDAP Integer attribute (`sambaPwdLastSet` etc.).
fn integer(entry: &Entry, name: &str) -> Result<Option<i64>, String> {
    match entry.values(name) {
        None => Ok(None),
        Some([]) => Ok(None),
        Some([v]) => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| format!("{name}: not a decimal integer")),
        Some(_) => Err(format!("{name}: more than one value (single-valued)")),
    }
}

pub use crate::ad::time::unix_to_filetime;

/// `YYYYmmddHHMMSS[.ffffff]Z…` (GeneralizedTime in UTC, as entryCSN and modifyTimestamp
/// start) → (Unix seconds, microseconds). `None` when malformed.
pub fn generalized_time(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 15 || !b[..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> i64 {
        b[r].iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let (hour, min, sec) = (num(8..10), num(10..12), num(12..14));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut micros = 0u32;
    let mut rest = &b[14..];
    if rest.first() == Some(&b'.') {
        let digits: Vec<u8> = rest[1..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .copied()
            .collect();
        if digits.is_empty() {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10 + u32::from(digits.get(i).map_or(0, |d| d - b'0'));
        }
        rest = &rest[1 + digits.len()..];
    }
    if rest.first() != Some(&b'Z') {
        return None;
    }
    // Days from civil (H. Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + min * 60 + sec, micros))
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The identity fields of an entry (never fails: unreadable fields stay `None`).
pub fn identity_of(entry: &Entry) -> Identity {
    let uuid = entry.first_str("entryUUID").map(lower);
    let uid = rdn_uid(&entry.dn).or_else(|| entry.first_str("uid").map(str::to_owned));
    Identity {
        source_anchor: uuid.clone(),
        object_guid: uuid,
        sid: entry.first_str("sambaSID").map(str::to_owned),
        sam_account_name: uid,
        user_principal_name: entry
            .first_str("userPrincipalName")
            .or_else(|| entry.first_str("mail"))
            .map(str::to_owned),
        distinguished_name: Some(entry.dn.clone()),
    }
}

/// The value of a leading `uid=` RDN (single-valued RDN, no escapes), if that is the RDN.
fn rdn_uid(dn: &str) -> Option<String> {
    let first = dn.split(',').next()?;
    let (attr, value) = first.split_once('=')?;
    if attr.trim().eq_ignore_ascii_case("uid") && !value.contains(['\\', '+']) {
        Some(value.trim().to_owned())
    } else {
        None
    }
}

fn fail(identity: Identity, reason: FailReason, detail: String) -> SourceItem {
    Err(Box::new(SourceFailure {
        identity,
        reason,
        detail,
    }))
}

/// One entry → one [`SourceItem`], with `now_unix` deciding whether `sambaPwdMustChange` has
/// passed.
pub fn account_from_entry(entry: &Entry, now_unix: i64) -> SourceItem {
    let identity = identity_of(entry);

    let password = match entry.values("sambaNTPassword") {
        None | Some([]) => PasswordState::Absent,
        Some([v]) => match parse_nt_password(v) {
            Ok(p) => p,
            Err(BadHash(detail)) => return fail(identity, FailReason::InvalidInput, detail),
        },
        Some(_) => {
            return fail(
                identity,
                FailReason::InvalidInput,
                "sambaNTPassword: more than one value (single-valued)".into(),
            );
        }
    };

    let (last_set, must_change_at) = match (
        integer(entry, "sambaPwdLastSet"),
        integer(entry, "sambaPwdMustChange"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(detail), _) | (_, Err(detail)) => {
            return fail(identity, FailReason::InvalidInput, detail);
        }
    };
    let must_change = last_set == Some(0) || must_change_at.is_some_and(|t| t <= now_unix);
    let pwd_last_set = if must_change {
        Some(0)
    } else {
        last_set.map(unix_to_filetime)
    };

    let uac = entry
        .first_str("sambaAcctFlags")
        .map_or(0x200, acct_flags_to_uac);

    let password_stamp = entry
        .first_str("entryCSN")
        .and_then(generalized_time)
        .map(|(secs, micros)| PasswordStamp {
            version: micros,
            changed_unix: secs,
        })
        .or_else(|| {
            entry
                .first_str("modifyTimestamp")
                .and_then(generalized_time)
                .map(|(secs, _)| PasswordStamp {
                    version: 0,
                    changed_unix: secs,
                })
        })
        .or_else(|| {
            last_set.map(|secs| PasswordStamp {
                version: 0,
                changed_unix: secs,
            })
        });

    let rid = identity
        .sid
        .as_deref()
        .and_then(|s| s.rsplit('-').next())
        .and_then(|r| r.parse::<u32>().ok());

    Ok(SyncAccount {
        identity,
        kind: ObjectKind::User,
        rid,
        user_account_control: Some(uac),
        pwd_last_set,
        is_deleted: false,
        is_critical_system_object: false,
        password,
        password_stamp,
        last_synced: None,
        last_verifier: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attrs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: "uid=alice,ou=people,dc=example,dc=com".into(),
            attrs: attrs
                .iter()
                .map(|(n, vs)| {
                    (
                        (*n).to_owned(),
                        vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                    )
                })
                .collect(),
        }
    }

    const PA: &str = "92937945b518814341de3f726500d4ff"; // "Pa$$w0rd"

    #[test]
    fn hex_in_any_case_is_a_hash() {
        for v in [PA, &PA.to_ascii_uppercase()] {
            let p = parse_nt_password(v.as_bytes()).unwrap();
            assert_eq!(
                p.nt_hash().unwrap().as_bytes(),
                NtHash::from_password("Pa$$w0rd").as_bytes()
            );
        }
    }

    #[test]
    fn placeholders_are_no_value() {
        for v in [
            "NO PASSWORDXXXXXXXXXXXXXXXXXXXXX",
            "no passwordxxxxxxxxxxxxxxxxxxxxx",
            "NO PASSWORD",
            "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "xxxx",
        ] {
            assert!(
                matches!(parse_nt_password(v.as_bytes()), Ok(PasswordState::NoValue)),
                "{v}"
            );
        }
    }

    #[test]
    fn malformed_values_are_errors_without_the_value() {
        let cases: &[&[u8]] = &[
            b"92937945b518814341de3f726500d4f",
            b"92937945b518814341de3f726500d4ff0",
            b"92937945b518814341de3f726500d4fg",
            b"",
            b"  92937945b518814341de3f726500d4",
            &[0xff; 32],
        ];
        for v in cases {
            let BadHash(msg) = parse_nt_password(v).unwrap_err();
            assert!(msg.starts_with("sambaNTPassword: "), "{msg}");
            assert!(!msg.contains("92937945"), "{msg}");
        }
        let BadHash(msg) = parse_nt_password(b"92937945b518814341de3f726500d4f").unwrap_err();
        assert!(msg.contains("32"), "{msg}");
    }

    #[test]
    fn flags() {
        assert_eq!(acct_flags_to_uac("[U          ]"), 0x200);
        assert_eq!(acct_flags_to_uac("[UD         ]"), 0x202);
        assert_eq!(acct_flags_to_uac("[D]"), 0x202);
        assert_eq!(acct_flags_to_uac("[W          ]"), 0x1000);
        assert_eq!(acct_flags_to_uac("[UX]"), 0x10200);
        assert_eq!(acct_flags_to_uac("[UNQ]"), 0x220, "unknown letters ignored");
        assert_eq!(acct_flags_to_uac(""), 0x200);
    }

    #[test]
    fn times() {
        assert_eq!(generalized_time("19700101000000Z"), Some((0, 0)));
        assert_eq!(
            generalized_time("20261122225600.123456Z#000000#000#000000"),
            Some((1_795_388_160, 123_456))
        );
        assert_eq!(
            generalized_time("20000229000000.5Z"),
            Some((951_782_400, 500_000))
        );
        for bad in [
            "",
            "2026",
            "20261322000000Z",
            "20261122225600",
            "20261122225600.Z",
        ] {
            assert_eq!(generalized_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn full_entry_maps_every_field() {
        let e = entry(&[
            ("objectClass", &["inetOrgPerson", "sambaSamAccount"]),
            ("uid", &["alice"]),
            ("entryUUID", &["0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"]),
            ("entryCSN", &["20261122225600.000042Z#000000#000#000000"]),
            ("mail", &["alice@example.com"]),
            ("sambaSID", &["S-1-5-21-1-2-3-1104"]),
            ("sambaNTPassword", &[PA]),
            ("sambaAcctFlags", &["[U          ]"]),
            ("sambaPwdLastSet", &["1795388000"]),
        ]);
        let a = account_from_entry(&e, 1_795_388_200).unwrap();
        assert_eq!(
            a.identity.source_anchor.as_deref(),
            Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
        );
        assert_eq!(a.identity.object_guid, a.identity.source_anchor);
        assert_eq!(a.identity.sam_account_name.as_deref(), Some("alice"));
        assert_eq!(
            a.identity.user_principal_name.as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(a.identity.sid.as_deref(), Some("S-1-5-21-1-2-3-1104"));
        assert_eq!(a.rid, Some(1104));
        assert_eq!(a.kind, ObjectKind::User);
        assert_eq!(a.user_account_control, Some(0x200));
        assert_eq!(a.pwd_last_set, Some(unix_to_filetime(1_795_388_000)));
        assert_eq!(
            a.password_stamp,
            Some(PasswordStamp {
                version: 42,
                changed_unix: 1_795_388_160
            })
        );
        assert!(a.password.nt_hash().is_some());
    }

    #[test]
    fn upn_beats_mail_and_stamp_falls_back() {
        let e = entry(&[
            ("uid", &["x", "alice"]),
            ("mail", &["m@example.com"]),
            ("userPrincipalName", &["alice@corp.example"]),
            ("modifyTimestamp", &["20261122000000Z"]),
        ]);
        let a = account_from_entry(&e, 0).unwrap();
        assert_eq!(
            a.identity.user_principal_name.as_deref(),
            Some("alice@corp.example")
        );
        assert_eq!(
            a.identity.sam_account_name.as_deref(),
            Some("alice"),
            "RDN wins"
        );
        assert!(matches!(a.password, PasswordState::Absent));
        assert_eq!(a.password_stamp.unwrap().changed_unix, 1_795_305_600);
        assert_eq!(a.pwd_last_set, None);

        let e = entry(&[("sambaPwdLastSet", &["100"])]);
        let a = account_from_entry(&e, 0).unwrap();
        assert_eq!(
            a.password_stamp,
            Some(PasswordStamp {
                version: 0,
                changed_unix: 100
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn any_values_map_without_panicking(
            hash in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            flags in ".{0,16}",
            last_set in ".{0,24}",
            csn in ".{0,40}",
        ) {
            let e = Entry {
                dn: "uid=p,dc=x".into(),
                attrs: vec![
                    ("sambaNTPassword".into(), vec![hash]),
                    ("sambaAcctFlags".into(), vec![flags.into_bytes()]),
                    ("sambaPwdLastSet".into(), vec![last_set.into_bytes()]),
                    ("entryCSN".into(), vec![csn.into_bytes()]),
                ],
            };
            match account_from_entry(&e, 0) {
                Ok(a) => proptest::prop_assert!(a.user_account_control.is_some()),
                Err(f) => proptest::prop_assert_eq!(f.reason, FailReason::InvalidInput),
            }
        }
    }

    #[test]
    fn must_change_rules() {
        let now = 1_000_000;
        let lastset0 = entry(&[("sambaPwdLastSet", &["0"])]);
        assert_eq!(
            account_from_entry(&lastset0, now).unwrap().pwd_last_set,
            Some(0)
        );
        let past = entry(&[
            ("sambaPwdLastSet", &["10"]),
            ("sambaPwdMustChange", &["999999"]),
        ]);
        assert_eq!(
            account_from_entry(&past, now).unwrap().pwd_last_set,
            Some(0)
        );
        let zero = entry(&[("sambaPwdLastSet", &["10"]), ("sambaPwdMustChange", &["0"])]);
        assert_eq!(
            account_from_entry(&zero, now).unwrap().pwd_last_set,
            Some(0)
        );
        let future = entry(&[
            ("sambaPwdLastSet", &["10"]),
            ("sambaPwdMustChange", &["2000000"]),
        ]);
        assert_eq!(
            account_from_entry(&future, now).unwrap().pwd_last_set,
            Some(unix_to_filetime(10))
        );
    }

    #[test]
    fn disabled_and_bad_values_fail_or_flag() {
        let d = entry(&[
            ("sambaAcctFlags", &["[UD         ]"]),
            ("sambaNTPassword", &[PA]),
        ]);
        assert_eq!(
            account_from_entry(&d, 0).unwrap().user_account_control,
            Some(0x202)
        );

        let bad = entry(&[("uid", &["alice"]), ("sambaNTPassword", &["0123"])]);
        let f = account_from_entry(&bad, 0).unwrap_err();
        assert_eq!(f.reason, FailReason::InvalidInput);
        assert_eq!(f.identity.sam_account_name.as_deref(), Some("alice"));
        assert!(f.detail.contains("sambaNTPassword"));

        let two = entry(&[("sambaNTPassword", &[PA, PA])]);
        assert!(
            account_from_entry(&two, 0)
                .unwrap_err()
                .detail
                .contains("more than one")
        );

        let bad_time = entry(&[("sambaPwdLastSet", &["yesterday"])]);
        let f = account_from_entry(&bad_time, 0).unwrap_err();
        assert_eq!(f.detail, "sambaPwdLastSet: not a decimal integer");

        let placeholder = entry(&[("sambaNTPassword", &["NO PASSWORDXXXXXXXXXXXXXXXXXXXXX"])]);
        assert!(matches!(
            account_from_entry(&placeholder, 0).unwrap().password,
            PasswordState::NoValue
        ));
    }
}
