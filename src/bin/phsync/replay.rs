//! `phsync replay`: captured `IDL_DRSGetNCChanges` replies → one outcome per account, merged
//! with the state store when `--state` is given. `phsync` with no arguments replays the bundled
//! capture.

use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use phsync::batch::{CancelToken, DrsSync, HeldBack, Runner, SyncReport};
use phsync::drs::SessionKey;
use phsync::state::{NoStore, StateStore};

use crate::output::{self, JsonLines};
use crate::{PolicyArgs, Status, keys};

/// The bundled input: a real capture from a Samba 4.17 AD DC, replicated by Samba's own client
/// over Kerberos (32-byte session key), the whole domain NC in three chunks.
const BUNDLED: [&[u8]; 3] = [
    include_bytes!("../../../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-000.bin"),
    include_bytes!("../../../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-001.bin"),
    include_bytes!("../../../tests/fixtures/samba-a/bin/samba-krb5-nc/reply-002.bin"),
];
/// The session key of that capture (from `tests/fixtures/samba-a/truth.json`). Public test
/// data: it decrypts nothing but this bundled capture.
const BUNDLED_KEY: &str = "47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3";

#[derive(Args)]
pub struct ReplayArgs {
    /// Reply files: each the NDR20 output of one call ([u32 pdwOutVersion][u32 union tag]
    /// [reply][u32 WERROR]), in replication order.
    #[arg(required = true, value_name = "REPLY.bin")]
    files: Vec<PathBuf>,
    /// A file holding the RPC session key in hex (16 bytes NTLM, 32 bytes Kerberos).
    /// Repeatable for key rollover, newest first. Or set PHSYNC_SESSION_KEY (hex,
    /// comma-separated).
    #[arg(long, value_name = "PATH")]
    session_key_file: Vec<PathBuf>,
    /// Refused: a key on the command line is visible to every user (ps, shell history).
    #[arg(long, hide = true, value_name = "HEX")]
    session_key: Option<String>,
    /// Print objects that are not user accounts too (containers, groups, computers…);
    /// by default they are only counted in the summary.
    #[arg(long)]
    all_objects: bool,
    #[command(flatten)]
    policy: PolicyArgs,
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

    /// How to get reply `i`'s bytes: run on one of the library's read-ahead workers, which
    /// then decodes them (`DrsSync::run_loads_to`).
    fn loader(&self, i: usize) -> impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static {
        let file = match self {
            Input::Files(files) => Some(files[i].clone()),
            Input::Bundled => None,
        };
        move || match file {
            Some(file) => crate::input::read_file(&file, crate::input::MAX_REPLY_FILE),
            None => Ok(BUNDLED[i].to_vec()),
        }
    }

    /// What reply `i` is called in messages.
    fn name(&self, i: usize) -> String {
        match self {
            Input::Files(files) => files[i].display().to_string(),
            Input::Bundled => format!("bundled reply {i}"),
        }
    }
}

/// `phsync` with no arguments.
pub fn bundled() -> Status {
    eprintln!(
        "phsync: no subcommand; replaying the bundled capture (Samba 4.17 AD DC, Kerberos \
         session key, whole domain in 3 replies). See `phsync --help`."
    );
    let key = match SessionKey::from_hex(BUNDLED_KEY) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("phsync: bundled key: {e}");
            return Status::Failed;
        }
    };
    let policy = PolicyArgs {
        state: None,
        iterations: 1000,
        force_change_password: false,
        include_disabled: false,
        quiet: false,
    };
    sync(Input::Bundled, vec![key], &policy, false)
}

/// `phsync replay`.
pub fn run(args: ReplayArgs) -> Status {
    if args.session_key.is_some() {
        eprintln!(
            "phsync: --session-key is refused: a key on the command line is visible in `ps` \
             and shell history. Put it in a file (--session-key-file PATH, hex) or in the \
             environment ({}=HEX[,HEX…]).",
            keys::ENV
        );
        return Status::Usage;
    }
    let keys = match keys::load(&args.session_key_file) {
        Ok(k) if k.is_empty() => {
            eprintln!(
                "phsync: no session key: give --session-key-file PATH or set {}",
                keys::ENV
            );
            return Status::Usage;
        }
        Ok(k) => k,
        Err(e) => {
            eprintln!("phsync: {e}");
            return Status::Usage;
        }
    };
    sync(
        Input::Files(args.files),
        keys,
        &args.policy,
        args.all_objects,
    )
}

fn sync(input: Input, keys: Vec<SessionKey>, args: &PolicyArgs, all_objects: bool) -> Status {
    let store = match args.state(|s| Box::new(s) as Box<dyn StateStore>, || Box::new(NoStore)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let bar = output::progress_bar(args.quiet, "objects");
    let progress = |s: &phsync::batch::Summary| output::show(&bar, s);
    let stop = CancelToken::new();
    let runner = Runner::new(args.policy())
        .on_progress(&progress)
        .cancel_token(stop.clone());
    let mut out = JsonLines::new(BufWriter::new(std::io::stdout().lock()), stop, all_objects);
    let started = Instant::now();
    let mut sync = DrsSync::new(store, keys);
    // A pipeline: the library's read-ahead workers read the reply files, decode and decrypt
    // them, this thread merges and writes, and the pool hashes.
    let loads = (0..input.len()).map(|i| input.loader(i));
    let report = sync.run_loads_to(&runner, loads, &mut out);
    let report = report.map(|mut report| {
        for (i, error) in &mut report.unreadable {
            *error = format!("{}: {error}", input.name(*i));
        }
        report
    });
    if let Err(status) = output::end(&bar, &mut out) {
        return status;
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("phsync: {e}");
            return Status::Failed;
        }
    };
    if !args.quiet {
        output::summary("objects", &report.summary, out.hidden, started);
    }
    explain(&report, args)
}

/// Names every unreadable file and every failure class on stderr; the exit status.
pub fn explain(report: &SyncReport, args: &PolicyArgs) -> Status {
    for (_, error) in &report.unreadable {
        eprintln!("phsync: {error}");
    }
    if let (Some(path), Some(held)) = (&args.state, &report.held_back) {
        let at = match held {
            HeldBack::Unreadable { index, .. } => format!("reply {} (unreadable)", index + 1),
            HeldBack::FailedObjects { index, failed } => {
                format!("reply {} ({failed} objects failed)", index + 1)
            }
            _ => "the point where the run stopped".to_owned(),
        };
        eprintln!(
            "phsync: {}: the replication watermark stays before {at}; the next run asks for \
             those changes again",
            path.display()
        );
    }
    let count = |reason: &str| report.summary.reasons.get(reason).copied().unwrap_or(0);
    if count("decrypt_failed") > 0 {
        eprintln!(
            "phsync: {} objects failed to decrypt: is the session key the one of the \
             connection that received these replies?",
            count("decrypt_failed")
        );
    }
    if count("unknown_object") > 0 {
        eprintln!(
            "phsync: {} objects of an incremental reply are unknown to {}: replay a full \
             replication first",
            count("unknown_object"),
            match &args.state {
                Some(path) => format!("the state store {}", path.display()),
                None => "this run (no --state given)".to_owned(),
            }
        );
    }
    if report.unreadable.is_empty() && report.summary.failed == 0 {
        Status::Ok
    } else {
        Status::Failed
    }
}
