//! A malformed non-secret attribute is not a decryption failure: a real reply whose
//! userAccountControl value is patched to 3 bytes (MS-ADTS §2.2.16: a 4-byte integer) is
//! `DecryptError::BadValue` (`is_invalid_attribute`), and through the batch path
//! (`batch::drs_item`) the outcome reason is `invalid_attribute`, not `decrypt_failed`.

use phsync::drs::attr::Attr;
use phsync::drs::{DecryptError, Reply, Secrets};

use crate::common::{capture_files as captures, samba_file as fixture};

fn positions(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// A single-object extended-operation reply with `attr`'s value shortened by one byte: the
/// `ATTRVAL.valLen` and the deferred array's conformance count both shrink (the padding that
/// follows keeps every later field in place).
/// With `password`, the first such reply whose object has an NT hash.
fn reply_with_short(attr: Attr, password: bool) -> (Reply, phsync::drs::SessionKey) {
    let (f, key, bytes, reply) = captures()
        .into_iter()
        .filter(|(f, _)| {
            f.ends_with("impacket-ntlm-exop/reply-012.bin")
                || (password && f.contains("impacket-ntlm-exop/"))
        })
        .map(|(f, key)| {
            let bytes = fixture(&f);
            let reply = Reply::decode(&bytes).unwrap();
            (f, key, bytes, reply)
        })
        .find(|(_, key, _, r)| {
            let o = &r.objects()[0];
            o.attribute(attr).is_some()
                && (!password
                    || o.decrypt_nt_hash(std::slice::from_ref(key))
                        .is_ok_and(|h| h.is_some()))
        })
        .expect("an extended-operation reply with the attribute");
    let value = reply.objects()[0]
        .attribute(attr)
        .unwrap()
        .values()
        .next()
        .unwrap()
        .to_vec();
    let n = value.len() as u32;
    let count = n.to_le_bytes();
    let arrays = positions(&bytes, &[&count[..], &value].concat());
    let lens = positions(&bytes, &count);
    for &m in &arrays {
        for &l in lens.iter().filter(|&&l| l < m) {
            let mut b = bytes.clone();
            b[m..m + 4].copy_from_slice(&(n - 1).to_le_bytes());
            b[l..l + 4].copy_from_slice(&(n - 1).to_le_bytes());
            let Ok(r) = Reply::decode(&b) else { continue };
            let len = r.objects()[0]
                .attribute(attr)
                .and_then(|a| a.values().next().map(<[u8]>::len));
            if len == Some(n as usize - 1) {
                return (r, key);
            }
        }
    }
    panic!("could not shorten {attr:?} in {f}");
}

fn reply_with_3_byte_uac() -> (Reply, phsync::drs::SessionKey) {
    reply_with_short(Attr::UserAccountControl, false)
}

/// Password hash sync needs unicodePwd and the flags it decides on, nothing else: a malformed
/// accountExpires (7 bytes instead of 8) fails a full decryption but not the sync, which gives
/// the account's verifier.
#[test]
fn a_malformed_attribute_the_sync_does_not_use_does_not_block_it() {
    let (reply, key) = reply_with_short(Attr::AccountExpires, true);
    let object = &reply.objects()[0];
    let keys = std::slice::from_ref(&key);
    let err = object.decrypt_selected(keys, Secrets::Current).unwrap_err();
    assert!(err.is_invalid_attribute(), "{err}");
    let want = object.decrypt_nt_hash(keys).unwrap().expect("a password");
    let item = phsync::batch::drs_item(object, keys);
    assert!(item.is_ok(), "{item:?}");
    let mut outcome = Vec::new();
    phsync::batch::Runner::new(phsync::batch::SyncPolicy::default())
        .run(std::iter::once(item), |o| outcome.push(o));
    let v = outcome[0].verifier().expect("synced");
    assert!(v.verify_nt_hash(&want), "{outcome:?}");
}

#[test]
fn three_byte_user_account_control_is_an_invalid_attribute() {
    let (reply, key) = reply_with_3_byte_uac();
    let object = &reply.objects()[0];
    let keys = std::slice::from_ref(&key);
    for which in [Secrets::All, Secrets::Current] {
        let err = object.decrypt_selected(keys, which).unwrap_err();
        assert_eq!(
            err,
            DecryptError::BadValue {
                attribute: Attr::UserAccountControl,
                len: 3
            }
        );
        assert!(err.is_invalid_attribute(), "{err}");
    }
    let failure = phsync::batch::drs_item(object, keys).unwrap_err();
    assert_eq!(failure.reason.as_str(), "invalid_attribute", "{failure:?}");
}

#[test]
fn key_and_ciphertext_problems_are_not_invalid_attributes() {
    let bad = [
        DecryptError::NoKey,
        DecryptError::CrcMismatch {
            attribute: Attr::UnicodePwd,
            keys_tried: 1,
        },
        DecryptError::TooManyValues {
            attribute: Attr::UnicodePwd,
            count: 2,
        },
    ];
    assert!(bad.iter().all(|e| !e.is_invalid_attribute()));
    let e = DecryptError::TooManyValues {
        attribute: Attr::PwdLastSet,
        count: 2,
    };
    assert!(e.is_invalid_attribute());
}
