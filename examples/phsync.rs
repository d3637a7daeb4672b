//! The main job: print the cloud verifier of a password or NT hash.
//!
//! ```text
//! cargo run --release --example phsync -- --nt-hash 92937945b518814341de3f726500d4ff
//! cargo run --release --example phsync -- --password 'Pa$$w0rd'
//! cargo run --release --example phsync                # a bundled demo input
//! ```

use std::process::ExitCode;

use phsync::{CloudVerifier, Iterations, NtHash};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("phsync: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut iterations = Iterations::DEFAULT;
    let mut inputs: Vec<(String, NtHash)> = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--nt-hash" => {
                let hex = value("--nt-hash")?;
                let nt = NtHash::from_hex(&hex).map_err(|e| format!("--nt-hash: {e}"))?;
                inputs.push(("nt-hash".into(), nt));
            }
            "--password" => {
                let pw = value("--password")?;
                inputs.push(("password".into(), NtHash::from_password(&pw)));
            }
            "--iterations" => {
                let n = value("--iterations")?;
                iterations = n
                    .parse::<u32>()
                    .ok()
                    .and_then(Iterations::new)
                    .ok_or_else(|| format!("--iterations: expected 1..=4294967295, got {n:?}"))?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: phsync [--iterations N] [--nt-hash HEX | --password PW]...\n\
                     Prints one v1;PPH1_MD4 cloud verifier per input; with no input, a demo."
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if inputs.is_empty() {
        eprintln!(
            "phsync: no input given; deriving the verifier of the demo password \"Pa$$w0rd\""
        );
        inputs.push(("demo".into(), NtHash::from_password("Pa$$w0rd")));
    }
    for (kind, nt) in &inputs {
        let v = CloudVerifier::derive(nt, phsync::Salt::random(), iterations);
        println!("{{\"input\":\"{kind}\",\"verifier\":\"{v}\"}}");
    }
    Ok(())
}
