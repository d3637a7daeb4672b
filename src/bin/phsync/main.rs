//! `phsync`: password hash sync from the command line (feature `cli`).
//!
//! ```text
//! phsync                                   the bundled real capture (a Samba AD DC)
//! phsync replay [OPTIONS] REPLY.bin ...    captured IDL_DRSGetNCChanges replies
//! phsync sync --dc HOST --domain NAME --user USER [OPTIONS]
//!                                          replicate from a domain controller
//! phsync hash [--format F] [FILE|-]        NT hashes from secretsdump/pwdump, hashcat, bare hex
//! phsync verify VERIFIER                   check a password (stdin) against a verifier
//! phsync bench [--seconds N] [--threads N] every kernel this CPU runs vs the pbkdf2 crate
//! ```
//!
//! stdout carries JSON Lines only (one outcome per account, in input order); progress, the
//! summary and errors go to stderr. Exit status: 0 everything processed, 1 some input could not
//! be read or some objects failed (after everything processable was printed and the state
//! committed), 2 usage. Secrets never come from argv: session keys from `--session-key-file`
//! or `PHSYNC_SESSION_KEY`, the DC password from `--password-file` or `PHSYNC_PASSWORD`, the
//! password to verify from stdin.

/// The command allocates and frees several small blocks per replicated object, on other
/// threads than the ones that allocated them (decoding, decryption, merge and output run on
/// different threads). glibc's malloc serves that pattern poorly: with jemalloc the main job
/// (`phsync replay`, BENCHMARKS.md "pipeline") runs 15-20 % faster on one core and on two.
/// The library does not choose an allocator; a program embedding it chooses its own.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod bench;
mod follow_up;
mod hash;
mod hash_formats;
mod input;
mod keys;
mod output;
mod replay;
mod sync;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use phsync::Iterations;
use phsync::batch::SyncPolicy;
use phsync::state::SqliteStore;

/// Password hash synchronization from Active Directory to Entra ID: NT hashes in, cloud
/// verifiers (`v1;PPH1_MD4,…;`) out, one JSON line per account.
#[derive(Parser)]
#[command(name = "phsync", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Decrypt captured IDL_DRSGetNCChanges replies and sync their accounts.
    Replay(replay::ReplayArgs),
    /// Replicate from a domain controller (sealed DCE/RPC, NTLM or Kerberos) and sync every
    /// account; with --state, later runs sync only what changed.
    Sync(sync::SyncArgs),
    /// Sync NT hashes from other tools: secretsdump/pwdump, hashcat `user:hash`, bare hex.
    Hash(hash::HashArgs),
    /// Check a password (read from stdin) against a verifier: exit 0 if it verifies, 1 if
    /// not, 2 if the verifier is malformed or refused.
    Verify(verify::VerifyArgs),
    /// Benchmark every hashing kernel this CPU runs against the pbkdf2 crate.
    Bench(bench::BenchArgs),
}

/// The sync policy and output options shared by `replay` and `hash`.
#[derive(Args, Clone, Debug)]
struct PolicyArgs {
    /// The incremental-sync state store (an SQLite file, created if missing).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// PBKDF2 iterations.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,
    /// Sync pwdLastSet = 0 accounts with `must_change_password: true` (Entra Connect's
    /// ForcePasswordChangeOnLogOn) instead of skipping them as `temporary_password`.
    #[arg(long)]
    force_change_password: bool,
    /// Sync disabled accounts too.
    #[arg(long)]
    include_disabled: bool,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

impl PolicyArgs {
    /// The `--state` store boxed by `boxed`, or `without()` when none is given; an error
    /// opening it is printed and ends the run.
    fn state<S: ?Sized>(
        &self,
        boxed: impl FnOnce(SqliteStore) -> Box<S>,
        without: impl FnOnce() -> Box<S>,
    ) -> Result<Box<S>, Status> {
        match &self.state {
            Some(path) => SqliteStore::open(path).map(boxed).map_err(|e| {
                eprintln!("phsync: {e}");
                Status::Failed
            }),
            None => Ok(without()),
        }
    }

    fn policy(&self) -> SyncPolicy {
        SyncPolicy {
            iterations: Iterations::new(self.iterations).unwrap_or(Iterations::DEFAULT),
            force_password_change_on_logon: self.force_change_password,
            include_disabled: self.include_disabled,
            ..SyncPolicy::default()
        }
    }
}

/// How a subcommand ended: 0, 1 or 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Everything processed.
    Ok,
    /// Some input could not be read or some objects failed.
    Failed,
    /// Bad arguments or a refused input (a verifier, a secret on argv).
    Usage,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        match s {
            Status::Ok => ExitCode::SUCCESS,
            Status::Failed => ExitCode::from(1),
            Status::Usage => ExitCode::from(2),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The library never prints; the command says when PHSYNC_BACKEND could not be honoured.
    if std::env::var_os(phsync::kdf::BACKEND_ENV).is_some()
        && let Some(problem) = &phsync::kdf::selection().override_problem
    {
        eprintln!("phsync: {problem}; using the detected kernel");
    }
    let status = match cli.command {
        None => replay::bundled(),
        Some(Command::Replay(args)) => replay::run(args),
        Some(Command::Sync(args)) => sync::run(args),
        Some(Command::Hash(args)) => hash::run(args),
        Some(Command::Verify(args)) => verify::run(args),
        Some(Command::Bench(args)) => bench::run(args),
    };
    status.into()
}
