//! Sync a Samba-schema directory: read `sambaNTPassword` from OpenLDAP (or any server with
//! Samba's schema), derive cloud verifiers, print one JSON outcome per line.
//!
//! ```text
//! cargo run --release --features ldap --example ldap_sync -- \
//!     --url ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi --sasl-external \
//!     --base ou=people,dc=example,dc=com [--filter '(objectClass=sambaSamAccount)'] \
//!     [--state state.json] [--force-change]
//!
//! PHSYNC_LDAP_PASSWORD=… cargo run --release --features ldap --example ldap_sync -- \
//!     --url ldaps://ldap.example.com --bind-dn cn=reader,dc=example,dc=com --base dc=example,dc=com
//! ```
//!
//! The simple-bind password comes from `PHSYNC_LDAP_PASSWORD` (never from the command line,
//! where `ps` would show it). With `--state FILE`, accounts whose password stamp is unchanged
//! since the previous run are skipped as `unchanged`, and the file is rewritten at the end.
//! Exit status: 0 on a complete read, 1 on a connection error, 2 when the read stopped early
//! (size limit, referral, …) — the outcomes printed so far are still valid.

use std::process::ExitCode;

use phsync::batch::{Runner, SyncPolicy, SyncState};
use phsync::ldap::{Bind, ConnectOptions, SambaConfig, SambaSource, TlsOptions};

fn usage() -> ExitCode {
    eprintln!(
        "usage: ldap_sync --url URL --base DN [--bind-dn DN | --sasl-external] [--filter F] \
         [--page-size N] [--starttls] [--state FILE] [--force-change] [--include-disabled]"
    );
    ExitCode::from(64)
}

fn main() -> ExitCode {
    let mut url = None;
    let mut base = None;
    let mut bind = Bind::Anonymous;
    let mut filter = None;
    let mut page_size = 500;
    let mut tls = TlsOptions::default();
    let mut state_path = None;
    let mut policy = SyncPolicy::default();

    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next(),
            "--base" => base = args.next(),
            "--filter" => filter = args.next(),
            "--bind-dn" => {
                let Some(dn) = args.next() else {
                    return usage();
                };
                let Ok(password) = std::env::var("PHSYNC_LDAP_PASSWORD") else {
                    eprintln!("--bind-dn needs the password in PHSYNC_LDAP_PASSWORD");
                    return usage();
                };
                bind = Bind::simple(dn, password);
            }
            "--sasl-external" => bind = Bind::SaslExternal,
            "--page-size" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => page_size = n,
                None => return usage(),
            },
            "--starttls" => tls.starttls = true,
            "--state" => state_path = args.next(),
            "--force-change" => policy.force_password_change_on_logon = true,
            "--include-disabled" => policy.include_disabled = true,
            _ => return usage(),
        }
    }
    let (Some(url), Some(base)) = (url, base) else {
        return usage();
    };

    let previous: Option<SyncState> = state_path.as_ref().and_then(|p| {
        std::fs::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    });
    let mut config =
        SambaConfig::new(ConnectOptions::new(url).bind(bind).tls(tls), base).page_size(page_size);
    if let Some(f) = filter {
        config = config.filter(f);
    }

    let mut source = match SambaSource::connect(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut runner = Runner::new(policy);
    if let Some(p) = &previous {
        runner = runner.previous_state(p);
    }
    let mut next_state = previous.clone().unwrap_or_default();
    let mut accounts = source.accounts();
    let summary = runner.run(&mut accounts, |outcome| {
        next_state.observe(&outcome);
        println!(
            "{}",
            serde_json::to_string(&outcome).expect("outcomes serialize")
        );
    });
    let read = accounts.finish();
    source.close();
    eprintln!(
        "{} read: {} synced, {} skipped, {} failed {:?}",
        summary.total, summary.synced, summary.skipped, summary.failed, summary.reasons
    );
    match read {
        Ok(read) if read.complete => {
            if let Some(p) = state_path {
                let json = serde_json::to_vec_pretty(&next_state).expect("state serializes");
                if let Err(e) = std::fs::write(&p, json) {
                    eprintln!("error: cannot write {p}: {e}");
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("error: the read did not finish");
            ExitCode::from(2)
        }
        Err(e) => {
            // The state is not saved: the next run re-reads everything.
            eprintln!("error: the read stopped early: {e}");
            ExitCode::from(2)
        }
    }
}
