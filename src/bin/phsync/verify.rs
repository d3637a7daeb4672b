//! `phsync verify VERIFIER`: the password (or, with `--nt-hash`, the NT hash in hex) on
//! stdin, never on the command line. Exit 0 verifies, 1 does not, 2 malformed or refused.

use clap::Args;
use phsync::{CloudVerifier, Iterations, NtHash};

use crate::Status;

/// Longest stdin accepted: a password of up to 1024 bytes and its line end.
const MAX_INPUT: usize = 1026;

#[derive(Args)]
pub struct VerifyArgs {
    /// The verifier: `v1;PPH1_MD4,<salt hex>,<iterations>,<hash hex>;`.
    verifier: String,
    /// stdin holds the NT hash (32 hex digits) instead of the password.
    #[arg(long)]
    nt_hash: bool,
    /// Allow verifiers claiming up to N iterations (default 100000, the library's
    /// `Iterations::MAX_PARSED`): a hostile `…,4294967295,…` string would otherwise keep the
    /// CPU busy for hours.
    #[arg(long, value_name = "N", default_value_t = Iterations::MAX_PARSED.get(),
          value_parser = clap::value_parser!(u32).range(1..))]
    max_iterations: u32,
    /// Print nothing; the exit status says it.
    #[arg(short, long)]
    quiet: bool,
}

/// `phsync verify`.
pub fn run(args: VerifyArgs) -> Status {
    let say = |msg: &str| {
        if !args.quiet {
            eprintln!("phsync: {msg}");
        }
    };
    let max = Iterations::new(args.max_iterations).unwrap_or(Iterations::MAX_PARSED);
    let verifier = match CloudVerifier::parse_with_max_iterations(&args.verifier, max) {
        Ok(v) => v,
        Err(e) => {
            say(&format!("refused: {e}"));
            return Status::Usage;
        }
    };
    let input = match crate::input::read_secret(std::io::stdin().lock(), MAX_INPUT) {
        Ok(input) => input,
        Err(e) => {
            say(&format!("stdin: {e}"));
            return Status::Usage;
        }
    };
    // One line: drop the line end a shell or `echo` adds, nothing else (spaces are password).
    let mut end = input.len();
    if input[..end].ends_with(b"\n") {
        end -= 1;
    }
    if input[..end].ends_with(b"\r") {
        end -= 1;
    }
    let Ok(text) = std::str::from_utf8(&input[..end]) else {
        say("stdin is not UTF-8");
        return Status::Usage;
    };
    let ok = if args.nt_hash {
        match NtHash::from_hex(text.trim()) {
            Ok(nt) => verifier.verify_nt_hash(&nt),
            Err(e) => {
                say(&format!("stdin: {e}"));
                return Status::Usage;
            }
        }
    } else {
        verifier.verify_password(text)
    };
    if ok {
        say("verifies");
        Status::Ok
    } else {
        say("does not verify");
        Status::Failed
    }
}
