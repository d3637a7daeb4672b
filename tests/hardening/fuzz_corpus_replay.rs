//! Replays the fuzz corpora (`fuzz/corpus/<target>/*`) and the kept crashes
//! (`fuzz/regressions/<target>/*`) through the fuzz targets' own bodies
//! (`fuzz/src/checks.rs`, included here), on the stable toolchain, without libFuzzer.
//!
//! `cargo test --test hardening -- --ignored write_seeds` (re)writes the seed corpora
//! from the real Samba captures in `tests/fixtures/samba-a/` (see `fuzz/README.md`).

use std::path::{Path, PathBuf};

use crate::checks;
use crate::common::{drs_vector_hex, repo, samba_dir, samba_truth};

fn root() -> PathBuf {
    repo("")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"))
        .collect();
    v.sort();
    v
}

fn replay(kind: &str, require: bool) {
    let mut total = 0;
    for (name, check) in checks::TARGETS {
        let dir = root().join("fuzz").join(kind).join(name);
        let inputs = files(&dir);
        assert!(
            !require || !inputs.is_empty(),
            "{}: no inputs (run the seed writer, see fuzz/README.md)",
            dir.display()
        );
        for path in inputs {
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{name}: {} panicked", path.display());
            total += 1;
        }
    }
    eprintln!("replayed {total} {kind} inputs");
}

#[test]
fn corpora_replay_without_panics() {
    replay("corpus", true);
}

#[test]
fn regressions_replay_without_panics() {
    replay("regressions", false);
}

/// Writes the seed corpora from the real captures; run by hand (ignored).
#[test]
#[ignore]
fn write_seeds() {
    use phsync::drs::attr::Attr;
    use phsync::drs::crypto::{decrypt_value, encrypt_payload};
    use phsync::drs::{Reply, SessionKey};
    let fx = samba_dir();
    let truth = samba_truth();
    let corpus = root().join("fuzz/corpus");
    let write = |target: &str, name: &str, data: &[u8]| {
        let d = corpus.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), data).unwrap();
    };
    let fixed = SessionKey::new(&checks::FIXED_KEY);
    let secret_attrs = [
        (0u8, Attr::UnicodePwd),
        (1, Attr::DbcsPwd),
        (2, Attr::NtPwdHistory),
        (3, Attr::LmPwdHistory),
        (4, Attr::SupplementalCredentials),
    ];
    let mut seen_supp = std::collections::HashSet::new();
    for (ci, c) in truth["captures"].as_array().unwrap().iter().enumerate() {
        let key = SessionKey::from_hex(c["session_key_hex"].as_str().unwrap()).unwrap();
        for (ri, r) in c["replies"].as_array().unwrap().iter().enumerate() {
            let bytes = std::fs::read(fx.join(r["file"].as_str().unwrap())).unwrap();
            // Of the two full-NC captures (40–83 KB replies) keep only the first reply each:
            // the corpus stays small and the fuzzer fast; the exop replies cover the rest.
            if ci >= 1 && ri > 0 {
                continue;
            }
            write("reply_decode", &format!("capture{ci}-reply{ri:03}"), &bytes);
            let reply = Reply::decode(&bytes).unwrap();
            // Prefix table: entries in the target's layout, then the ATTRTYPs the reply uses.
            let t = reply.prefix_table();
            let mut p = vec![t.entries().len().min(255) as u8];
            for e in t.entries().iter().take(255) {
                p.extend_from_slice(&(e.ndx as u16).to_le_bytes());
                p.push(e.prefix.len() as u8);
                p.extend_from_slice(&e.prefix);
            }
            let mut attrtyps: Vec<u32> = reply
                .objects()
                .iter()
                .flat_map(|o| o.attributes().map(|a| a.attrtyp()).collect::<Vec<_>>())
                .collect();
            attrtyps.sort_unstable();
            attrtyps.dedup();
            for a in attrtyps {
                p.extend_from_slice(&a.to_le_bytes());
            }
            write("prefix_table", &format!("capture{ci}-reply{ri:03}"), &p);
            if ri > 1 {
                continue;
            }
            for (oi, o) in reply.objects().iter().enumerate().take(40) {
                let rid = o.rid();
                for (sel, attr) in secret_attrs {
                    let Some(a) = o.attribute(attr) else { continue };
                    let Some(v) = a.values().next() else { continue };
                    let Ok(plain) = decrypt_value(attr, rid, std::slice::from_ref(&key), v) else {
                        continue;
                    };
                    // The plaintext before the RID layer: re-encrypt the RID layer's output.
                    let pre = if attr.has_rid_layer() {
                        let r = rid.unwrap();
                        plain
                            .as_bytes()
                            .chunks_exact(16)
                            .flat_map(|b| {
                                phsync::drs::crypto::rid_encrypt_hash(r, b.try_into().unwrap())
                            })
                            .collect::<Vec<u8>>()
                    } else {
                        plain.as_bytes().to_vec()
                    };
                    if attr == Attr::SupplementalCredentials {
                        if !seen_supp.insert(pre.len()) {
                            continue;
                        }
                        write("supplemental", &format!("capture{ci}-obj{oi}"), &pre);
                    } else if oi % 4 != 0 {
                        continue;
                    }
                    let rid_le = rid.unwrap_or(0).to_le_bytes();
                    let mut seed = vec![sel];
                    seed.extend_from_slice(&rid_le);
                    seed.extend_from_slice(&pre);
                    write(
                        "decrypt_value",
                        &format!("plain-capture{ci}-obj{oi}-{sel}"),
                        &seed,
                    );
                    let salt: [u8; 16] = v[..16].try_into().unwrap();
                    let mut raw = vec![sel | 0x80];
                    raw.extend_from_slice(&rid_le);
                    raw.extend_from_slice(&encrypt_payload(&fixed, &salt, &pre));
                    write(
                        "decrypt_value",
                        &format!("raw-capture{ci}-obj{oi}-{sel}"),
                        &raw,
                    );
                }
            }
        }
    }
    // The spec's appendix vectors.
    let hexfile = drs_vector_hex;
    write(
        "reply_decode",
        "appendix-a",
        &hexfile("appendix-a-v6-reply.hex"),
    );
    write(
        "supplemental",
        "appendix-c",
        &hexfile("appendix-c-supplemental-w2k16-vector2.hex"),
    );
    for (i, s) in [
        "v1;PPH1_MD4,a42b92067e4b8123101a,1000,f0fc762ea9051ef754652becd83ee5e54c1c857c1c0965abac5d85de9c143911;",
        "v1;PPH1_MD4,A42B92067E4B8123101A,1,F0FC762EA9051EF754652BECD83EE5E54C1C857C1C0965ABAC5D85DE9C143911",
        "v1;PPH1_MD4,00000000000000000000,4294967295,0000000000000000000000000000000000000000000000000000000000000000;",
    ]
    .iter()
    .enumerate()
    {
        write("verifier_parse", &format!("seed{i}"), s.as_bytes());
    }
    for (i, s) in [
        "92937945b518814341de3f726500d4ff",
        "31D6CFE0D16AE931B73C59D7E0C089C0",
        "6a4c67356b4978683662387464324f73",
    ]
    .iter()
    .enumerate()
    {
        write("nt_hash_hex", &format!("seed{i}"), s.as_bytes());
    }
    // DirSync control values: Samba's shape (flags, maxBytes, cookie), empty and long cookies.
    for (i, (a, b, cookie)) in [
        (1, 0, vec![]),
        (
            0,
            0x7fff_ffff,
            b"MSDS".iter().copied().chain(0..=95u8).collect::<Vec<u8>>(),
        ),
        (-1, -2, (0..=255u8).cycle().take(300).collect::<Vec<u8>>()),
    ]
    .into_iter()
    .enumerate()
    {
        write(
            "dirsync_control",
            &format!("seed{i}"),
            &der_triplet(a, b, &cookie),
        );
    }
    for (i, s) in [
        "92937945B518814341DE3F726500D4FF",
        "NO PASSWORDXXXXXXXXXXXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "uid=alice,ou=people,dc=example,dc=test\nentryUUID=6F1A2B3C-0000-4000-8000-000000000001\n\
         uid=alice\nsambaSID=S-1-5-21-1-2-3-1104\nsambaNTPassword=92937945b518814341de3f726500d4ff\n\
         sambaAcctFlags=[U          ]\nsambaPwdLastSet=1700000000\nsambaPwdMustChange=2000000000\n\
         entryCSN=20261122120000.123456Z#000000#000#000000\nmail=alice@example.test",
        "cn=bob,dc=example\nsambaNTPassword=zz\nsambaNTPassword=yy\nmodifyTimestamp=20260229235960Z",
    ]
    .iter()
    .enumerate()
    {
        write("samba_nt_password", &format!("seed{i}"), s.as_bytes());
    }
    // replPropertyMetaData (MS-DRSR §5.158): empty, a realistic pair, and the extreme times.
    for (i, entries) in [
        vec![],
        vec![
            (0x0009_0008, 1, 13_439_834_398),
            (0x0009_005a, 4, 13_439_834_398),
        ],
        vec![(0x0009_005a, u32::MAX, i64::MIN)],
        vec![(0x0009_005a, 0, i64::MAX), (0, 0, -1)],
    ]
    .into_iter()
    .enumerate()
    {
        write("repl_metadata", &format!("seed{i}"), &repl_blob(&entries));
    }
}

fn repl_blob(entries: &[(u32, u32, i64)]) -> Vec<u8> {
    let mut b = Vec::new();
    for x in [1u32, 0, entries.len() as u32, 0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    for &(attid, version, time) in entries {
        b.extend_from_slice(&attid.to_le_bytes());
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&time.to_le_bytes());
        b.extend_from_slice(&[0xab; 16]);
        b.extend_from_slice(&42i64.to_le_bytes());
        b.extend_from_slice(&43i64.to_le_bytes());
    }
    b
}

fn der_triplet(a: i32, b: i32, c: &[u8]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 128 {
            out.push(n as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    let mut body = Vec::new();
    for v in [a, b] {
        body.extend_from_slice(&[0x02, 4]);
        body.extend_from_slice(&v.to_be_bytes());
    }
    body.push(0x04);
    len(&mut body, c.len());
    body.extend_from_slice(c);
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend(body);
    out
}
