//! The line formats of `phsync hash`.
//!
//! | format | a line |
//! |---|---|
//! | `pwdump` | `[DOMAIN\]user:rid:lmhash:nthash:::` as secretsdump and pwdump write it, optionally followed by `(status=Enabled)`, `(pwdLastSet=…)`; `user_historyN` lines are history entries (skipped as `password_history`), `user$` machine accounts are not users, `NO PASSWORD***…` means no password |
//! | `smbpasswd` | `user:uid:lmhash:nthash:[flags]:LCT-hex:` as Samba's smbpasswd file and `pdbedit -L -w` write it (smbpasswd(5)): flag `D` is a disabled account, `W`/`S`/`I` trust accounts, `LCT-00000000` a password that must change at next logon (pwdLastSet 0), X's or `NO PASSWORD` no password; the uid is a Unix id, not a RID, and is ignored |
//! | `hashcat` | `user:nthash` |
//! | `nt` | `nthash` (no name: synced without one) |
//!
//! `auto` (the default) tells them apart per line: by the number of `:`-separated fields, and a
//! fifth field in brackets for smbpasswd. Blank lines are not inputs and get no outcome; nor are
//! comments, lines starting with `#` in smbpasswd files (as Samba reads them) and, with `auto`,
//! such lines without the seven fields of a pwdump or smbpasswd line. (`#` is a legal character
//! of a sAMAccountName, so a `#name:rid:…` pwdump line is an account, not a comment.) A malformed line is one `failed` outcome (`invalid_input`) whose detail
//! names the line and the field — never the hash — and the run goes on.

use clap::ValueEnum;
use phsync::NtHash;
use phsync::batch::{
    FailReason, Identity, ObjectKind, PasswordState, SourceFailure, SourceItem, SyncAccount,
    UF_ACCOUNTDISABLE, UF_INTERDOMAIN_TRUST_ACCOUNT, UF_SERVER_TRUST_ACCOUNT,
    UF_WORKSTATION_TRUST_ACCOUNT,
};

/// userAccountControl bits without a constant in the library (MS-ADTS §2.2.16).
const UF_LOCKOUT: u32 = 0x0010;
const UF_PASSWD_NOTREQD: u32 = 0x0020;
const UF_NORMAL_ACCOUNT: u32 = 0x0200;
const UF_DONT_EXPIRE_PASSWD: u32 = 0x0001_0000;
/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const SECS_1601_TO_1970: i64 = 11_644_473_600;

/// The input's format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Auto,
    Pwdump,
    Smbpasswd,
    Hashcat,
    Nt,
}

pub fn invalid(line: u64, sam: Option<&str>, what: &str) -> SourceItem {
    Err(Box::new(SourceFailure {
        identity: Identity {
            sam_account_name: sam.map(str::to_owned),
            ..Identity::default()
        },
        reason: FailReason::InvalidInput,
        detail: format!("line {line}: {what}"),
    }))
}

/// `DOMAIN\user` → `user`.
fn account_name(field: &str) -> &str {
    field.rsplit_once('\\').map_or(field, |(_, user)| user)
}

/// Whether `line` is a comment in `format` (see the module documentation).
pub fn is_comment(line: &str, format: Format) -> bool {
    line.starts_with('#')
        && match format {
            Format::Smbpasswd => true,
            Format::Auto => line.split(':').count() < 7,
            Format::Pwdump | Format::Hashcat | Format::Nt => false,
        }
}

pub fn parse_line(n: u64, line: &str, format: Format) -> SourceItem {
    let fields: Vec<&str> = line.split(':').collect();
    let format = match format {
        Format::Auto => match fields.len() {
            1 => Format::Nt,
            2 => Format::Hashcat,
            7.. if fields[4].starts_with('[') => Format::Smbpasswd,
            7.. => Format::Pwdump,
            k => {
                return invalid(
                    n,
                    None,
                    &format!(
                        "{k} ':'-separated fields: not pwdump or smbpasswd (7), hashcat (2) or a bare \
                         hash (1)"
                    ),
                );
            }
        },
        f => f,
    };
    match format {
        Format::Nt => {
            if fields.len() != 1 {
                return invalid(n, None, "expected one field, a bare NT hash");
            }
            account(n, None, fields[0], None, None, false)
        }
        Format::Hashcat => {
            if fields.len() != 2 {
                return invalid(n, None, "expected user:nthash");
            }
            account(n, Some(fields[0]), fields[1], None, None, false)
        }
        Format::Pwdump => pwdump(n, line, &fields),
        Format::Smbpasswd => smbpasswd(n, &fields),
        Format::Auto => unreachable!("resolved above"),
    }
}

fn pwdump(n: u64, line: &str, fields: &[&str]) -> SourceItem {
    if fields.len() < 7 || !fields[4].is_empty() || !fields[5].is_empty() {
        return invalid(n, None, "expected [DOMAIN\\]user:rid:lmhash:nthash:::");
    }
    let name = account_name(fields[0]);
    if name.is_empty() {
        return invalid(n, None, "the user field is empty");
    }
    let Ok(rid) = fields[1].parse::<u32>() else {
        return invalid(n, Some(name), "the rid field is not a number");
    };
    // What follows ":::" — "(status=Enabled)", "(pwdLastSet=…)": only the status is used.
    let tail = line.splitn(7, ':').nth(6).unwrap_or("");
    let uac = if tail.contains("(status=Disabled)") {
        Some(UF_ACCOUNTDISABLE | 0x200)
    } else if tail.contains("(status=Enabled)") {
        Some(0x200)
    } else {
        None
    };
    let history = name
        .rsplit_once("_history")
        .is_some_and(|(_, k)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
    account(n, Some(name), fields[3], Some(rid), uac, history)
}

fn smbpasswd(n: u64, fields: &[&str]) -> SourceItem {
    if fields.len() < 6 {
        return invalid(n, None, "expected user:uid:lmhash:nthash:[flags]:LCT-hex:");
    }
    let name = fields[0];
    if name.is_empty() {
        return invalid(n, None, "the user field is empty");
    }
    let Some(flags) = fields[4]
        .strip_prefix('[')
        .and_then(|f| f.strip_suffix(']'))
    else {
        return invalid(n, Some(name), "the account flags field is not [...]");
    };
    let mut uac = 0;
    for flag in flags.chars() {
        uac |= match flag {
            'U' => UF_NORMAL_ACCOUNT,
            'D' => UF_ACCOUNTDISABLE,
            'W' => UF_WORKSTATION_TRUST_ACCOUNT,
            'S' => UF_SERVER_TRUST_ACCOUNT,
            'I' => UF_INTERDOMAIN_TRUST_ACCOUNT,
            'N' => UF_PASSWD_NOTREQD,
            'X' => UF_DONT_EXPIRE_PASSWD,
            'L' => UF_LOCKOUT,
            // Home directory required, temporary duplicate, MNS logon: nothing to sync by.
            ' ' | 'H' | 'T' | 'M' => 0,
            _ => return invalid(n, Some(name), "unknown account flag"),
        };
    }
    let Some(lct) = fields[5]
        .strip_prefix("LCT-")
        // from_str_radix would also take a sign: require eight hex digits.
        .filter(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
    else {
        return invalid(
            n,
            Some(name),
            "the last-change field is not LCT-<8 hex digits>",
        );
    };
    // pwdLastSet as FILETIME; 0 stays 0 (must change at next logon).
    let pwd_last_set = match lct {
        0 => 0,
        t => (i64::from(t) + SECS_1601_TO_1970) * 10_000_000,
    };
    // Trust accounts need no other mark: the policy skips the trust bits as not_a_user.
    let mut item = account(n, Some(name), fields[3], None, Some(uac), false);
    if let Ok(a) = &mut item {
        a.pwd_last_set = Some(pwd_last_set);
    }
    item
}

fn account(
    n: u64,
    name: Option<&str>,
    nt_field: &str,
    rid: Option<u32>,
    uac: Option<u32>,
    history: bool,
) -> SourceItem {
    // pwdump writes `NO PASSWORD*…`, smbpasswd 32 X's.
    let password = if nt_field.starts_with("NO PASSWORD")
        || (nt_field.len() == 32 && nt_field.bytes().all(|b| b == b'X'))
    {
        PasswordState::NoValue
    } else {
        match NtHash::from_hex(nt_field) {
            Ok(_) if history => PasswordState::History,
            Ok(nt) => PasswordState::Present(nt),
            Err(_) => return invalid(n, name, "the NT hash field is not 32 hex digits"),
        }
    };
    let kind = if name.is_some_and(|s| s.ends_with('$')) {
        ObjectKind::Computer
    } else {
        ObjectKind::User
    };
    let mut a = SyncAccount::from_nt_hash(name.unwrap_or_default(), NtHash::from_bytes([0; 16]));
    a.identity.sam_account_name = name.map(str::to_owned);
    a.kind = kind;
    a.rid = rid;
    a.user_account_control = uac;
    a.password = password;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NT: &str = "92937945b518814341de3f726500d4ff";

    fn ok(item: SourceItem) -> SyncAccount {
        item.unwrap_or_else(|e| panic!("{}", e.detail))
    }

    #[test]
    fn formats() {
        let line =
            format!("CORP\\alice:1104:aad3b435b51404eeaad3b435b51404ee:{NT}::: (status=Disabled)");
        let a = ok(parse_line(1, &line, Format::Auto));
        assert_eq!(a.identity.sam_account_name.as_deref(), Some("alice"));
        assert_eq!((a.rid, a.user_account_control), (Some(1104), Some(0x202)));
        assert!(matches!(a.password, PasswordState::Present(_)));
        let a = ok(parse_line(2, &format!("bob:{NT}"), Format::Auto));
        assert_eq!(a.identity.sam_account_name.as_deref(), Some("bob"));
        let a = ok(parse_line(3, NT, Format::Auto));
        assert_eq!(a.identity.sam_account_name, None);
        let h = format!("alice_history0:1104:aad3b435b51404eeaad3b435b51404ee:{NT}:::");
        assert!(matches!(
            ok(parse_line(4, &h, Format::Pwdump)).password,
            PasswordState::History
        ));
        let m = format!("WS01$:1105:aad3b435b51404eeaad3b435b51404ee:{NT}:::");
        assert_eq!(
            ok(parse_line(5, &m, Format::Auto)).kind,
            ObjectKind::Computer
        );
    }

    #[test]
    fn smbpasswd_flags_and_last_change() {
        let a = ok(parse_line(
            1,
            &format!(
                "alice:4294967295:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:{NT}:[U          ]:LCT-6B0BD5C1:"
            ),
            Format::Auto,
        ));
        assert_eq!(a.identity.sam_account_name.as_deref(), Some("alice"));
        assert_eq!((a.rid, a.user_account_control), (None, Some(0x200)));
        assert_eq!(
            a.pwd_last_set,
            Some((0x6B0B_D5C1 + SECS_1601_TO_1970) * 10_000_000)
        );
        assert!(matches!(a.password, PasswordState::Present(_)));
        let d = ok(parse_line(
            2,
            &format!("krbtgt:1:XX:{NT}:[DU         ]:LCT-6B0BD5BE:"),
            Format::Auto,
        ));
        assert_eq!(d.user_account_control, Some(0x202));
        let t = ok(parse_line(
            3,
            &format!("bob:1:XX:{NT}:[U          ]:LCT-00000000:"),
            Format::Auto,
        ));
        assert_eq!(t.pwd_last_set, Some(0));
        let none = "nopw:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[NDU        ]:LCT-00000000:";
        assert!(matches!(
            ok(parse_line(4, none, Format::Auto)).password,
            PasswordState::NoValue
        ));
        let dc = ok(parse_line(
            5,
            &format!("DC1$:1:XX:{NT}:[S          ]:LCT-6B0BD5BE:"),
            Format::Auto,
        ));
        assert_eq!(dc.kind, ObjectKind::Computer);
        for (line, what) in [
            (
                format!("eve:1:XX:{NT}:[U?]:LCT-6B0BD5BE:"),
                "unknown account flag",
            ),
            (format!("eve:1:XX:{NT}:[U]:LCT-6B0B:"), "LCT-"),
            (format!("eve:1:XX:{NT}:[U]:LCT-+B0BD5BE:"), "LCT-"),
            (format!("eve:1:XX:{NT}:U:LCT-6B0BD5BE:"), "flags"),
        ] {
            let e = parse_line(9, &line, Format::Smbpasswd).unwrap_err();
            assert!(e.detail.contains(what), "{}", e.detail);
        }
    }

    #[test]
    fn malformed_lines_name_the_line_and_never_echo_the_hash() {
        let bad = "alice:1104:aad3b435b51404eeaad3b435b51404ee:92937945b518814341de3f726500d4f:::";
        for (line, format) in [
            (bad, Format::Auto),
            ("a:b:c", Format::Auto),
            ("zz", Format::Nt),
        ] {
            let e = parse_line(7, line, format).unwrap_err();
            assert_eq!(e.reason, FailReason::InvalidInput);
            assert!(e.detail.starts_with("line 7: "), "{}", e.detail);
            assert!(!e.detail.contains("92937945"), "{}", e.detail);
        }
    }
}
