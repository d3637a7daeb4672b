//! Decode + decrypt throughput on the real Samba NC capture (`tests/fixtures/samba-a`):
//! 3 replies, 282 objects, 16 of them accounts with secrets.
//!
//! `cargo bench --bench drs`
//!
//! The `drs_vs_samba` group times, in the same run, phsync's decoding with the decryption the
//! pipeline does (the NT hash alone, `decrypt_nt_hash`), with [`Secrets::Current`] and with
//! every secret, against Samba's C NDR parser
//! (`ndr_unpack_out` of `DsGetNCChanges` through python3-samba, parse only) on the same replies.
//! Samba's side runs in a child process (`tools/bench/samba_ndr_parse.py`) that times its own
//! loop; where python3-samba is missing that one entry is skipped, with a message.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phsync::drs::{Reply, Secrets, SessionKey};

#[path = "../tests/common/mod.rs"]
mod common;

/// The capture's three reply files.
fn reply_files() -> Vec<PathBuf> {
    (0..3)
        .map(|i| common::samba_dir().join(format!("bin/samba-krb5-nc/reply-{i:03}.bin")))
        .collect()
}

fn load() -> (Vec<Vec<u8>>, SessionKey) {
    let replies = reply_files()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let truth = common::samba_truth();
    (
        replies,
        common::capture_key(common::capture(&truth, "samba-krb5-nc")),
    )
}

fn bench(c: &mut Criterion) {
    let (replies, key) = load();
    let decoded: Vec<Reply> = replies.iter().map(|b| Reply::decode(b).unwrap()).collect();
    let objects: usize = decoded.iter().map(|r| r.objects().len()).sum();
    let accounts: Vec<_> = decoded
        .iter()
        .flat_map(|r| r.objects())
        .filter(|o| {
            o.attribute(phsync::drs::Attr::UnicodePwd)
                .is_some_and(|a| a.value_count() == 1)
        })
        .cloned()
        .collect();

    let keys = std::slice::from_ref(&key);
    let mut g = c.benchmark_group("drs");
    g.throughput(Throughput::Elements(objects as u64));
    g.bench_function("decode_nc_capture_objects", |b| {
        b.iter(|| {
            for r in &replies {
                black_box(Reply::decode(black_box(r)).unwrap());
            }
        })
    });
    g.throughput(Throughput::Elements(accounts.len() as u64));
    g.bench_function("decrypt_all_password_accounts", |b| {
        b.iter(|| {
            for o in &accounts {
                black_box(o.decrypt(&key).unwrap());
            }
        })
    });
    g.bench_function("decrypt_hashes_password_accounts", |b| {
        b.iter(|| {
            for o in &accounts {
                black_box(o.decrypt_selected(keys, Secrets::Hashes).unwrap());
            }
        })
    });
    g.bench_function("decrypt_current_password_accounts", |b| {
        b.iter(|| {
            for o in &accounts {
                black_box(o.decrypt_selected(keys, Secrets::Current).unwrap());
            }
        })
    });
    g.finish();
}

/// Samba's parser in a child process: it parses every reply `n` times and reports the time.
struct SambaParser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl SambaParser {
    /// Starts the child on the capture's reply files; `None` (with the reason) where Debian's
    /// python3 has no Samba bindings.
    fn start(files: &[PathBuf], objects: usize) -> Result<Self, String> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/bench/samba_ndr_parse.py"
        );
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(files)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run /usr/bin/python3: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        match line.trim().strip_prefix("ready ") {
            Some(n) if n.parse::<usize>().ok() == Some(objects) => {}
            Some(n) => return Err(format!("Samba counts {n} objects, phsync {objects}")),
            None => {
                let _ = child.wait();
                return Err(
                    "python3-samba is not installed (apt-get install python3-samba)".into(),
                );
            }
        }
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    fn time(&mut self, rounds: u64) -> Duration {
        writeln!(self.stdin, "{rounds}").expect("Samba parser's stdin");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("Samba parser's stdout");
        Duration::from_nanos(line.trim().parse().expect("nanoseconds"))
    }
}

impl Drop for SambaParser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn versus_samba(c: &mut Criterion) {
    let files = reply_files();
    let (replies, key) = load();
    let keys = std::slice::from_ref(&key);
    let objects: usize = replies
        .iter()
        .map(|b| Reply::decode(b).unwrap().objects().len())
        .sum();
    let mut g = c.benchmark_group("drs_vs_samba");
    g.throughput(Throughput::Elements(objects as u64));
    g.bench_function("phsync_decode_decrypt_nt_hash", |b| {
        b.iter(|| {
            for r in &replies {
                let reply = Reply::decode(black_box(r)).unwrap();
                for o in reply.objects() {
                    black_box(o.decrypt_nt_hash(keys).unwrap());
                }
            }
        })
    });
    for (name, which) in [
        ("phsync_decode_decrypt_current", Secrets::Current),
        ("phsync_decode_decrypt_hashes", Secrets::Hashes),
        ("phsync_decode_decrypt_all", Secrets::All),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for r in &replies {
                    let reply = Reply::decode(black_box(r)).unwrap();
                    for o in reply.objects() {
                        black_box(o.decrypt_selected(keys, which).unwrap());
                    }
                }
            })
        });
    }
    match SambaParser::start(&files, objects) {
        Ok(mut samba) => {
            g.bench_function("samba_ndr_unpack_out_parse_only", |b| {
                b.iter_custom(|rounds| samba.time(rounds))
            });
        }
        Err(why) => eprintln!("drs_vs_samba/samba_ndr_unpack_out_parse_only skipped: {why}"),
    }
    g.finish();
}

criterion_group!(benches, bench, versus_samba);
criterion_main!(benches);
