//! The main job: GetNCChanges replies in, one JSON line per replicated object out.
//!
//! ```text
//! cargo run --release --example phsync                      # the bundled real Samba capture
//! cargo run --release --example phsync -- --session-key HEX reply-000.bin reply-001.bin …
//! ```
//!
//! Each file holds one `IDL_DRSGetNCChanges` output stub (NDR20: `[u32 pdwOutVersion][u32 union
//! tag][reply body][u32 WERROR]`). Objects are decrypted with the session key(s), run through
//! the Entra Connect-like sync policy, and hashed on every core. stdout gets exactly one JSON
//! object per replicated object, in input order (README.md, "The main job"); progress
//! and a summary go to stderr. Exit status: 0 when every object was processed, 1 when a file
//! could not be read or decoded or objects failed to decrypt (after printing everything that
//! could be processed), 2 for bad arguments.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phsync::Iterations;
use phsync::batch::{
    CancelToken, DrsSync, HeldBack, Outcome, OutcomeSink, Runner, Summary, SyncPolicy,
};
use phsync::drs::{Reply, SessionKey};
use phsync::state::{NoStore, StateStore};

/// The bundled input: a real capture from a Samba 4.17 AD DC, replicated by Samba's own client
/// over Kerberos (32-byte session key), the whole domain NC in three chunks.
const BUNDLED: [&[u8]; 3] = [
    include_bytes!("../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-000.bin"),
    include_bytes!("../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-001.bin"),
    include_bytes!("../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-002.bin"),
];
/// The session key of that capture (from `tests/fixtures/samba-a/truth.json`).
const BUNDLED_KEY: &str = "47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3";

const USAGE: &str = "\
usage: phsync [OPTIONS] [REPLY.bin ...]

Reads IDL_DRSGetNCChanges replies, decrypts the NT hashes, applies the sync policy and prints
one JSON object per replicated object on stdout. With no files, runs on a bundled real capture.

options:
  --session-key HEX         RPC session key (16 bytes NTLM, 32 bytes Kerberos); required with
                            files; repeat it for key rollover (newest first)
  --iterations N            PBKDF2 iterations (default 1000)
  --force-change-password   sync pwdLastSet=0 accounts with must_change_password (Entra
                            Connect's ForcePasswordChangeOnLogOn) instead of skipping them
  --include-disabled        sync disabled accounts too
  --state FILE              the incremental-sync state store (an SQLite file, created if
                            missing; needs --features sqlite): objects of incremental
                            replies are merged with what it remembers, unchanged passwords
                            are skipped as \"unchanged\", and each reply's state and
                            watermark are committed once its lines are written
  --quiet                   no progress bar and no summary
  -h, --help                this text";

struct Options {
    keys: Vec<SessionKey>,
    policy: SyncPolicy,
    state_file: Option<PathBuf>,
    files: Vec<PathBuf>,
    quiet: bool,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("phsync: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("phsync: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        keys: Vec::new(),
        policy: SyncPolicy::default(),
        state_file: None,
        files: Vec::new(),
        quiet: false,
    };
    let mut args = args.peekable();
    let mut only_files = false;
    while let Some(arg) = args.next() {
        if only_files || !arg.starts_with('-') {
            options.files.push(arg.into());
            continue;
        }
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value (try --help)"))
        };
        match arg.as_str() {
            "--" => only_files = true,
            "-h" | "--help" => return Ok(None),
            "--session-key" => {
                let hex = value("--session-key")?;
                let key = SessionKey::from_hex(&hex).map_err(|e| format!("--session-key: {e}"))?;
                options.keys.push(key);
            }
            "--iterations" => {
                let n = value("--iterations")?;
                options.policy.iterations = n
                    .parse::<u32>()
                    .ok()
                    .and_then(Iterations::new)
                    .ok_or_else(|| format!("--iterations: expected 1..=4294967295, got {n:?}"))?;
            }
            "--force-change-password" => options.policy.force_password_change_on_logon = true,
            "--include-disabled" => options.policy.include_disabled = true,
            "--state" => options.state_file = Some(value("--state")?.into()),
            "--quiet" => options.quiet = true,
            other => return Err(format!("unknown option {other:?} (try --help)")),
        }
    }
    if !options.files.is_empty() && options.keys.is_empty() {
        return Err("--session-key is required when reply files are given".into());
    }
    Ok(Some(options))
}

/// stdout as JSON Lines: flushed before every state commit, so a committed reply's lines have
/// left the process.
struct JsonLines<W: Write> {
    out: W,
    error: Option<std::io::Error>,
    stop: CancelToken,
}

impl<W: Write> OutcomeSink for &mut JsonLines<W> {
    fn outcome(&mut self, outcome: Outcome) {
        if self.error.is_none() {
            let line = serde_json::to_writer(&mut self.out, &outcome)
                .map_err(std::io::Error::other)
                .and_then(|()| self.out.write_all(b"\n"));
            if let Err(e) = line {
                self.error = Some(e);
                self.stop.cancel();
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &self.error {
            Some(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            None => self.out.flush(),
        }
    }
}

/// The replies, read and decoded one at a time as the runner asks for objects.
enum Input {
    Files(Vec<PathBuf>),
    Bundled,
}

impl Input {
    fn len(&self) -> usize {
        match self {
            Input::Files(f) => f.len(),
            Input::Bundled => BUNDLED.len(),
        }
    }

    fn load(&self, i: usize) -> Result<Reply, String> {
        let (name, bytes) = match self {
            Input::Files(files) => {
                let path = &files[i];
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                (path.display().to_string(), bytes)
            }
            Input::Bundled => (format!("bundled reply {i}"), BUNDLED[i].to_vec()),
        };
        Reply::decode(&bytes).map_err(|e| format!("{name}: not a GetNCChanges reply: {e}"))
    }
}

#[cfg(feature = "sqlite")]
fn open_store(path: &std::path::Path) -> Result<Box<dyn StateStore>, String> {
    phsync::state::SqliteStore::open(path)
        .map(|s| Box::new(s) as Box<dyn StateStore>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "sqlite"))]
fn open_store(path: &std::path::Path) -> Result<Box<dyn StateStore>, String> {
    Err(format!(
        "--state {}: this build has no state store (build with --features sqlite)",
        path.display()
    ))
}

fn run(options: Options) -> Result<(), String> {
    let Options {
        mut keys,
        policy,
        state_file,
        files,
        quiet,
    } = options;
    let input = if files.is_empty() {
        if !quiet {
            eprintln!(
                "phsync: no reply files given; using the bundled capture (Samba 4.17 AD DC, \
                 Kerberos session key, whole domain in 3 replies)"
            );
        }
        keys = vec![SessionKey::from_hex(BUNDLED_KEY).map_err(|e| e.to_string())?];
        Input::Bundled
    } else {
        Input::Files(files)
    };

    let store: Box<dyn StateStore> = match &state_file {
        Some(path) => open_store(path)?,
        None => Box::new(NoStore),
    };
    // Replies are read and decoded lazily; a file that cannot be read is reported and the
    // remaining files are still processed (the state's watermark then stays before it).
    let replies = (0..input.len()).map(|i| input.load(i));

    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} objects, {per_sec} [{elapsed}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    };
    let progress = |s: &Summary| {
        bar.set_position(s.total);
        bar.set_message(format!(
            "{} synced, {} skipped, {} failed",
            s.synced, s.skipped, s.failed
        ));
    };

    let started = Instant::now();
    // A reader that goes away (e.g. `| head`) stops the run instead of hashing for nobody.
    let stop = CancelToken::new();
    let runner = Runner::new(policy)
        .on_progress(&progress)
        .cancel_token(stop.clone());
    let mut out = JsonLines {
        out: BufWriter::new(std::io::stdout().lock()),
        error: None,
        stop: stop.clone(),
    };
    let mut sync = DrsSync::new(store, keys);
    let report = sync.run_to(&runner, replies, &mut out);
    let flushed = out.out.flush();
    bar.finish_and_clear();
    match out.error.take().or(flushed.err()) {
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Some(e) => return Err(format!("cannot write to stdout: {e}")),
        None => {}
    }
    let report = report.map_err(|e| e.to_string())?;
    let summary = &report.summary;

    if !quiet {
        let secs = started.elapsed().as_secs_f64();
        let reasons: Vec<String> = summary
            .reasons
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        eprintln!(
            "phsync: {} objects in {:.2} s: {} synced, {} skipped, {} failed ({})",
            summary.total,
            secs,
            summary.synced,
            summary.skipped,
            summary.failed,
            reasons.join(", ")
        );
    }

    for (_, error) in &report.unreadable {
        eprintln!("phsync: {error}");
    }
    if let (Some(path), Some(held)) = (&state_file, &report.held_back) {
        eprintln!(
            "phsync: {}: replication watermark not advanced past {}: the next run asks for \
             those changes again",
            path.display(),
            match held {
                HeldBack::Unreadable { index, .. } => format!("reply {index} (unreadable)"),
                HeldBack::FailedObjects { index, failed } =>
                    format!("reply {index} ({failed} objects failed)"),
                _ => "the point where the run stopped".to_owned(),
            }
        );
    }
    let undecryptable = summary.reasons.get("decrypt_failed").copied().unwrap_or(0);
    if undecryptable > 0 {
        return Err(format!(
            "{undecryptable} objects failed to decrypt: is --session-key the key of the \
             connection that received these replies?"
        ));
    }
    let unknown = summary.reasons.get("unknown_object").copied().unwrap_or(0);
    if unknown > 0 {
        return Err(format!(
            "{unknown} objects of an incremental reply are unknown to {}: run a full \
             replication first",
            match &state_file {
                Some(path) => format!("the state store {}", path.display()),
                None => "this run (no --state given)".to_owned(),
            }
        ));
    }
    if !report.unreadable.is_empty() || summary.failed > 0 {
        return Err(format!(
            "{} unreadable replies, {} objects failed",
            report.unreadable.len(),
            summary.failed
        ));
    }
    Ok(())
}
