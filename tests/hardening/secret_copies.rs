//! No unwiped copies of secrets: `SupplementalCredentials::cleartext` decodes into a buffer of
//! exactly the final size (a reallocation would leave the password behind in freed memory),
//! and `ldap::Entry` wipes its password attributes on drop, whatever path it took.

use phsync::drs::SupplementalCredentials;

/// USER_PROPERTIES (MS-SAMR §2.2.10.1) with one `Primary:CLEARTEXT` property.
fn user_properties_with_cleartext(password: &str) -> Vec<u8> {
    let name: Vec<u8> = "Primary:CLEARTEXT"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let value: String = password
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .map(|b| format!("{b:02X}"))
        .collect();
    let mut b = vec![0u8; 112];
    b[108..110].copy_from_slice(&0x50u16.to_le_bytes());
    b[110..112].copy_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(&(value.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&name);
    b.extend_from_slice(value.as_bytes());
    b.push(0);
    let length = (b.len() - 12) as u32;
    b[4..8].copy_from_slice(&length.to_le_bytes());
    b
}

#[test]
fn cleartext_is_decoded_without_reallocating() {
    for password in ["Pa$$w0rd", "密码密码密码密码密码密码", "pässwörd-😀-ok", ""] {
        let sc = SupplementalCredentials::parse(&user_properties_with_cleartext(password)).unwrap();
        let clear = sc.cleartext().unwrap();
        assert_eq!(clear.as_str(), password);
        // Grown buffers have spare capacity (and left a freed, unwiped copy behind).
        assert_eq!(clear.capacity(), clear.len(), "{password:?}");
    }
    // Not valid UTF-16 (an unpaired surrogate): no string at all.
    let mut bad = user_properties_with_cleartext("ab");
    let end = bad.len() - 1; // the value's last UTF-16 unit, then the trailing byte
    bad[end - 4..end].copy_from_slice(b"00D8");
    let sc = SupplementalCredentials::parse(&bad).unwrap();
    assert!(sc.cleartext_utf16().is_some());
    assert!(sc.cleartext().is_none());
}

#[cfg(feature = "ldap")]
#[test]
fn ldap_entries_wipe_on_drop_and_compare_secrets_in_constant_time() {
    use phsync::ldap::Entry;
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<Entry>();

    let entry = |hash: &[u8]| Entry {
        dn: "uid=alice,dc=example,dc=test".into(),
        attrs: vec![
            ("uid".into(), vec![b"alice".to_vec()]),
            ("sambaNTPassword".into(), vec![hash.to_vec()]),
        ],
    };
    let a = entry(b"92937945b518814341de3f726500d4ff");
    assert_eq!(a, a.clone());
    for i in 0..32 {
        let mut h = *b"92937945b518814341de3f726500d4ff";
        h[i] ^= 1;
        assert_ne!(a, entry(&h), "byte {i}");
    }
    let mut other_uid = a.clone();
    other_uid.attrs[0].1[0] = b"bob".to_vec();
    assert_ne!(a, other_uid);
}
