//! Hostile LDAP input (feature `ldap`): the DirSync response control value (BER) with every
//! truncation, inflated and overlong lengths, indefinite lengths, wrong tags, nesting and
//! trailing data; hostile Samba-schema attribute values. Zero panics, typed errors only
//! (`BerError` with an offset inside the input; `BadHash`/`SourceFailure` naming the field).
#![cfg(feature = "ldap")]

use phsync::ldap::samba_attrs::{
    account_from_entry, acct_flags_to_uac, generalized_time, parse_nt_password,
};
use phsync::ldap::{BerError, DirSyncCookie, DirSyncRequest, DirSyncResponse, Entry};

fn offset(e: &BerError) -> usize {
    match e {
        BerError::Truncated { offset, .. }
        | BerError::UnexpectedTag { offset, .. }
        | BerError::BadLength { offset }
        | BerError::BadInteger { offset, .. }
        | BerError::TrailingData { offset, .. } => *offset,
        _ => 0,
    }
}

fn check(b: &[u8]) -> Option<DirSyncResponse> {
    match DirSyncResponse::parse(b) {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(
                offset(&e) <= b.len(),
                "{e}: offset past the input ({} bytes)",
                b.len()
            );
            assert!(!e.to_string().is_empty());
            None
        }
    }
}

/// A valid control value: the request encoder writes the same SEQUENCE { INTEGER, INTEGER,
/// OCTET STRING } shape the response has.
fn valid(cookie_len: usize) -> Vec<u8> {
    let req = DirSyncRequest {
        flags: phsync::ldap::DirSyncFlags(0x8000_0001),
        max_bytes: 0x7fff_ffff,
        cookie: DirSyncCookie::from_bytes((0..cookie_len).map(|i| i as u8).collect()),
    };
    req.encode()
}

#[test]
fn every_truncation_is_a_typed_error() {
    for n in [0, 1, 5, 127, 128, 300, 70_000] {
        let b = valid(n);
        let r = check(&b).expect("valid control parses");
        assert_eq!(r.cookie.as_bytes().len(), n);
        for cut in 0..b.len().min(400) {
            assert!(
                check(&b[..cut]).is_none(),
                "cookie {n}: cut at {cut} parsed"
            );
        }
        for cut in (b.len().saturating_sub(8))..b.len() {
            assert!(check(&b[..cut]).is_none());
        }
    }
}

#[test]
fn inflated_overlong_and_indefinite_lengths_are_refused() {
    let b = valid(40);
    // Every byte position, every length-ish value: no panic, no huge allocation (the cookie is
    // a borrowed slice until the length is checked against the input).
    for at in 0..b.len() {
        for v in [0x80u8, 0x81, 0x84, 0x85, 0x88, 0x89, 0xff, 0x7f, 0x00] {
            let mut m = b.clone();
            m[at] = v;
            let _ = check(&m);
        }
    }
    // Long-form lengths claiming 4 GiB and 2^64 - 1 bytes.
    for len in [
        &[0x84, 0xff, 0xff, 0xff, 0xff][..],
        &[0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0x80],
        &[0x8f],
    ] {
        let mut m = vec![0x30];
        m.extend_from_slice(len);
        m.extend_from_slice(&b[2..]);
        assert!(check(&m).is_none());
    }
    // Trailing data, nesting instead of the triplet, wrong tags.
    let mut t = b.clone();
    t.push(0);
    assert!(check(&t).is_none());
    let nested: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
        .flatten()
        .collect();
    assert!(check(&nested).is_none());
    let mut deep = Vec::new();
    for _ in 0..1000 {
        deep = [
            vec![0x30, 0x84],
            (deep.len() as u32).to_be_bytes().to_vec(),
            deep,
        ]
        .concat();
    }
    assert!(check(&deep).is_none());
    for tag in 0..=255u8 {
        let mut m = b.clone();
        m[0] = tag;
        if tag != 0x30 {
            assert!(check(&m).is_none());
        }
    }
}

#[test]
fn seeded_random_control_values_never_panic() {
    let mut x = 0x5eed_0004u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let base = valid(24);
    for _ in 0..50_000 {
        let mut m = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        let n = (next() as usize) % (m.len() + 1);
        let _ = check(&m[..n]);
    }
}

#[test]
fn hostile_samba_attribute_values_are_typed_errors() {
    let long = "A".repeat(1 << 20);
    let values: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff, 0xfe, 0x00],
        b"NO PASSWORD".to_vec(),
        "NO PASSWORD\u{e9}".into(),
        "\u{e9}NO PASSWORD".into(),
        b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".to_vec(),
        b"0123456789abcdef0123456789abcdeg".to_vec(),
        b"0123456789abcdef0123456789abcdef0".to_vec(),
        "0123456789abcdef0123456789abcd\u{e9}".into(),
        long.clone().into_bytes(),
    ];
    // Everything but the "no password" placeholders is refused, naming the attribute and not
    // echoing the value.
    for (i, v) in values.iter().enumerate() {
        let placeholder = v.get(..11).is_some_and(|p| p == b"NO PASSWORD")
            || (!v.is_empty() && v.iter().all(|&b| b == b'x' || b == b'X'));
        match parse_nt_password(v) {
            Ok(_) => assert!(placeholder, "value {i} accepted"),
            Err(e) => {
                assert!(!placeholder, "value {i} refused: {e:?}");
                let msg = format!("{e:?}");
                assert!(msg.contains("sambaNTPassword"), "{msg}");
                if v.len() >= 16 {
                    let text = String::from_utf8_lossy(&v[..16]);
                    assert!(!msg.contains(&*text), "value {i} echoed: {msg}");
                }
            }
        }
    }
    for v in &values {
        let text = String::from_utf8_lossy(v);
        let _ = acct_flags_to_uac(&text);
        let _ = generalized_time(&text);
    }
    for t in [
        "99999999999999Z",
        "20261301000000Z",
        "20260230000000.Z",
        "20260230000000.9999999999999999999999Z",
        "-0001010100000Z",
        "2026010100000\u{e9}Z",
        "00000101000000Z",
    ] {
        let _ = generalized_time(t);
    }
    for now in [i64::MIN, -1, 0, i64::MAX] {
        for v in &values {
            let entry = Entry {
                dn: String::from_utf8_lossy(v).into_owned(),
                attrs: vec![
                    ("sambaNTPassword".into(), vec![v.clone(), v.clone()]),
                    ("sambaPwdLastSet".into(), vec![v.clone()]),
                    (
                        "sambaPwdMustChange".into(),
                        vec![b"-9223372036854775808".to_vec()],
                    ),
                    ("sambaSID".into(), vec![v.clone()]),
                    ("entryCSN".into(), vec![v.clone()]),
                    ("sambaAcctFlags".into(), vec![v.clone()]),
                ],
            };
            let _ = account_from_entry(&entry, now);
            let mut single = entry.clone();
            single.attrs[0].1.truncate(1);
            single.attrs[1].1 = vec![b"9223372036854775807".to_vec()];
            let _ = account_from_entry(&single, now);
        }
    }
    let _ = long;
}
