//! The `phsync` command, driven as a user would: every subcommand, its exit status, what goes
//! to stdout and stderr, and the refusals (a key on argv, a verifier claiming too much work).
#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use phsync::{CloudVerifier, Iterations, NtHash, Salt};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_phsync");

fn phsync(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("PHSYNC_SESSION_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    // A command that refuses early may not read its stdin: a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[path = "common/mod.rs"]
mod common;

use common::{incremental_files, incremental_truth as truth_b, scratch_dir as scratch};

fn phase_files(t: &Value, phase: &str) -> Vec<String> {
    incremental_files(t, phase)
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn no_arguments_replays_the_bundled_capture_accounts_only() {
    let out = phsync(&[], b"", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let l = lines(&out);
    // 282 objects: 11 synced, 3 disabled, 1 temporary password; the 267 others are counted.
    assert_eq!(l.len(), 15, "{l:?}");
    assert_eq!(l.iter().filter(|o| o["outcome"] == "synced").count(), 11);
    assert!(l.iter().all(|o| o["reason"] != "not_a_user"));
    assert!(
        stderr(&out).contains("267 not user accounts"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn session_key_on_argv_is_refused() {
    let out = phsync(&["replay", "--session-key", "00", "x.bin"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("--session-key-file") && e.contains("PHSYNC_SESSION_KEY"),
        "{e}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn replay_with_key_file_full_then_deltas_and_state() {
    let t = truth_b();
    let dir = scratch("replay");
    let key = dir.join("key");
    std::fs::write(&key, t["session_key_hex"].as_str().unwrap()).unwrap();
    let state = dir.join("state.db");
    let run = |phase: &str| {
        let mut args = vec![
            "replay".to_owned(),
            "-q".into(),
            "--iterations".into(),
            "5".into(),
            "--session-key-file".into(),
            key.display().to_string(),
            "--state".into(),
            state.display().to_string(),
        ];
        args.extend(phase_files(&t, phase));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        phsync(&args, b"", &[])
    };
    let full = run("full");
    assert!(full.status.success(), "{}", stderr(&full));
    assert!(
        full.stderr.is_empty(),
        "-q prints nothing: {}",
        stderr(&full)
    );
    let d1 = run("delta-1");
    assert!(d1.status.success());
    let l = lines(&d1);
    assert_eq!(l.len(), 3);
    for c in t["phases"][1]["changes"].as_array().unwrap() {
        let o = l
            .iter()
            .find(|o| o["object_guid"] == c["object_guid"])
            .unwrap();
        assert_eq!(o["outcome"], "synced");
        let v: CloudVerifier = o["verifier"].as_str().unwrap().parse().unwrap();
        assert!(v.verify_nt_hash(&NtHash::from_hex(c["nt_hash"].as_str().unwrap()).unwrap()));
    }
    // delta 2 has an account that comes into scope without its password: exit 1, said why.
    let d2 = run("delta-2");
    assert_eq!(d2.status.code(), Some(1));
    assert!(
        lines(&d2)
            .iter()
            .any(|o| o["reason"] == "password_not_replicated")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_file_is_named_and_the_rest_still_processed() {
    let t = truth_b();
    let dir = scratch("badfile");
    let bad = dir.join("broken.bin");
    std::fs::write(&bad, b"not a reply").unwrap();
    let missing = dir.join("missing.bin");
    let files = phase_files(&t, "full");
    let out = phsync(
        &[
            "replay",
            "--all-objects",
            "--iterations",
            "5",
            &files[0],
            bad.to_str().unwrap(),
            missing.to_str().unwrap(),
            &files[1],
        ],
        b"",
        &[("PHSYNC_SESSION_KEY", t["session_key_hex"].as_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("broken.bin: not a GetNCChanges reply"),
        "{err}"
    );
    assert!(err.contains("missing.bin: cannot read: "), "{err}");
    assert_eq!(lines(&out).len(), 100, "both good files' objects");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hash_reads_pwdump_hashcat_and_bare_lines_one_outcome_each() {
    let nt = NtHash::from_password("Pa$$w0rd");
    let h = nt.to_hex();
    let h = h.as_str();
    let input = format!(
        "CORP\\alice:1104:aad3b435b51404eeaad3b435b51404ee:{h}::: (status=Enabled)\n\
         alice_history0:1104:aad3b435b51404eeaad3b435b51404ee:{h}:::\n\
         CORP\\bob:1105:aad3b435b51404eeaad3b435b51404ee:{h}::: (status=Disabled)\n\
         WS01$:1106:aad3b435b51404eeaad3b435b51404ee:{h}:::\n\
         \n\
         # a comment\n\
         #backup:1108:aad3b435b51404eeaad3b435b51404ee:{h}:::\n\
         carol:{h}\n\
         dave:1107:aad3b435b51404eeaad3b435b51404ee:{}zz:::\n\
         {h}\n",
        &h[..30]
    );
    let out = phsync(&["hash", "--iterations", "3", "-"], input.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(1), "a malformed line fails the run");
    let l = lines(&out);
    let got: Vec<(&str, Option<&str>)> = l
        .iter()
        .map(|o| (o["outcome"].as_str().unwrap(), o["reason"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("synced", None),
            ("skipped", Some("password_history")),
            ("skipped", Some("disabled")),
            ("skipped", Some("not_a_user")),
            ("synced", None),
            ("synced", None),
            ("failed", Some("invalid_input")),
            ("synced", None),
        ]
    );
    // `#` is legal in a sAMAccountName: a pwdump line starting with it is an account.
    assert_eq!(l[4]["sam_account_name"], "#backup");
    let detail = l[6]["detail"].as_str().unwrap();
    assert!(detail.contains("line 9"), "{detail}");
    assert!(!detail.contains(&h[..16]), "never echo a hash: {detail}");
    for o in l.iter().filter(|o| o["outcome"] == "synced") {
        let v: CloudVerifier = o["verifier"].as_str().unwrap().parse().unwrap();
        assert!(v.verify_password("Pa$$w0rd"));
    }
}

/// Whether `verifier` is the `pbkdf2` crate's PBKDF2-HMAC-SHA256 of `nt_hex` (independent of
/// phsync's kernels).
fn reference_matches(verifier: &str, nt_hex: &str) -> bool {
    let v: CloudVerifier = verifier.parse().unwrap();
    let key: Vec<u8> = nt_hex
        .to_ascii_uppercase()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&key, v.salt().as_bytes(), v.iterations().get(), &mut out);
    &out == v.hash()
}

/// Samba's own export of a live DC's NT hashes (`pdbedit -L -w`, smbpasswd format), taken by
/// `tools/interop/run.sh` before and after its directory changes; the expectations come from
/// the harness's passwords (`live_sync.py hash-truth`), not from the export.
#[test]
fn hash_state_on_samba_exports_syncs_only_what_changed() {
    let fixture = |f: &str| common::repo("tests/fixtures/samba-pdbedit").join(f);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("hash-truth.json")).unwrap())
            .unwrap();
    let accounts = truth["accounts"].as_object().unwrap();
    let db = scratch("hash-state").join("state.db");
    let hash_state = |phase: &str| {
        let input = fixture(&format!("pdbedit-{phase}.txt"));
        let args = ["hash", "--iterations", "7", "--state"];
        let mut args: Vec<&str> = args.to_vec();
        args.extend([db.to_str().unwrap(), input.to_str().unwrap()]);
        phsync(&args, b"", &[])
    };
    for phase in ["before", "after"] {
        let out = hash_state(phase);
        assert!(out.status.success(), "{phase}: {}", stderr(&out));
        let l = lines(&out);
        for (sam, t) in accounts {
            let got: Vec<&Value> = l
                .iter()
                .filter(|o| o["sam_account_name"] == **sam)
                .collect();
            let want = &t[phase];
            if want.is_null() {
                assert!(got.is_empty(), "{phase} {sam}: deleted, yet {got:?}");
                continue;
            }
            assert_eq!(got.len(), 1, "{phase} {sam}");
            let o = got[0];
            assert_eq!(
                (&o["outcome"], &o["reason"]),
                (&want["outcome"], &want["reason"]),
                "{phase} {sam}"
            );
            if o["outcome"] == "synced" {
                let nt = want["nt_hash"].as_str().unwrap();
                assert!(
                    reference_matches(o["verifier"].as_str().unwrap(), nt),
                    "{phase} {sam}"
                );
            }
        }
    }
    // The same export once more: nothing left to sync.
    let out = hash_state("after");
    assert!(out.status.success());
    assert!(lines(&out).iter().all(|o| o["outcome"] != "synced"));
}

#[test]
fn verify_exit_codes_and_iteration_bound() {
    let nt = NtHash::from_password("hunter2");
    let v = CloudVerifier::derive(&nt, Salt::from_bytes([7; 10]), Iterations::new(50).unwrap());
    let v = v.to_string();
    assert_eq!(
        phsync(&["verify", &v], b"hunter2\n", &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        phsync(&["verify", &v], b"hunter3\n", &[]).status.code(),
        Some(1)
    );
    let hex = nt.to_hex();
    assert_eq!(
        phsync(&["verify", "--nt-hash", &v], hex.as_str().as_bytes(), &[])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        phsync(&["verify", "v1;PPH1_MD4,zz"], b"x", &[])
            .status
            .code(),
        Some(2)
    );
    let hostile = format!(
        "v1;PPH1_MD4,{},4294967295,{};",
        "00".repeat(10),
        "00".repeat(32)
    );
    let started = std::time::Instant::now();
    let out = phsync(&["verify", &hostile], b"x\n", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(started.elapsed().as_secs() < 10, "refused at once");
}

/// Inputs are bounded: an endless stdin, reply file or key file is refused with exit 2 or a
/// named unreadable file, not read until memory runs out.
#[test]
fn endless_inputs_are_refused_not_read_forever() {
    let nt = NtHash::from_password("hunter2");
    let v = CloudVerifier::derive(&nt, Salt::from_bytes([7; 10]), Iterations::new(5).unwrap());
    let long = vec![b'x'; 64 * 1024];
    let out = phsync(&["verify", &v.to_string()], &long, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("longer than"), "{}", stderr(&out));

    let out = phsync(
        &["replay", "--session-key-file", "/dev/zero", "x.bin"],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/dev/zero"), "{}", stderr(&out));

    let t = truth_b();
    let key = scratch("endless").join("key");
    std::fs::write(&key, t["session_key_hex"].as_str().unwrap()).unwrap();
    let mut args = vec![
        "replay".to_owned(),
        "--session-key-file".to_owned(),
        key.display().to_string(),
        "/dev/zero".to_owned(),
    ];
    args.extend(phase_files(&t, "delta-1"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = phsync(&args, b"", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("/dev/zero") && err.contains("larger than"),
        "{err}"
    );
    // The other file was still processed.
    assert_eq!(lines(&out).len(), 3, "{err}");
}

#[test]
fn bench_runs_every_kernel_and_names_the_pick() {
    let out = phsync(
        &[
            "bench",
            "--seconds",
            "0.05",
            "--threads",
            "2",
            "--iterations",
            "10",
        ],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("pbkdf2 crate"), "{text}");
    // Every kernel this CPU can run has its line.
    for b in phsync::kdf::Backend::available() {
        assert!(text.contains(b.name()), "{} missing:\n{text}", b.name());
    }
    assert!(text.contains("selected kernel:"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with('2')),
        "{text}"
    );
}

#[test]
fn help_and_version() {
    for args in [
        &["--help"][..],
        &["replay", "--help"],
        &["hash", "--help"],
        &["verify", "--help"],
        &["bench", "--help"],
    ] {
        let out = phsync(args, b"", &[]);
        assert!(out.status.success());
        assert!(!out.stdout.is_empty());
    }
    let out = phsync(&["--version"], b"", &[]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("phsync ")
    );
    assert_eq!(
        phsync(&["replay"], b"", &[]).status.code(),
        Some(2),
        "files are required"
    );
}

#[path = "dc/fake_dc.rs"]
mod fake_dc;

/// `phsync sync` against the fake DC on `port` (NTLM, sealed), with the store `state`.
fn sync(port: u16, state: &std::path::Path) -> Output {
    let port = port.to_string();
    let state = state.display().to_string();
    let args = [
        "sync",
        "-q",
        "--dc",
        "127.0.0.1",
        "--port",
        &port,
        "--domain",
        "phsysih.test",
        "--user",
        fake_dc::USER,
        "--user-domain",
        fake_dc::DOMAIN,
        "--iterations",
        "5",
        "--state",
        &state,
        "--retries",
        "1",
        "--timeout",
        "20",
    ];
    phsync(&args, b"", &[("PHSYNC_PASSWORD", fake_dc::PASSWORD)])
}

/// Whether an `[in]` stub continues from a captured reply's `usnvecTo`.
fn continues_from(request: &[u8], reply: &[u8]) -> bool {
    let to = phsync::drs::Reply::decode(reply).unwrap().usn_vec_to();
    fake_dc::continues_from(request, to)
}

/// The whole command over a sealed connection, offline: Samba's full replication of
/// `tests/fixtures/samba-b` with the connection dropped after two chunks (the command
/// reconnects and resumes from the committed watermark), then its first delta on a new
/// connection from the stored watermark. Outcomes equal `phsync replay` of the same captures;
/// verifiers are checked with the `pbkdf2` crate against the harness's NT hashes.
#[test]
fn sync_resumes_after_a_dropped_connection_then_polls_the_delta() {
    let t = truth_b();
    let key = phsync::drs::SessionKey::from_hex(t["session_key_hex"].as_str().unwrap()).unwrap();
    let files = |phase: &str| -> Vec<Vec<u8>> {
        incremental_files(&t, phase)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    };
    let (full, delta) = (files("full"), files("delta-1"));
    // Each connection: the schema probe (answered with the first full reply: Samba's prefix
    // table and invocation id), then the chunks.
    let answers = |chunks: &[Vec<u8>]| -> Vec<(Vec<u8>, phsync::drs::SessionKey)> {
        std::iter::once(&full[0])
            .chain(chunks)
            .map(|b| (b.clone(), key.clone()))
            .collect()
    };
    let dir = scratch("sync-fake-dc");
    let state = dir.join("state.db");

    // Answer 3 (the third chunk) never comes; the second connection serves what follows the
    // two committed chunks.
    let dc = fake_dc::FakeDc::start_each(vec![
        fake_dc::Script {
            drop_at_reply: Some(3),
            ..fake_dc::Script::serving(answers(&full))
        },
        fake_dc::Script::serving(answers(&full[2..])),
    ]);
    let out = sync(dc.port, &state);
    let served = dc.join_each();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reconnecting (1/1)"),
        "{}",
        stderr(&out)
    );
    let refusals: Vec<_> = served.iter().map(|s| &s.refused).collect();
    assert_eq!(
        refusals,
        [&None, &None],
        "two connections, both served in full"
    );
    let resumed = &served[1].calls[2].1;
    assert!(
        continues_from(resumed, &full[1]),
        "resumed from chunk 1's usnvecTo"
    );

    // The same outcomes as replaying the captured files, each account once.
    let key_file = dir.join("key");
    std::fs::write(&key_file, t["session_key_hex"].as_str().unwrap()).unwrap();
    let mut args = vec!["replay", "-q", "--iterations", "5", "--session-key-file"];
    let key_path = key_file.display().to_string();
    args.push(&key_path);
    let full_paths = phase_files(&t, "full");
    args.extend(full_paths.iter().map(String::as_str));
    let replayed = phsync(&args, b"", &[]);
    let outcomes = |o: &Output| -> Vec<(String, String)> {
        let mut v: Vec<_> = lines(o)
            .iter()
            .map(|l| (l["object_guid"].to_string(), l["outcome"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(outcomes(&out), outcomes(&replayed));
    let synced = lines(&out);
    let accounts = t["accounts_before_deltas"].as_array().unwrap();
    let mut checked = 0;
    for l in synced.iter().filter(|l| l["outcome"] == "synced") {
        let a = accounts
            .iter()
            .find(|a| a["object_guid"] == l["object_guid"])
            .unwrap_or_else(|| panic!("{l}: not a harness account"));
        let v = l["verifier"].as_str().unwrap();
        assert!(reference_matches(v, a["nt_hash"].as_str().unwrap()), "{l}");
        checked += 1;
    }
    // 11: the 16 harness accounts less the three disabled, the must-change one and the DC's
    // machine account (not a user account).
    assert_eq!(checked, 11, "verifiers checked");

    // The delta, on a new connection: from the stored watermark (the last full chunk's).
    let dc = fake_dc::FakeDc::start(fake_dc::Script::serving(answers(&delta)));
    let out = sync(dc.port, &state);
    let served = dc.join();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(served.refused, None);
    assert!(continues_from(&served.calls[2].1, full.last().unwrap()));
    let l = lines(&out);
    let changes = t["phases"][1]["changes"].as_array().unwrap();
    assert_eq!(l.len(), changes.len());
    for c in changes {
        let o = l
            .iter()
            .find(|o| o["object_guid"] == c["object_guid"])
            .unwrap();
        assert_eq!(o["outcome"], "synced");
        let v = o["verifier"].as_str().unwrap();
        assert!(reference_matches(v, c["nt_hash"].as_str().unwrap()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
