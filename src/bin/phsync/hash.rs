//! `phsync hash`: NT hashes from other tools, one outcome per input line, streamed.
//!
//! | format | a line |
//! |---|---|
//! | `pwdump` | `[DOMAIN\]user:rid:lmhash:nthash:::` as secretsdump and pwdump write it, optionally followed by `(status=Enabled)`, `(pwdLastSet=…)`; `user_historyN` lines are history entries (skipped as `password_history`), `user$` machine accounts are not users, `NO PASSWORD***…` means no password |
//! | `hashcat` | `user:nthash` |
//! | `nt` | `nthash` (no name: synced without one) |
//!
//! `auto` (the default) tells them apart per line by the number of `:`-separated fields.
//! Blank lines and lines starting with `#` are not inputs and get no outcome. A malformed line
//! is one `failed` outcome (`invalid_input`) whose detail names the line and the field — never
//! the hash — and the run goes on.

use std::io::{BufRead, BufReader, BufWriter, Read};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use phsync::NtHash;
use phsync::batch::{
    CancelToken, FailReason, Identity, ObjectKind, PasswordState, Runner, SourceFailure,
    SourceItem, SyncAccount, UF_ACCOUNTDISABLE,
};

use crate::output::{self, JsonLines};
use crate::{PolicyArgs, Status};

/// Longest line read whole; longer ones are one `invalid_input` outcome (bounded memory).
const MAX_LINE: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Auto,
    Pwdump,
    Hashcat,
    Nt,
}

#[derive(Args)]
pub struct HashArgs {
    /// The input's format.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// The input file; `-` or nothing for stdin.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// `phsync hash`.
pub fn run(args: HashArgs) -> Status {
    if args.policy.state.is_some() {
        eprintln!(
            "phsync: hash --state is not supported yet: change detection for NT-hash input would \
             have to remember a fingerprint of each hash, which the state store does not keep"
        );
        return Status::Usage;
    }
    let reader: Box<dyn Read> = match args.input.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("phsync: {}: {e}", p.display());
                return Status::Failed;
            }
        },
    };
    let mut policy = args.policy.policy();
    // Bare hashes carry no name (the parser gives every other format one).
    policy.require_sam_account_name = false;
    let bar = output::progress_bar(args.policy.quiet, "lines");
    let progress = |s: &phsync::batch::Summary| output::show(&bar, s);
    let stop = CancelToken::new();
    let runner = Runner::new(policy)
        .on_progress(&progress)
        .cancel_token(stop.clone());
    let mut out = JsonLines::new(BufWriter::new(std::io::stdout().lock()), stop, true);
    let started = Instant::now();
    let mut lines = Lines {
        reader: BufReader::new(reader),
        number: 0,
        error: None,
    };
    let format = args.format;
    let items = std::iter::from_fn(|| lines.next_item(format));
    let summary = runner.run(items, |o| out.write(&o));
    if let Err(status) = output::end(&bar, &mut out) {
        return status;
    }
    if !args.policy.quiet {
        output::summary("lines", &summary, 0, started);
    }
    if let Some(e) = lines.error {
        eprintln!(
            "phsync: reading the input stopped at line {}: {e}",
            lines.number
        );
        return Status::Failed;
    }
    if summary.failed > 0 {
        Status::Failed
    } else {
        Status::Ok
    }
}

struct Lines<R> {
    reader: R,
    number: u64,
    error: Option<std::io::Error>,
}

impl<R: BufRead> Lines<R> {
    /// The next input line's item; `None` at the end (or after a read error).
    fn next_item(&mut self, format: Format) -> Option<SourceItem> {
        loop {
            let mut line = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
            self.number += 1;
            if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
                if let Err(e) = self.skip_rest() {
                    self.error = Some(e);
                }
                return Some(invalid(self.number, None, "longer than 64 KiB"));
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                return Some(invalid(self.number, None, "not UTF-8"));
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(parse_line(self.number, text, format));
        }
    }

    fn skip_rest(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if let Some(i) = buf.iter().position(|&b| b == b'\n') {
                self.reader.consume(i + 1);
                return Ok(());
            }
            let n = buf.len();
            self.reader.consume(n);
        }
    }
}

fn invalid(line: u64, sam: Option<&str>, what: &str) -> SourceItem {
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

fn parse_line(n: u64, line: &str, format: Format) -> SourceItem {
    let fields: Vec<&str> = line.split(':').collect();
    let format = match format {
        Format::Auto => match fields.len() {
            1 => Format::Nt,
            2 => Format::Hashcat,
            7.. => Format::Pwdump,
            k => {
                return invalid(
                    n,
                    None,
                    &format!(
                        "{k} ':'-separated fields: not pwdump (7), hashcat (2) or a bare hash (1)"
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

fn account(
    n: u64,
    name: Option<&str>,
    nt_field: &str,
    rid: Option<u32>,
    uac: Option<u32>,
    history: bool,
) -> SourceItem {
    let password = if nt_field.starts_with("NO PASSWORD") {
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
