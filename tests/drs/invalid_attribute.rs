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

/// A single-object extended-operation reply with its userAccountControl value shortened to 3
/// bytes: the `ATTRVAL.valLen` and the deferred array's conformance count both become 3 (the
/// padding that follows keeps every later field in place).
fn reply_with_3_byte_uac() -> (Reply, phsync::drs::SessionKey) {
    let (f, key) = captures()
        .into_iter()
        .find(|(f, _)| f.ends_with("impacket-ntlm-exop/reply-012.bin"))
        .unwrap();
    let bytes = fixture(&f);
    let reply = Reply::decode(&bytes).unwrap();
    let uac = reply.objects()[0]
        .attribute(Attr::UserAccountControl)
        .unwrap()
        .values()
        .next()
        .unwrap()
        .to_vec();
    assert_eq!(uac.len(), 4);
    let four = 4u32.to_le_bytes();
    let arrays = positions(&bytes, &[&four[..], &uac].concat());
    let lens = positions(&bytes, &four);
    for &m in &arrays {
        for &l in lens.iter().filter(|&&l| l < m) {
            let mut b = bytes.clone();
            b[m..m + 4].copy_from_slice(&3u32.to_le_bytes());
            b[l..l + 4].copy_from_slice(&3u32.to_le_bytes());
            let Ok(r) = Reply::decode(&b) else { continue };
            let len = r.objects()[0]
                .attribute(Attr::UserAccountControl)
                .and_then(|a| a.values().next().map(<[u8]>::len));
            if len == Some(3) {
                return (r, key);
            }
        }
    }
    panic!("could not place a 3-byte userAccountControl in {f}");
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
