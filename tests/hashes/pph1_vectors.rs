//! Known-answer vectors from DSInternals, John the Ripper and hashcat (`tests/vectors/pph1.json`;
//! the algorithm: RFC 8018 §5.2 over the uppercase hex NT hash).

use phsync::{CloudVerifier, Iterations, NtHash, Salt};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../vectors/pph1.json")).expect("vector file is JSON")
}

fn nt_of(v: &Value) -> NtHash {
    match (v["password"].as_str(), v["nt_hash"].as_str()) {
        (_, Some(hex)) => NtHash::from_hex(hex).unwrap(),
        (Some(pw), None) => NtHash::from_password(pw),
        _ => panic!("vector without password or nt_hash: {v}"),
    }
}

fn salt_of(hex: &str) -> Salt {
    let bytes: Vec<u8> = (0..10)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    Salt::from_bytes(bytes.try_into().unwrap())
}

#[test]
fn every_verifier_vector_derives_parses_and_verifies() {
    let all = vectors();
    let list = all["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 11);
    for v in list {
        let nt = nt_of(v);
        let salt = salt_of(v["salt"].as_str().unwrap());
        let iterations = Iterations::new(v["iterations"].as_u64().unwrap() as u32).unwrap();
        let expected = v["verifier"].as_str().unwrap();
        let canonical = format!("{};", expected.trim_end_matches(';'));

        let derived = CloudVerifier::derive(&nt, salt, iterations);
        assert_eq!(derived.to_string(), canonical, "{}", v["source"]);

        let parsed: CloudVerifier = expected.parse().unwrap();
        assert_eq!(parsed, derived, "{}", v["source"]);
        assert!(parsed.verify_nt_hash(&nt), "{}", v["source"]);
        if let Some(pw) = v["password"].as_str() {
            assert!(parsed.verify_password(pw), "{}", v["source"]);
            assert!(
                !parsed.verify_password(&format!("{pw}x")),
                "{}",
                v["source"]
            );
        }
    }
}

#[test]
fn batch_matches_single_on_every_vector() {
    let all = vectors();
    for iterations in [100u32, 1000] {
        let items: Vec<(NtHash, Salt)> = all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["iterations"].as_u64() == Some(u64::from(iterations)))
            .map(|v| (nt_of(v), salt_of(v["salt"].as_str().unwrap())))
            .collect();
        let it = Iterations::new(iterations).unwrap();
        let batch = CloudVerifier::derive_batch(&items, it);
        assert_eq!(batch.len(), items.len());
        for ((nt, salt), got) in items.iter().zip(&batch) {
            assert_eq!(*got, CloudVerifier::derive(nt, *salt, it));
        }
    }
}

#[test]
fn lowercase_hex_negative_vector_is_never_produced() {
    let all = vectors();
    for n in all["negative"].as_array().unwrap() {
        let nt = NtHash::from_hex(n["nt_hash"].as_str().unwrap()).unwrap();
        let salt = salt_of(n["salt"].as_str().unwrap());
        let it = Iterations::new(n["iterations"].as_u64().unwrap() as u32).unwrap();
        let v = CloudVerifier::derive(&nt, salt, it);
        let hash_hex: String = v.hash().iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(hash_hex, n["wrong_dk"].as_str().unwrap());

        // And the wrong value really is what lowercase hex gives (the vector can bite).
        let lower: Vec<u8> = n["nt_hash"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut dk = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&lower, salt.as_bytes(), it.get(), &mut dk);
        let dk_hex: String = dk.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(dk_hex, n["wrong_dk"].as_str().unwrap());
    }
}

#[test]
fn nt_hash_vectors() {
    let all = vectors();
    for n in all["nt_hashes"].as_array().unwrap() {
        let from_pw = NtHash::from_password(n["password"].as_str().unwrap());
        let from_hex = NtHash::from_hex(n["nt_hash"].as_str().unwrap()).unwrap();
        assert_eq!(from_pw, from_hex);
        assert_eq!(from_pw.to_hex().as_str(), n["nt_hash"].as_str().unwrap());
    }
}
