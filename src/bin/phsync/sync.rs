//! `phsync sync`: replicate the domain naming context from a domain controller (sealed
//! DCE/RPC, NTLM or Kerberos) and sync every account; with `--state`, later runs ask only for
//! what changed since the last committed watermark.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use phsync::batch::{CancelToken, DrsSync, Runner, Summary, SyncReport};
use phsync::dc::{
    CycleOptions, DcConfig, DcError, Identity, Mechanism, Position, Replication, Schema, Session,
    fetch_object,
};
use phsync::drs::Reply;
use phsync::state::{MemoryStore, StateStore};
use zeroize::Zeroizing;

use crate::follow_up;
use crate::output::{self, JsonLines};
use crate::{PolicyArgs, Status, replay};

/// Where the password comes from when `--password-file` is not given.
const PASSWORD_ENV: &str = "PHSYNC_PASSWORD";

#[derive(Args)]
pub struct SyncArgs {
    /// The domain controller: DNS name or IP address.
    #[arg(long, value_name = "HOST")]
    dc: String,
    /// The domain's DNS name (e.g. corp.example.com): names the naming context replicated
    /// (DC=corp,DC=example,DC=com) and, for Kerberos, the realm.
    #[arg(long, value_name = "NAME")]
    domain: String,
    /// The account (sAMAccountName) with the replication rights ("Replicating Directory
    /// Changes" and "… All").
    #[arg(long)]
    user: String,
    /// The account's domain for NTLM, when it differs from --domain (e.g. the NetBIOS name).
    #[arg(long, value_name = "NAME")]
    user_domain: Option<String>,
    /// A file whose first line is the password. Or set PHSYNC_PASSWORD.
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    /// Refused: a password on the command line is visible to every user (ps, shell history).
    #[arg(long, hide = true)]
    password: Option<String>,
    /// Authenticate with Kerberos instead of NTLM.
    #[arg(long)]
    kerberos: bool,
    /// Kerberos realm (default: --domain in upper case).
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
    /// Kerberos KDC, host[:port] (default: --dc, port 88).
    #[arg(long, value_name = "HOST[:PORT]")]
    kdc: Option<String>,
    /// The DC's DNS host name, for its Kerberos service principal name (default: --dc).
    #[arg(long, value_name = "FQDN")]
    dc_name: Option<String>,
    /// DRSUAPI's TCP port (default: ask the endpoint mapper on port 135).
    #[arg(long)]
    port: Option<u16>,
    /// Replicate everything, ignoring the watermark in --state.
    #[arg(long)]
    full: bool,
    /// Objects per reply (cMaxObjects).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    max_objects: u32,
    /// Megabytes per reply (cMaxBytes).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::input::MAX_REPLY_MEGABYTES)))]
    max_megabytes: u32,
    /// Seconds before a connect, read or write gives up.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Reconnections after a dropped connection (each resumes from the last committed
    /// watermark).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Print objects that are not user accounts too; by default they are only counted.
    #[arg(long)]
    all_objects: bool,
    #[command(flatten)]
    policy: PolicyArgs,
}

fn password(args: &SyncArgs) -> Result<Zeroizing<String>, String> {
    if let Some(path) = &args.password_file {
        let bytes = crate::input::read_secret_file(path)?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        let line = text.lines().next().unwrap_or_default();
        return Ok(Zeroizing::new(line.to_owned()));
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) => Ok(Zeroizing::new(p)),
        Err(_) => Err(format!(
            "no password: give --password-file PATH or set {PASSWORD_ENV}"
        )),
    }
}

fn config(args: &SyncArgs, password: Zeroizing<String>) -> DcConfig {
    let mechanism = if args.kerberos {
        let kdc = args.kdc.clone().unwrap_or_else(|| args.dc.clone());
        let kdc = if kdc.contains(':') {
            kdc
        } else {
            format!("{kdc}:88")
        };
        let host = args.dc_name.clone().unwrap_or_else(|| args.dc.clone());
        Mechanism::Kerberos {
            kdc,
            spn: format!("ldap/{host}"),
        }
    } else {
        Mechanism::Ntlm
    };
    let domain = if args.kerberos {
        args.realm
            .clone()
            .unwrap_or_else(|| args.domain.to_uppercase())
    } else {
        args.user_domain
            .clone()
            .unwrap_or_else(|| args.domain.clone())
    };
    let mut config = DcConfig::new(
        args.dc.clone(),
        Identity {
            user: args.user.clone(),
            domain,
            password,
        },
        mechanism,
    );
    config.port = args.port;
    config.timeout = Duration::from_secs(args.timeout);
    config.reply_limit = crate::input::reply_limit(args.max_megabytes);
    config
}

/// `phsync sync`.
pub fn run(args: SyncArgs) -> Status {
    if args.password.is_some() {
        eprintln!(
            "phsync: --password is refused: a password on the command line is visible in `ps` \
             and shell history. Put it in a file (--password-file PATH) or in {PASSWORD_ENV}."
        );
        return Status::Usage;
    }
    let password = match password(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("phsync: {e}");
            return Status::Usage;
        }
    };
    let config = config(&args, password);
    // Without a store, a reconnection still resumes where the lost connection stopped.
    let store = args.policy.state(
        |s| Box::new(s) as Box<dyn StateStore>,
        || Box::new(MemoryStore::new()),
    );
    let mut store = match store {
        Ok(s) => s,
        Err(status) => return status,
    };
    let mut options = CycleOptions::for_domain(&args.domain);
    options.max_objects = args.max_objects;
    options.max_bytes = args.max_megabytes << 20;

    let bar = output::progress_bar(args.policy.quiet, "objects");
    let progress = |s: &Summary| output::show(&bar, s);
    let stop = CancelToken::new();
    let runner = Runner::new(args.policy.policy())
        .on_progress(&progress)
        .cancel_token(stop.clone());
    let mut out = JsonLines::new(
        BufWriter::new(std::io::stdout().lock()),
        stop,
        args.all_objects,
    );
    let started = Instant::now();
    let mut total = SyncReport::default();
    let mut full = args.full;
    let mut attempt = 0;
    let stopped = loop {
        let (next_store, report, stop) = cycle(&config, &options, store, full, &runner, &mut out);
        store = next_store;
        // `--full` holds until a cycle committed a watermark: a retry after a cycle that
        // committed nothing must not fall back to the old watermark.
        if report.watermark.is_some() {
            full = false;
        }
        absorb(&mut total, report);
        match stop {
            None => break None,
            Some(Stop::Dc(e)) if e.is_transient() && attempt < args.retries => {
                attempt += 1;
                eprintln!(
                    "phsync: {e}; reconnecting ({attempt}/{}), resuming from the last committed \
                     watermark",
                    args.retries
                );
                std::thread::sleep(Duration::from_secs(1 << attempt.min(5)));
            }
            Some(stop) => break Some(stop),
        }
    };
    if let Err(status) = output::end(&bar, &mut out) {
        return status;
    }
    if !args.policy.quiet {
        output::summary("objects", &total.summary, out.hidden, started);
    }
    let status = replay::explain(&total, &args.policy);
    match stopped {
        None => status,
        Some(stop) => {
            eprintln!("phsync: {stop}");
            Status::Failed
        }
    }
}

/// Why a connection's cycle ended before the replication was complete.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The DC, the network or the security context.
    Dc(DcError),
    /// The state store could not be read or written.
    Store(phsync::state::StateError),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Dc(e) => e.fmt(f),
            Stop::Store(e) => e.fmt(f),
        }
    }
}

/// One connection: bind, probe, replicate from the stored watermark (or from zero), commit
/// reply by reply.
fn cycle<W: Write>(
    config: &DcConfig,
    options: &CycleOptions,
    store: Box<dyn StateStore>,
    full: bool,
    runner: &Runner<'_>,
    out: &mut JsonLines<W>,
) -> (Box<dyn StateStore>, SyncReport, Option<Stop>) {
    let opened = Session::open(config).and_then(|mut session| {
        let schema = Schema::probe(&mut session, options)?;
        Ok((session, schema))
    });
    let (session, schema) = match opened {
        Ok(x) => x,
        Err(e) => return (store, SyncReport::default(), Some(Stop::Dc(e))),
    };
    let watermark = match store.watermark() {
        Ok(w) => w,
        Err(e) => return (store, SyncReport::default(), Some(Stop::Store(e))),
    };
    let position = match watermark {
        Some(w) if !full && w.source_dsa_invocation_id == schema.source_invocation_id() => {
            Position {
                source_invocation_id: w.source_dsa_invocation_id,
                usn_vec_from: w.usn_vec_to,
                up_to_date: w
                    .up_to_date_vector
                    .iter()
                    .map(|c| (c.dsa_invocation_id, c.usn_high_prop_update))
                    .collect(),
                initial: !w.complete,
            }
        }
        Some(_) if !full => {
            eprintln!(
                "phsync: the stored watermark comes from another domain controller (invocation \
                 id); replicating everything"
            );
            Position::full()
        }
        _ => Position::full(),
    };
    let key = session.session_key().clone();
    let mut replication = Replication::start(session, options.clone(), schema.clone(), position);
    let mut sync = DrsSync::new(store, vec![key.clone()]);
    let mut held = Vec::new();
    let sink = follow_up::Withholding {
        out: &mut *out,
        held: &mut held,
    };
    let report = sync.run_to(runner, (&mut replication).map(Ok::<Reply, DcError>), sink);
    let (error, session) = replication.finish();
    let mut report = match report {
        Ok(r) => r,
        Err(e) => {
            for o in &held {
                out.write(o);
            }
            return (
                sync.into_store(),
                SyncReport::default(),
                Some(Stop::Store(e)),
            );
        }
    };
    let mut store = sync.into_store();
    let Some(mut session) = session.filter(|_| error.is_none()) else {
        for o in &held {
            out.write(o);
        }
        return (store, report, error.map(Stop::Dc));
    };
    if report.summary.cancelled {
        // Stopped (e.g. the output was closed): nothing more is fetched or committed, and what
        // was withheld is written as it is.
        for o in &held {
            out.write(o);
        }
        // Unbinding is a courtesy to the DC; the run ends either way.
        let _ = session.close();
        return (store, report, None);
    }
    if !held.is_empty() {
        let mut fetch = |guid| fetch_object(&mut session, &schema, guid);
        let (s, r, stop) = follow_up::settle(&mut fetch, store, report, key, held, runner, out);
        (store, report) = (s, r);
        if stop.is_some() {
            return (store, report, stop);
        }
    }
    if let Err(e) = session.close() {
        eprintln!("phsync: unbind: {e}");
    }
    (store, report, None)
}

fn absorb(total: &mut SyncReport, r: SyncReport) {
    total.summary.absorb(&r.summary);
    total.replies += r.replies;
    total.committed += r.committed;
    total.unreadable.extend(r.unreadable);
    if r.watermark.is_some() {
        total.watermark = r.watermark;
    }
    if r.held_back.is_some() {
        total.held_back = r.held_back;
    }
    if r.reached.is_some() {
        total.reached = r.reached;
    }
}
