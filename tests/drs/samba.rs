//! The real Samba captures (`tests/fixtures/samba-a/`, made by `shared/tools/samba-drs-fixture`):
//! every reply decodes, every object's identity and attribute list match the fixture's own
//! parse, and every account's NT hash, history, flags, metadata and Kerberos keys equal the
//! independent ground truth (`truth.json`, derived by `trim.py`).

use phsync::NtHash;
use phsync::drs::{Attr, DecryptError, HashState, Reply, SessionKey};
use serde_json::Value;

use crate::common::{capture_key as key, hex, lower_hex, samba_dir as dir, samba_truth as truth};

/// The capture's replies, decoded by `Reply::decode_owned` (so every test here checks it;
/// every other caller of the real captures uses `Reply::decode`): the buffers alternate
/// between an exact fit and one with spare capacity (the two ways `decode_owned` takes it).
fn replies(capture: &Value) -> Vec<Reply> {
    capture["replies"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let path = dir().join(r["file"].as_str().unwrap());
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, r["reply_bytes"].as_u64().unwrap());
            let borrowed =
                Reply::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut owned = Vec::with_capacity(bytes.len() + i % 2 * 7);
            owned.extend_from_slice(&bytes);
            let reply =
                Reply::decode_owned(owned).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(reply.objects().len(), borrowed.objects().len());
            assert_eq!(reply.usn_vec_to(), borrowed.usn_vec_to());
            reply
        })
        .collect()
}

fn account<'a>(t: &'a Value, role: &str) -> &'a Value {
    t["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == role)
        .unwrap()
}

#[test]
fn headers_and_counts_match() {
    let t = truth();
    for c in t["captures"].as_array().unwrap() {
        let rs = replies(c);
        let mut total = 0;
        for (r, want) in rs.iter().zip(c["replies"].as_array().unwrap()) {
            assert_eq!(r.version() as u64, want["out_version"].as_u64().unwrap());
            assert_eq!(
                r.objects().len() as u64,
                want["object_count"].as_u64().unwrap()
            );
            assert_eq!(r.more_data(), want["more_data"].as_bool().unwrap());
            let to = r.usn_vec_to();
            let wt: Vec<i64> = serde_json::from_value(want["usn_vec_to"].clone()).unwrap();
            assert_eq!(
                [
                    to.usn_high_obj_update,
                    to.usn_reserved,
                    to.usn_high_prop_update
                ],
                wt[..]
            );
            let from = r.usn_vec_from();
            let wf: Vec<i64> = serde_json::from_value(want["usn_vec_from"].clone()).unwrap();
            assert_eq!(
                [
                    from.usn_high_obj_update,
                    from.usn_reserved,
                    from.usn_high_prop_update
                ],
                wf[..]
            );
            assert_eq!(
                r.extended_ret() as u64,
                want["extended_ret"].as_u64().unwrap()
            );
            assert_eq!(
                r.up_to_date_vector().is_some(),
                want["up_to_date_vector_present"].as_bool().unwrap()
            );
            assert_eq!(
                r.linked_values().len() as u64,
                want["linked_attributes_count"].as_u64().unwrap()
            );
            for lv in r.linked_values() {
                // Linked values of the domain NC: DN-valued links (member, …) whose value is a
                // flat DSNAME naming an object with a GUID.
                assert!(lv.object.as_ref().unwrap().guid().is_some());
                let target = phsync::drs::reply::parse_dsname_value(&lv.value).unwrap();
                assert!(target.guid().is_some() || target.dn().is_some());
                assert!(lv.metadata.version() >= 1);
                assert!(r.prefix_table().oid(lv.attrtyp).is_ok());
            }
            assert_eq!(r.return_value(), 0);
            assert_eq!(r.source_dsa_guid().to_string(), want["source_dsa_guid"]);
            assert_eq!(
                r.source_dsa_invocation_id().to_string(),
                want["source_dsa_invocation_id"]
            );
            let nc = r.naming_context().unwrap();
            assert_eq!(nc.dn().unwrap_or(""), want["naming_context"]["dn"]);
            assert_eq!(
                nc.guid().unwrap().to_string(),
                want["naming_context"]["guid"]
            );
            total += r.objects().len();
            // The prefix table equals the fixture's decoded one, minus the schemaInfo entry.
            let entries: Vec<(u64, String)> = r
                .prefix_table()
                .entries()
                .iter()
                .map(|e| (e.ndx as u64, lower_hex(&e.prefix)))
                .collect();
            let want_entries: Vec<(u64, String)> = c["prefix_table"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| !p["prefix_hex"].as_str().unwrap().starts_with("ff"))
                .map(|p| {
                    (
                        p["ndx"].as_u64().unwrap(),
                        p["prefix_hex"].as_str().unwrap().into(),
                    )
                })
                .collect();
            assert_eq!(entries, want_entries);
            assert!(r.prefix_table().schema_info().is_some());
        }
        assert_eq!(total, c["all_objects"].as_array().unwrap().len());
        if c["id"] == "impacket-ntlm-exop" {
            assert_eq!(total, 16);
        } else {
            assert_eq!(total, 282);
            // The last chunk carries the up-to-date vector naming the DC's invocation id.
            let utd = rs.last().unwrap().up_to_date_vector().unwrap();
            assert!(
                utd.iter()
                    .any(|u| u.dsa_invocation_id.to_string() == t["domain"]["invocation_id"])
            );
        }
    }
}

#[test]
fn every_object_identity_matches() {
    let t = truth();
    for c in t["captures"].as_array().unwrap() {
        let rs = replies(c);
        for o in c["all_objects"].as_array().unwrap() {
            let (ri, oi) = (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            );
            let obj = &rs[ri].objects()[oi];
            assert_eq!(obj.object_guid().unwrap().to_string(), o[2]);
            assert_eq!(obj.attributes().len() as u64, o[3].as_u64().unwrap());
            assert_eq!(obj.dn().unwrap(), o[4]);
        }
    }
}

#[test]
fn every_object_decrypts() {
    let t = truth();
    for c in t["captures"].as_array().unwrap() {
        let k = key(c);
        let mut with_nt = 0;
        for r in replies(c) {
            for o in r.objects() {
                let a = o
                    .decrypt(&k)
                    .unwrap_or_else(|e| panic!("{:?}: {e}", o.dn()));
                with_nt += usize::from(a.nt_hash().is_some());
            }
        }
        // 16 accounts, one (nopasswd) without a password.
        assert_eq!(with_nt, 15, "{}", c["id"]);
    }
}

#[test]
fn attribute_lists_and_metadata_match() {
    let t = truth();
    for c in t["captures"].as_array().unwrap() {
        let rs = replies(c);
        for o in c["objects"].as_array().unwrap() {
            let obj = &rs[o["reply_index"].as_u64().unwrap() as usize].objects()
                [o["object_index_in_reply"].as_u64().unwrap() as usize];
            assert_eq!(
                obj.rid().unwrap() as u64,
                o["rid_used_for_des_layer"].as_u64().unwrap()
            );
            assert_eq!(obj.parent_guid().unwrap().to_string(), o["parent_guid"]);
            assert_eq!(obj.flags() as u64, o["entinf_flags"].as_u64().unwrap());
            let want = o["attributes"].as_array().unwrap();
            assert_eq!(obj.attributes().len(), want.len());
            for (a, w) in obj.attributes().zip(want) {
                assert_eq!(a.attrtyp() as u64, w[0].as_u64().unwrap());
                assert_eq!(
                    obj.prefix_table().oid(a.attrtyp()).unwrap(),
                    w[1].as_str().unwrap()
                );
                assert_eq!(a.value_count() as u64, w[2].as_u64().unwrap());
                let m = a.metadata().unwrap();
                assert_eq!(m.version() as u64, w[3][0].as_u64().unwrap());
                assert_eq!(m.originating_time().0, w[3][1].as_i64().unwrap());
                assert_eq!(m.originating_invocation_id().to_string(), w[3][2]);
                assert_eq!(m.originating_usn(), w[3][3].as_i64().unwrap());
            }
        }
    }
}

#[test]
fn accounts_match_ground_truth() {
    let t = truth();
    let mut checked = 0;
    for c in t["captures"].as_array().unwrap() {
        let rs = replies(c);
        let k = key(c);
        assert_eq!(k.len() as u64, c["session_key_len"].as_u64().unwrap());
        for o in c["objects"].as_array().unwrap() {
            let role = o["account_role"].as_str().unwrap();
            let want = account(&t, role);
            let obj = &rs[o["reply_index"].as_u64().unwrap() as usize].objects()
                [o["object_index_in_reply"].as_u64().unwrap() as usize];
            // Identity is readable without decrypting.
            assert_eq!(obj.sam_account_name().unwrap(), want["sam_account_name"]);
            let acc = obj.decrypt(&k).unwrap();
            assert_eq!(acc.sam_account_name().unwrap(), want["sam_account_name"]);
            assert_eq!(acc.dn().unwrap(), want["dn"]);
            assert_eq!(acc.object_guid().unwrap().to_string(), want["object_guid"]);
            assert_eq!(acc.sid().unwrap().to_string(), want["object_sid"]);
            assert_eq!(acc.rid().unwrap() as u64, want["rid"].as_u64().unwrap());
            assert_eq!(
                acc.user_account_control().unwrap() as u64,
                want["user_account_control"].as_u64().unwrap()
            );
            assert_eq!(
                acc.pwd_last_set().unwrap(),
                want["pwd_last_set"].as_i64().unwrap()
            );
            assert!(!acc.is_deleted());
            assert!(acc.object_classes().iter().any(|c| c == "top"));
            assert!(
                acc.object_classes()
                    .iter()
                    .any(|c| c == "user" || c == "computer")
            );

            match want["nt_hash"].as_str() {
                Some(h) => {
                    assert_eq!(
                        acc.nt_hash().unwrap(),
                        &NtHash::from_hex(h).unwrap(),
                        "{role}"
                    );
                    assert!(matches!(acc.nt_hash_state(), HashState::Present(_)));
                }
                None => {
                    assert!(acc.nt_hash().is_none());
                    assert_eq!(acc.nt_hash_state(), HashState::NoValue, "{role}");
                }
            }
            let hist: Vec<String> = acc
                .nt_history()
                .iter()
                .map(|h| h.to_hex().to_string())
                .collect();
            let want_hist: Vec<String> =
                serde_json::from_value(want["nt_history"].clone()).unwrap();
            assert_eq!(hist, want_hist, "{role}");
            if let Some(pw) = want["current_password"].as_str()
                && want["has_password"].as_bool().unwrap()
            {
                assert_eq!(acc.nt_hash().unwrap(), &NtHash::from_password(pw));
                let pws: Vec<String> =
                    serde_json::from_value(want["passwords_newest_first"].clone()).unwrap();
                for (h, p) in acc.nt_history().iter().zip(&pws) {
                    assert_eq!(h, &NtHash::from_password(p));
                }
            }
            // LM: Samba never stores one; the attributes arrive with zero values.
            assert_eq!(acc.lm_hash_state(), HashState::NoValue);
            assert!(acc.lm_history().is_empty());

            // unicodePwd metadata equals what Samba stored.
            if let Some(m) = want["unicode_pwd_meta"].as_object() {
                let got = acc.unicode_pwd_metadata().unwrap();
                assert_eq!(got.version() as u64, m["version"].as_u64().unwrap());
                assert_eq!(
                    got.originating_time().to_filetime(),
                    m["originating_change_time_nttime"].as_i64().unwrap()
                );
                assert_eq!(
                    got.originating_invocation_id().to_string(),
                    m["originating_invocation_id"]
                );
                assert_eq!(
                    got.originating_usn(),
                    m["originating_usn"].as_i64().unwrap()
                );
            }

            // supplementalCredentials: Kerberos keys, packages, cleartext.
            match want["supplemental_credentials"].as_object() {
                None => assert!(acc.supplemental_credentials().is_none(), "{role}"),
                Some(sc) => {
                    let got = acc.supplemental_credentials().unwrap();
                    for (name, creds) in [
                        ("Primary:Kerberos-Newer-Keys", got.kerberos_newer_keys()),
                        ("Primary:Kerberos", got.kerberos()),
                    ] {
                        let w = &sc[name];
                        let creds = creds.unwrap();
                        assert_eq!(creds.default_salt(), w["salt"]);
                        let keys: Vec<(u64, String)> = creds
                            .credentials()
                            .iter()
                            .map(|k| (k.key_type() as u64, lower_hex(k.key())))
                            .collect();
                        let want_keys: Vec<(u64, String)> = w["keys"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|k| {
                                (
                                    k["keytype"].as_u64().unwrap(),
                                    k["value_hex"].as_str().unwrap().into(),
                                )
                            })
                            .collect();
                        assert_eq!(keys, want_keys, "{role} {name}");
                    }
                    let pk: Vec<String> = serde_json::from_value(sc["Packages"].clone()).unwrap();
                    assert_eq!(got.packages(), &pk[..]);
                    assert_eq!(
                        lower_hex(&got.wdigest()[0]),
                        sc["Primary:WDigest"]["first_hash_hex"].as_str().unwrap()
                    );
                    assert_eq!(got.wdigest().len(), 29);
                    match sc.get("Primary:CLEARTEXT") {
                        Some(ct) => {
                            assert_eq!(got.cleartext().unwrap().as_str(), ct["text"]);
                            assert_eq!(
                                NtHash::from_utf16(got.cleartext_utf16().unwrap()),
                                *acc.nt_hash().unwrap()
                            );
                        }
                        None => assert!(got.cleartext().is_none()),
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 48);
}

#[test]
fn kerberos_32_byte_key_and_rollover() {
    let t = truth();
    let krb = t["captures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "samba-krb5-nc")
        .unwrap();
    let ntlm = t["captures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "impacket-ntlm-nc")
        .unwrap();
    let k32 = key(krb);
    assert_eq!(k32.len(), 32);
    let wrong = key(ntlm);
    let rs = replies(krb);
    let plain = account(&t, "plain");
    let obj = rs
        .iter()
        .flat_map(|r| r.objects())
        .find(|o| o.sam_account_name().as_deref() == plain["sam_account_name"].as_str())
        .unwrap();
    let want = NtHash::from_hex(plain["nt_hash"].as_str().unwrap()).unwrap();
    assert_eq!(obj.decrypt(&k32).unwrap().nt_hash().unwrap(), &want);
    // Rollover: the stale key first, then the right one; and the reverse.
    let keys = [wrong.clone(), k32.clone()];
    assert_eq!(
        obj.decrypt_with_any(&keys).unwrap().nt_hash().unwrap(),
        &want
    );
    let keys = [k32.clone(), wrong.clone()];
    assert_eq!(
        obj.decrypt_with_any(&keys).unwrap().nt_hash().unwrap(),
        &want
    );
    // The wrong key alone: a CRC mismatch naming the attribute.
    let e = obj.decrypt(&wrong).unwrap_err();
    assert!(matches!(e, DecryptError::CrcMismatch { .. }), "{e}");
    assert!(e.to_string().contains("CRC32 mismatch"));
    // Only the first 16 bytes of the 32-byte key: also wrong.
    let truncated = SessionKey::new(&hex(krb["session_key_hex"].as_str().unwrap())[..16]);
    assert!(obj.decrypt(&truncated).is_err());
    // Identity stays readable.
    assert_eq!(obj.sam_account_name().unwrap(), plain["sam_account_name"]);
    assert!(obj.attribute(Attr::UnicodePwd).is_some());
}

#[test]
fn truncations_never_panic() {
    let t = truth();
    let c = &t["captures"][0];
    let bytes = std::fs::read(dir().join(c["replies"][0]["file"].as_str().unwrap())).unwrap();
    for n in 0..bytes.len() {
        assert!(Reply::decode(&bytes[..n]).is_err());
    }
    // Flipping bytes never panics.
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0xa5;
        let _ = Reply::decode(&b).map(|r| {
            for o in r.objects() {
                let _ = o.decrypt(&key(c));
            }
        });
    }
}

#[test]
fn hashes_only_decryption_agrees() {
    let t = truth();
    for c in t["captures"].as_array().unwrap() {
        let k = key(c);
        for r in replies(c) {
            for o in r.objects() {
                let all = o.decrypt(&k).unwrap();
                let some = o
                    .decrypt_selected(std::slice::from_ref(&k), phsync::drs::Secrets::Hashes)
                    .unwrap();
                assert_eq!(all.nt_hash(), some.nt_hash());
                assert_eq!(all.nt_history(), some.nt_history());
                assert_eq!(all.nt_hash_state(), some.nt_hash_state());
                assert!(some.supplemental_credentials().is_none());
                assert_eq!(
                    some.supplemental_skipped(),
                    all.supplemental_credentials().is_some()
                );
                assert!(!all.supplemental_skipped());

                let current = o
                    .decrypt_selected(std::slice::from_ref(&k), phsync::drs::Secrets::Current)
                    .unwrap();
                assert_eq!(all.nt_hash_state(), current.nt_hash_state());
                assert_eq!(all.lm_hash_state(), current.lm_hash_state());
                assert!(current.nt_history().is_empty() && current.lm_history().is_empty());
                assert!(current.supplemental_credentials().is_none());
            }
        }
    }
}
