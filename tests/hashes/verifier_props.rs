//! Properties of the hashes part: parse ∘ format = id, derive = a straightforward reference,
//! verify accepts the right NT hash and rejects every one-bit change (ring-style bit flips),
//! fresh salts differ, and nothing secret leaks through `Debug` or errors.

use phsync::{CloudVerifier, Iterations, NtHash, ParseError, Salt};
use proptest::prelude::*;

/// The reference, written from the spec without any of phsync's code paths.
fn reference(nt: &[u8; 16], salt: &[u8; 10], iterations: u32) -> [u8; 32] {
    let hex: String = nt.iter().map(|b| format!("{b:02X}")).collect();
    let password: Vec<u8> = hex.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, salt, iterations, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn derive_equals_reference(nt in any::<[u8; 16]>(), salt in any::<[u8; 10]>(), it in 1u32..40) {
        let v = CloudVerifier::derive(&NtHash::from_bytes(nt), Salt::from_bytes(salt), Iterations::new(it).unwrap());
        prop_assert_eq!(*v.hash(), reference(&nt, &salt, it));
    }

    #[test]
    fn parse_format_roundtrip(salt in any::<[u8; 10]>(), it in 1u32..=100_000, hash in any::<[u8; 32]>()) {
        let v = CloudVerifier::from_parts(Salt::from_bytes(salt), Iterations::new(it).unwrap(), hash);
        let s = v.to_string();
        let back: CloudVerifier = s.parse().unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(back.to_string(), s);
    }

    #[test]
    fn parse_never_panics(s in ".{0,120}") {
        let _ = s.parse::<CloudVerifier>();
        let _ = NtHash::from_hex(&s);
    }

    #[test]
    fn from_hex_any_case(nt in any::<[u8; 16]>(), upper in any::<bool>()) {
        let hex: String = nt.iter().map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") }).collect();
        prop_assert_eq!(NtHash::from_hex(&hex).unwrap(), NtHash::from_bytes(nt));
    }

    #[test]
    fn verify_rejects_one_bit_off(nt in any::<[u8; 16]>(), salt in any::<[u8; 10]>(), bit in 0usize..128) {
        let it = Iterations::new(3).unwrap();
        let v = CloudVerifier::derive(&NtHash::from_bytes(nt), Salt::from_bytes(salt), it);
        prop_assert!(v.verify_nt_hash(&NtHash::from_bytes(nt)));
        let mut flipped = nt;
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!v.verify_nt_hash(&NtHash::from_bytes(flipped)));
    }
}

/// ring-style: flip every bit of the NT hash, the salt, and the stored key; each flip must
/// fail verification, and the unflipped value must pass.
#[test]
fn bit_flips_of_every_input_fail_verification() {
    let nt = NtHash::from_hex("92937945b518814341de3f726500d4ff").unwrap();
    let v: CloudVerifier = "v1;PPH1_MD4,a42b92067e4b8123101a,1000,f0fc762ea9051ef754652becd83ee5e54c1c857c1c0965abac5d85de9c143911;"
        .parse()
        .unwrap();
    assert!(v.verify_nt_hash(&nt));
    assert!(v.verify_password("Pa$$w0rd"));
    for bit in 0..128 {
        let mut b = *nt.as_bytes();
        b[bit / 8] ^= 1 << (bit % 8);
        assert!(!v.verify_nt_hash(&NtHash::from_bytes(b)), "nt bit {bit}");
    }
    for bit in 0..256 {
        let mut h = *v.hash();
        h[bit / 8] ^= 1 << (bit % 8);
        let tampered = CloudVerifier::from_parts(*v.salt(), v.iterations(), h);
        assert!(!tampered.verify_nt_hash(&nt), "hash bit {bit}");
    }
    for bit in 0..80 {
        let mut s = *v.salt().as_bytes();
        s[bit / 8] ^= 1 << (bit % 8);
        let tampered = CloudVerifier::from_parts(Salt::from_bytes(s), v.iterations(), *v.hash());
        assert!(!tampered.verify_nt_hash(&nt), "salt bit {bit}");
    }
    let other_it = CloudVerifier::from_parts(*v.salt(), Iterations::new(999).unwrap(), *v.hash());
    assert!(!other_it.verify_nt_hash(&nt));
}

#[test]
fn generate_uses_fresh_salts_and_default_iterations() {
    let nt = NtHash::from_password("Pa$$w0rd");
    let a = CloudVerifier::generate(&nt);
    let b = CloudVerifier::generate(&nt);
    assert_ne!(a.salt(), b.salt());
    assert_ne!(a, b);
    assert_eq!(a.iterations(), Iterations::DEFAULT);
    assert_eq!(Iterations::DEFAULT.get(), 1000);
    assert!(a.verify_password("Pa$$w0rd") && b.verify_password("Pa$$w0rd"));
    assert_eq!(Iterations::new(0), None);
}

#[test]
fn debug_and_errors_leak_nothing() {
    let hex = "92937945b518814341de3f726500d4ff";
    let nt = NtHash::from_hex(hex).unwrap();
    assert_eq!(format!("{nt:?}"), "NtHash(<redacted>)");
    assert_eq!(format!("{nt:#?}"), "NtHash(<redacted>)");

    let v = CloudVerifier::derive(&nt, Salt::from_bytes([1; 10]), Iterations::new(2).unwrap());
    let dk: String = v.hash().iter().map(|b| format!("{b:02x}")).collect();
    let dbg = format!("{v:?}");
    assert!(
        !dbg.contains(&dk[..16]) && dbg.contains("<redacted>"),
        "{dbg}"
    );

    // A near-miss hex string: the error says where, not what.
    let bad = "92937945b518814341de3f726500d4fZ";
    let err = NtHash::from_hex(bad).unwrap_err();
    assert!(matches!(err, ParseError::InvalidHex { position: 31, .. }));
    let msg = err.to_string();
    assert!(msg.contains("nt_hash") && !msg.contains("929379"), "{msg}");
    let err = NtHash::from_hex(&hex[..31]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "nt_hash: expected 32 hex digits, found 31 characters"
    );
}

/// A hostile iteration count (`4294967295` would make `verify_password` run for hours) is
/// refused by `FromStr` and serde with an error naming the field; a caller that trusts its
/// store raises the bound explicitly.
#[test]
fn parsed_iterations_are_bounded() {
    let with = |it: &str| {
        format!(
            "v1;PPH1_MD4,a42b92067e4b8123101a,{it},f0fc762ea9051ef754652becd83ee5e54c1c857c1c0965abac5d85de9c143911;"
        )
    };
    assert_eq!(Iterations::MAX_PARSED.get(), 100_000);
    let max = with("100000").parse::<CloudVerifier>().unwrap();
    assert_eq!(max.iterations(), Iterations::MAX_PARSED);
    for (text, found) in [("100001", 100_001), ("4294967295", u32::MAX)] {
        let err = with(text).parse::<CloudVerifier>().unwrap_err();
        assert_eq!(
            err,
            ParseError::IterationsAboveLimit {
                found,
                limit: 100_000
            }
        );
        assert!(err.to_string().starts_with("iterations: "), "{err}");
        let json = serde_json::to_string(&with(text)).unwrap();
        assert!(serde_json::from_str::<CloudVerifier>(&json).is_err());
        let all = Iterations::new(u32::MAX).unwrap();
        let v = CloudVerifier::parse_with_max_iterations(&with(text), all).unwrap();
        assert_eq!(v.iterations().get(), found);
    }
    let low = Iterations::new(999).unwrap();
    assert_eq!(
        CloudVerifier::parse_with_max_iterations(&with("1000"), low).unwrap_err(),
        ParseError::IterationsAboveLimit {
            found: 1000,
            limit: 999
        }
    );
}
