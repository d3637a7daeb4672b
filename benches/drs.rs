//! Decode + decrypt throughput on the real Samba NC capture (`tests/fixtures/samba-a`):
//! 3 replies, 282 objects, 16 of them accounts with secrets.
//!
//! `cargo bench --bench drs`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phsync::drs::{Reply, Secrets, SessionKey};

#[path = "../tests/common/mod.rs"]
mod common;

fn load() -> (Vec<Vec<u8>>, SessionKey) {
    let replies = (0..3)
        .map(|i| common::samba_file(&format!("bin/samba-krb5-nc/reply-{i:03}.bin")))
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
    g.bench_function("decode_and_decrypt_nc_capture_objects", |b| {
        b.iter(|| {
            for r in &replies {
                let reply = Reply::decode(black_box(r)).unwrap();
                for o in reply.objects() {
                    black_box(o.decrypt(&key).unwrap());
                }
            }
        })
    });
    g.bench_function("decode_and_decrypt_hashes_nc_capture_objects", |b| {
        b.iter(|| {
            for r in &replies {
                let reply = Reply::decode(black_box(r)).unwrap();
                for o in reply.objects() {
                    black_box(o.decrypt_selected(keys, Secrets::Hashes).unwrap());
                }
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

criterion_group!(benches, bench);
criterion_main!(benches);
