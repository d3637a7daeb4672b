//! The vectors in `tests/vectors/drs/` (DSInternals, Samba, MS-SAMR, prefix tables,
//! supplementalCredentials
//! samples, the synthetic V6 reply of Appendix A), read from `tests/vectors/drs/`.

use phsync::NtHash;
use phsync::drs::crypto::{
    decrypt_value, des_ecb_lm_encrypt, expand_des_key, rid_decrypt_hash, rid_encrypt_hash, rid_keys,
};
use phsync::drs::prefix::PrefixTable;
use phsync::drs::{
    Attr, DecodeErrorKind, DecryptError, HashState, Reply, SessionKey, Structure,
    SupplementalCredentials,
};
use sha2::{Digest, Sha256};

use crate::common::{drs_vector_hex as hex_file, drs_vectors as vectors, hex, lower_hex as lower};

fn attr(name: &str) -> Attr {
    *Attr::ALL.iter().find(|a| a.ldap_name() == name).unwrap()
}

#[test]
fn decrypt_vectors() {
    let v = vectors();
    let cases = v["decrypt"].as_array().unwrap();
    assert_eq!(cases.len(), 14);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let keys: Vec<SessionKey> = c["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| SessionKey::from_hex(k.as_str().unwrap()).unwrap())
            .collect();
        let rid = c["rid"].as_u64().map(|r| r as u32);
        let value = hex(c["value"].as_str().unwrap());
        let got = decrypt_value(attr(c["attribute"].as_str().unwrap()), rid, &keys, &value);
        match (c.get("plaintext"), c.get("error")) {
            (Some(p), None) => {
                assert_eq!(
                    lower(got.unwrap().as_bytes()),
                    p.as_str().unwrap(),
                    "{name}"
                )
            }
            (None, Some(e)) => {
                let err = got.unwrap_err();
                let kind = format!("{err:?}");
                assert!(
                    kind.starts_with(e.as_str().unwrap()),
                    "{name}: {kind} vs {e}"
                );
                // Messages name the attribute, never bytes.
                assert!(!err.to_string().contains(&c["value"].as_str().unwrap()[..8]));
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn history_vector_is_pa_w0rd_series_newest_first() {
    let key = SessionKey::from_hex("f029c008decee208f36450cc1f767892").unwrap();
    let value = hex(vectors()["decrypt"][2]["value"].as_str().unwrap());
    let plain = decrypt_value(Attr::NtPwdHistory, Some(1375), &[key], &value).unwrap();
    let want = ["Pa$$w0rd3", "Pa$$w0rd2", "Pa$$w0rd1", "Pa$$w0rd"];
    for (chunk, pw) in plain.as_bytes().chunks(16).zip(want) {
        assert_eq!(
            NtHash::from_bytes(chunk.try_into().unwrap()),
            NtHash::from_password(pw)
        );
    }
}

#[test]
fn rid_key_schedule() {
    for c in vectors()["rid_keys"].as_array().unwrap() {
        let (k1, k2) = rid_keys(c["rid"].as_u64().unwrap() as u32);
        assert_eq!(lower(&k1), c["k1"]);
        assert_eq!(lower(&k2), c["k2"]);
        assert_eq!(lower(&expand_des_key(&k1)), c["k1_expanded"]);
        assert_eq!(lower(&expand_des_key(&k2)), c["k2_expanded"]);
    }
    // MS-SAMR §2.2.11.1.3 RID DES, worked example, RID 500.
    let c: [u8; 16] = hex("b9c493e4a12818eed2fc0d2d731595cb").try_into().unwrap();
    assert_eq!(
        lower(&rid_decrypt_hash(500, &c)),
        "92937945b518814341de3f726500d4ff"
    );
    let e: [u8; 16] = NtHash::EMPTY_PASSWORD;
    assert_eq!(
        lower(&rid_encrypt_hash(500, &e)),
        "44e9410d70bfa47f7ea41c40946599d8"
    );
}

#[test]
fn ms_samr_4_3_des_example() {
    let key = *NtHash::from_password("NEWPASSWORD").as_bytes();
    let data = *NtHash::from_password("OLDPASSWORD").as_bytes();
    assert_eq!(lower(&key), "256781a62031289d3c2c98c14f1efc8c");
    assert_eq!(lower(&data), "6677b2c394311355b54f25eec5bfacf5");
    assert_eq!(
        lower(&expand_des_key(&[0x25, 0x67, 0x81, 0xa6, 0x20, 0x31, 0x28])),
        "24b2e0346200c450"
    );
    assert_eq!(
        lower(&expand_des_key(&[0x9d, 0x3c, 0x2c, 0x98, 0xc1, 0x4f, 0x1e])),
        "9c9e0a928c0a3c3c"
    );
    assert_eq!(
        lower(&des_ecb_lm_encrypt(&key, &data)),
        "da39846427f5e6c9482c8fe9b33a1607"
    );
}

#[test]
fn prefix_vectors() {
    let v = vectors();
    let p = &v["prefix"];
    // Samba: default table plus three extra entries.
    let mut entries: Vec<(u32, Vec<u8>)> = PrefixTable::builtin()
        .entries()
        .iter()
        .map(|e| (e.ndx, e.prefix.clone()))
        .collect();
    for e in p["samba_extra_entries"].as_array().unwrap() {
        entries.push((e[0].as_u64().unwrap() as u32, hex(e[1].as_str().unwrap())));
    }
    let table = PrefixTable::from_entries(entries);
    for c in p["samba"].as_array().unwrap() {
        let oid = c[0].as_str().unwrap();
        let typ = u32::from_str_radix(c[1].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
        assert_eq!(table.attrtyp(oid).unwrap(), typ, "{oid}");
        assert_eq!(table.oid(typ).unwrap(), oid, "{typ:#x}");
    }
    let builtin = PrefixTable::builtin();
    for c in p["dsinternals_builtin"].as_array().unwrap() {
        assert_eq!(builtin.oid(c[0].as_u64().unwrap() as u32).unwrap(), c[1]);
    }
    // DSInternals' Exchange table, ntds.dit prefixMap layout: u32 count, u32 size,
    // then {u16 ndx, u16 len, bytes}.
    let blob = hex(p["dsinternals_exchange_blob"].as_str().unwrap());
    let count = u32::from_le_bytes(blob[0..4].try_into().unwrap());
    let mut at = 8;
    let mut ex = Vec::new();
    for _ in 0..count {
        let ndx = u16::from_le_bytes([blob[at], blob[at + 1]]) as u32;
        let len = u16::from_le_bytes([blob[at + 2], blob[at + 3]]) as usize;
        ex.push((ndx, blob[at + 4..at + 4 + len].to_vec()));
        at += 4 + len;
    }
    assert_eq!(at, blob.len());
    let ex = PrefixTable::from_entries(ex);
    for c in p["dsinternals_exchange"].as_array().unwrap() {
        let typ = c[0].as_u64().unwrap() as u32;
        assert_eq!(ex.oid(typ).unwrap(), c[1], "{typ:#x}");
        assert_eq!(ex.attrtyp(c[1].as_str().unwrap()).unwrap(), typ);
    }
    // No silent fallback: an index the table lacks is an error, msDS-IntIds are reported.
    assert!(ex.oid(0x0009_005a).is_err());
    assert_eq!(
        ex.resolve(0x8000_1234).unwrap(),
        phsync::drs::AttrId::IntId(0x8000_1234)
    );
    // The schemaInfo entry (ndx 0, first byte 0xFF) never shadows 2.5.4.
    let t = PrefixTable::from_entries([
        (0u32, hex("5504")),
        (0u32, hex("ff0000002a111111112222333344445555555555")),
    ]);
    assert_eq!(t.oid(3).unwrap(), "2.5.4.3");
    let t = PrefixTable::from_entries([
        (0u32, hex("ff0000002a111111112222333344445555555555")),
        (0u32, hex("5504")),
    ]);
    assert_eq!(t.oid(3).unwrap(), "2.5.4.3");
}

fn appendix_a() -> Vec<u8> {
    let b = hex_file("appendix-a-v6-reply.hex");
    assert_eq!(
        lower(&Sha256::digest(&b)),
        "4876f6d8865822b846fba343e7857185358764f0b58aa6bf53c11adfaa1acd6e"
    );
    b
}

#[test]
fn appendix_a_synthetic_v6_reply() {
    let reply = Reply::decode(&appendix_a()).unwrap();
    assert_eq!(reply.version(), 6);
    assert_eq!(
        reply.source_dsa_guid().as_bytes(),
        &hex("aaaaaaaabbbbccccddddeeeeeeeeeeee")[..]
    );
    let inv = reply.source_dsa_invocation_id();
    assert_eq!(inv.as_bytes(), &hex("11111111222233334444555555555555")[..]);
    assert_eq!(reply.usn_vec_from(), Default::default());
    let to = reply.usn_vec_to();
    assert_eq!(
        (
            to.usn_high_obj_update,
            to.usn_reserved,
            to.usn_high_prop_update
        ),
        (20010, 0, 20010)
    );
    let nc = reply.naming_context().unwrap();
    assert_eq!(nc.dn(), Some("DC=contoso,DC=com"));
    assert_eq!(
        nc.sid().unwrap().to_string(),
        "S-1-5-21-1004336348-1177238915-682003330"
    );
    let utd = reply.up_to_date_vector().unwrap();
    assert_eq!(utd.len(), 1);
    assert_eq!(utd[0].dsa_invocation_id, inv);
    assert_eq!(utd[0].usn_high_prop_update, 20010);
    assert_eq!(utd[0].time_last_sync_success.0, 13_300_000_100);
    let ndx: Vec<u32> = reply
        .prefix_table()
        .entries()
        .iter()
        .map(|e| e.ndx)
        .collect();
    assert_eq!(ndx, [0, 1, 2, 9, 10]);
    assert_eq!(reply.prefix_table().schema_info().unwrap().len(), 21);
    assert!(!reply.more_data());
    assert!(reply.linked_values().is_empty());
    assert_eq!(reply.return_value(), 0);

    let key = SessionKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let objs = reply.objects();
    assert_eq!(objs.len(), 2);
    let want = [
        (
            "CN=Administrator,CN=Users,DC=contoso,DC=com",
            "00112233445566778899aabbccddeeff",
            500,
            "Administrator",
            "Administrator@contoso.com",
            0x200,
            133_000_000_000_000_000i64,
            "92937945b518814341de3f726500d4ff",
            vec![
                "92937945b518814341de3f726500d4ff",
                "4fed6755410545c28b519f30e02d54a2",
            ],
        ),
        (
            "CN=user01,CN=Users,DC=contoso,DC=com",
            "ffeeddccbbaa99887766554433221100",
            1103,
            "user01",
            "user01@contoso.com",
            0x10200,
            133_100_000_000_000_000,
            "a4ff9743bdda4849cb2108d2ceb5c5b9",
            vec![
                "a4ff9743bdda4849cb2108d2ceb5c5b9",
                "185418d4b03fb6cfe90e71402220e807",
                "4fed6755410545c28b519f30e02d54a2",
                "92937945b518814341de3f726500d4ff",
            ],
        ),
    ];
    for (o, w) in objs.iter().zip(&want) {
        assert_eq!(o.dn(), Some(w.0));
        assert_eq!(o.object_guid().unwrap().as_bytes(), &hex(w.1)[..]);
        assert_eq!(o.flags(), 1);
        assert_eq!(
            o.parent_guid().unwrap().as_bytes(),
            &hex("0102030405060708090a0b0c0d0e0f10")[..]
        );
        let names: Vec<&str> = o
            .attributes()
            .map(|a| a.known().unwrap().ldap_name())
            .collect();
        assert_eq!(
            names,
            [
                "objectSid",
                "sAMAccountName",
                "userPrincipalName",
                "userAccountControl",
                "pwdLastSet",
                "unicodePwd",
                "ntPwdHistory"
            ]
        );
        for (i, a) in o.attributes().enumerate() {
            let m = a.metadata().unwrap();
            assert_eq!(m.version(), i as u32 + 1);
            assert_eq!(m.originating_time().0, 13_300_000_000 + i as i64);
            assert_eq!(m.originating_invocation_id(), inv);
            assert_eq!(m.originating_usn(), 20_000 + i as i64);
        }
        let acc = o.decrypt(&key).unwrap();
        assert_eq!(acc.rid(), Some(w.2));
        assert_eq!(acc.sam_account_name(), Some(w.3));
        assert_eq!(acc.user_principal_name(), Some(w.4));
        assert_eq!(acc.user_account_control(), Some(w.5));
        assert_eq!(acc.pwd_last_set(), Some(w.6));
        assert_eq!(acc.nt_hash().unwrap(), &NtHash::from_hex(w.7).unwrap());
        let hist: Vec<String> = acc
            .nt_history()
            .iter()
            .map(|h| h.to_hex().to_string())
            .collect();
        assert_eq!(hist, w.8);
        assert_eq!(acc.lm_hash_state(), HashState::Absent);
        assert!(acc.supplemental_credentials().is_none());
        assert_eq!(acc.unicode_pwd_metadata().unwrap().version(), 6);
        assert_eq!(acc.account_expires(), None);
        assert!(!acc.is_deleted());
    }
}

#[test]
fn appendix_a_offsets_and_errors() {
    let b = appendix_a();
    // Every truncation fails cleanly.
    for n in 0..b.len() {
        assert!(Reply::decode(&b[..n]).is_err(), "{n}");
    }
    // V9 has the same layout when rgValues is NULL.
    let mut v9 = b.clone();
    v9[0] = 9;
    v9[4] = 9;
    assert_eq!(Reply::decode(&v9).unwrap().version(), 9);
    // Compressed replies are unsupported; mismatched tags and unknown versions are errors.
    for (ver, tag, kind) in [
        (7u8, 7u8, DecodeErrorKind::Unsupported { version: 7 }),
        (2, 2, DecodeErrorKind::Unsupported { version: 2 }),
        (1, 1, DecodeErrorKind::Unsupported { version: 1 }),
        (5, 5, DecodeErrorKind::UnknownVersion { version: 5 }),
        (
            6,
            9,
            DecodeErrorKind::VersionMismatch {
                out_version: 6,
                tag: 9,
            },
        ),
    ] {
        let mut x = b.clone();
        x[0] = ver;
        x[4] = tag;
        assert_eq!(Reply::decode(&x).unwrap_err().kind, kind);
    }
    // A non-zero return value, read from the last 4 bytes.
    let mut x = b.clone();
    let n = x.len();
    x[n - 4] = 0x57;
    let e = Reply::decode(&x).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::ServerError { code: 0x57 });
    assert_eq!((e.offset, e.structure), (n - 4, Structure::ReturnValue));
    // Extra bytes after the return value.
    let mut x = b.clone();
    x.extend_from_slice(&[0; 4]);
    assert!(matches!(
        Reply::decode(&x).unwrap_err().kind,
        DecodeErrorKind::TrailingBytes { .. }
    ));
    // A huge ATTR count (object 2's ATTR MaxCount at 0x28C) is refused before allocating.
    let mut x = b.clone();
    x[0x28c..0x290].copy_from_slice(&0x0fff_ffffu32.to_le_bytes());
    let e = Reply::decode(&x).unwrap_err();
    assert_eq!(e.structure, Structure::AttrBlock);
    assert_eq!(e.offset, 0x28c);
    // cNumObjects disagreeing with the list.
    let mut x = b.clone();
    x[0x70] = 3;
    assert!(matches!(
        Reply::decode(&x).unwrap_err().kind,
        DecodeErrorKind::ObjectCountMismatch {
            found: 2,
            declared: 3
        }
    ));
    // An error message: offset, structure, what.
    let mut x = b.clone();
    x[0x204..0x208].copy_from_slice(&4_000_000u32.to_le_bytes());
    let msg = Reply::decode(&x).unwrap_err().to_string();
    assert!(
        msg.starts_with("at byte 516 in DSNAME: count 4000000 exceeds remaining"),
        "{msg}"
    );
    // Dropping the prefix entry for index 9 makes every 0x0009xxxx ATTRTYP unmappable: an error,
    // not a silent default-table lookup. (Entry 3 of the array: ndx at 0x134 → make it 0x77.)
    let mut x = b.clone();
    let at = 0x12c + 3 * 12;
    assert_eq!(u32::from_le_bytes(x[at..at + 4].try_into().unwrap()), 9);
    x[at] = 0x77;
    assert!(matches!(
        Reply::decode(&x).unwrap_err().kind,
        DecodeErrorKind::UnknownPrefixIndex { .. }
    ));
}

#[test]
fn appendix_a_wrong_key_and_rollover() {
    let reply = Reply::decode(&appendix_a()).unwrap();
    let right = SessionKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let wrong = SessionKey::new(&[0u8; 16]);
    let o = &reply.objects()[0];
    let e = o.decrypt(&wrong).unwrap_err();
    assert_eq!(
        e,
        DecryptError::CrcMismatch {
            attribute: Attr::UnicodePwd,
            keys_tried: 1
        }
    );
    assert_eq!(
        e.to_string(),
        "unicodePwd: CRC32 mismatch for every one of the 1 session key(s)"
    );
    let acc = o.decrypt_with_any(&[wrong, right]).unwrap();
    assert_eq!(acc.rid(), Some(500));
    // Identity without decrypting.
    assert_eq!(o.sam_account_name().as_deref(), Some("Administrator"));
    assert_eq!(o.rid(), Some(500));
}

fn check_appendix_b_plaintext(sc: &SupplementalCredentials) {
    assert_eq!(
        sc.packages(),
        ["Kerberos-Newer-Keys", "Kerberos", "WDigest", "CLEARTEXT"]
    );
    assert_eq!(sc.cleartext().unwrap().as_str(), "Pa$$w0rd3");
    assert_eq!(sc.wdigest().len(), 29);
    assert_eq!(lower(&sc.wdigest()[0]), "89d44bed23b9d91c59aef37fef830cba");
    let k = sc.kerberos_newer_keys().unwrap();
    assert_eq!(k.revision(), 4);
    assert_eq!(k.default_salt(), "ADATUM.COMApril");
    assert_eq!(k.default_iteration_count(), 4096);
    let keys = |v: &[phsync::drs::KerberosKey]| -> Vec<(u32, String)> {
        v.iter().map(|k| (k.key_type(), lower(k.key()))).collect()
    };
    assert_eq!(
        keys(k.credentials()),
        [
            (
                18,
                "f393e57bd56648537775df675da349bc93bc338ce33da861b7b2da7a273811e7".into()
            ),
            (17, "998d4c71c1eb840daf9f492ca34b2376".into()),
            (3, "52d040e03e6ba226".into())
        ]
    );
    assert_eq!(
        keys(k.old_credentials()),
        [
            (
                18,
                "1503f36bbcccb9156afd4971a09f5c223d70540af221f58e019470da217aaaae".into()
            ),
            (17, "4c7cca573a19cdeb0fc8f96bc0f827c9".into()),
            (3, "ba2af7236b0d3b92".into())
        ]
    );
    assert_eq!(
        keys(k.older_credentials()),
        [
            (
                18,
                "de180288ee62dbdaf91f2853c186fff9d3e0a13c20cb817c4f860a1e006eaf35".into()
            ),
            (17, "bae6e7e116c39b2090758e6b24f55e51".into()),
            (3, "618cba3716cd6e32".into())
        ]
    );
    assert!(k.credentials().iter().all(|c| c.iteration_count() == 4096));
    let k3 = sc.kerberos().unwrap();
    assert_eq!(k3.revision(), 3);
    assert_eq!(k3.credentials().len(), 1);
}

#[test]
fn appendix_b_encrypted_supplemental_credentials() {
    let blob = hex_file("appendix-b-supplemental-encrypted.hex");
    assert_eq!(
        lower(&Sha256::digest(&blob)),
        "4dca553342f9cebdfa11f5b640c455fd9bf6a67acce0536a0f48ec5543a140b8"
    );
    let key = SessionKey::from_hex("62a65b7b549b2bf5f5426feec9cf9536").unwrap();
    let plain = decrypt_value(Attr::SupplementalCredentials, None, &[key], &blob).unwrap();
    assert_eq!(plain.len(), 2657);
    assert_eq!(
        lower(&Sha256::digest(plain.as_bytes())),
        "3de1895a227f1ef6a553ab1337d91eab5779df7f96d4c7ced46fd0833ff1a75c"
    );
    let sc = SupplementalCredentials::parse(plain.as_bytes()).unwrap();
    check_appendix_b_plaintext(&sc);
    let dbg = format!("{sc:?}");
    assert!(!dbg.contains("f393e5") && !dbg.contains("Pa$$"), "{dbg}");
}

#[test]
fn appendix_c_w2k16_vector2() {
    let blob = hex_file("appendix-c-supplemental-w2k16-vector2.hex");
    let sc = SupplementalCredentials::parse(&blob).unwrap();
    assert_eq!(
        lower(sc.ntlm_strong_ntowf().unwrap()),
        "1d687512c9354dcee237fea90d195cc7"
    );
    assert_eq!(
        sc.packages(),
        [
            "NTLM-Strong-NTOWF",
            "Kerberos-Newer-Keys",
            "Kerberos",
            "WDigest"
        ]
    );
    let k = sc.kerberos_newer_keys().unwrap();
    assert_eq!(k.default_salt(), "ADATUM.COMuser02");
    assert_eq!(k.default_iteration_count(), 4096);
    let got: Vec<(u32, String)> = k
        .credentials()
        .iter()
        .map(|c| (c.key_type(), lower(c.key())))
        .collect();
    assert_eq!(
        got,
        [
            (
                18,
                "622fca1d12de1df65e840afd5f3b9844b18a72a82aed6e3e58c39257753fdfa8".into()
            ),
            (17, "30666974cb729ef6bd44f8eab3296e5c".into()),
            (3, "13f8fd37d557a401".into())
        ]
    );
    assert_eq!(
        lower(sc.kerberos().unwrap().key(3).unwrap().key()),
        "13f8fd37d557a401"
    );
    assert_eq!(lower(&sc.wdigest()[0]), "9c386efd814f749cee0f2a9e6ed7ec63");
    assert!(sc.cleartext().is_none());
    // Truncations never panic; those that fail report an offset inside what was given, and
    // most do (a cut inside the header or a property always does).
    let mut failed = 0;
    for n in 0..blob.len() {
        if let Err(e) = SupplementalCredentials::parse(&blob[..n]) {
            let DecryptError::SupplementalMalformed { offset, .. } = e else {
                panic!("{n}: {e}");
            };
            assert!(offset <= n, "{n}: offset {offset}");
            failed += 1;
        }
    }
    assert!(
        failed * 10 >= blob.len() * 9,
        "{failed} of {} cuts refused",
        blob.len()
    );
}

#[test]
fn supplemental_empty_forms() {
    let sc = SupplementalCredentials::parse(&[0u8; 13]).unwrap();
    assert!(sc.packages().is_empty() && sc.kerberos_newer_keys().is_none());
    let mut b = hex("000000006200000000000000");
    for _ in 0..48 {
        b.extend_from_slice(&[0x20, 0x00]);
    }
    b.extend_from_slice(&[0x50, 0x00, 0x00]);
    assert_eq!(b.len(), 111);
    let sc = SupplementalCredentials::parse(&b).unwrap();
    assert!(sc.packages().is_empty());
    assert!(SupplementalCredentials::parse(&[0u8; 12]).is_err());
    assert!(SupplementalCredentials::parse(&[1u8; 13]).is_err());
}

#[test]
fn guid_sid_and_redaction() {
    let g: phsync::drs::Guid = "1ee07830-e2be-4409-9026-e71e849e0edf".parse().unwrap();
    assert_eq!(g.to_string(), "1ee07830-e2be-4409-9026-e71e849e0edf");
    assert_eq!(lower(&g.to_bytes_le()), "3078e01ebee209449026e71e849e0edf");
    assert_eq!(
        serde_json::to_string(&g).unwrap(),
        "\"1ee07830-e2be-4409-9026-e71e849e0edf\""
    );
    let reply = Reply::decode(&appendix_a()).unwrap();
    let key = SessionKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
    let acc = reply.objects()[0].decrypt(&key).unwrap();
    let dbg = format!("{acc:?} {key:?}");
    assert!(
        !dbg.contains("92937945") && !dbg.contains("0001020304"),
        "{dbg}"
    );
    assert!(dbg.contains("<redacted>"));
    // Resume state round-trips through serde.
    let to = reply.usn_vec_to();
    let s = serde_json::to_string(&to).unwrap();
    assert_eq!(
        serde_json::from_str::<phsync::drs::UsnVector>(&s).unwrap(),
        to
    );
    let c = reply.up_to_date_vector().unwrap()[0];
    let s = serde_json::to_string(&c).unwrap();
    assert_eq!(
        serde_json::from_str::<phsync::drs::UpToDateCursor>(&s).unwrap(),
        c
    );
}
