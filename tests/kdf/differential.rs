//! Every backend this machine can run against the `pbkdf2` crate (`docs/kdf.md`, "Correctness and
//! secrets"): iteration
//! counts {1, 2, 3, 100, 1000}, every batch size 0..=17 and random larger ones (lane mapping
//! and tails), random keys and salts, distinct inputs in every lane.

use phsync::kdf::{
    self, Backend, BackendChoiceError, BackendUnavailable, KEY_LEN, OUT_LEN, SALT_LEN,
};
use proptest::prelude::*;

fn reference(key: &[u8; KEY_LEN], salt: &[u8; SALT_LEN], iterations: u32) -> [u8; OUT_LEN] {
    let mut out = [0u8; OUT_LEN];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, salt, iterations, &mut out);
    out
}

/// Deterministic distinct inputs: a splitmix64 stream seeded by `seed`.
fn inputs(seed: u64, n: usize) -> (Vec<[u8; KEY_LEN]>, Vec<[u8; SALT_LEN]>) {
    let mut x = seed;
    let mut next = move || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut keys = vec![[0u8; KEY_LEN]; n];
    let mut salts = vec![[0u8; SALT_LEN]; n];
    for (k, s) in keys.iter_mut().zip(salts.iter_mut()) {
        for b in k.iter_mut() {
            *b = next() as u8;
        }
        for b in s.iter_mut() {
            *b = next() as u8;
        }
    }
    (keys, salts)
}

fn check(backend: Backend, keys: &[[u8; KEY_LEN]], salts: &[[u8; SALT_LEN]], iterations: u32) {
    let mut out = vec![[0xAAu8; OUT_LEN]; keys.len()];
    kdf::derive_many_with(backend, keys, salts, iterations, &mut out).expect("available");
    for (i, ((k, s), o)) in keys.iter().zip(salts).zip(&out).enumerate() {
        assert_eq!(
            *o,
            reference(k, s, iterations),
            "{backend}: item {i} of {}, {iterations} iterations",
            keys.len()
        );
    }
}

#[test]
fn portable_is_always_available() {
    let available = Backend::available();
    assert!(available.contains(&Backend::Portable));
    eprintln!(
        "available backends: {available:?}; selected {}",
        Backend::selected()
    );
    assert!(Backend::selected().is_available());
    assert!(Backend::detected().is_available());
}

#[test]
fn every_batch_size_0_to_17_every_iteration_count() {
    for backend in Backend::available() {
        for iterations in [1, 2, 3, 100, 1000] {
            for n in 0..=17 {
                let (keys, salts) = inputs(u64::from(iterations) << 32 | n as u64, n);
                check(backend, &keys, &salts, iterations);
            }
        }
    }
}

#[test]
fn thousand_iterations_lane_groups_and_tails() {
    // 13 = 8 + 4 + 1 covers a full AVX2 group, a SHA-NI x4 group, x2 and x1 tails.
    for backend in Backend::available() {
        let (keys, salts) = inputs(1000, 13);
        check(backend, &keys, &salts, 1000);
    }
}

#[test]
fn widest_groups_and_their_tails() {
    // 32 + 16 + 2 + 1: a full AVX-512 x32 group, then its x16 and SHA-NI tails; 64 = two
    // x32 groups, no tail.
    for backend in Backend::available() {
        for n in [51, 64] {
            let (keys, salts) = inputs(2000 + n as u64, n);
            check(backend, &keys, &salts, 100);
        }
    }
}

#[test]
fn same_key_different_salts_and_vice_versa() {
    // Lanes that differ only in the salt (or only in the key) must still map back correctly.
    let (mut keys, mut salts) = inputs(7, 17);
    for k in keys.iter_mut().skip(1) {
        *k = [b'A'; KEY_LEN];
    }
    for backend in Backend::available() {
        check(backend, &keys, &salts, 3);
    }
    for s in salts.iter_mut() {
        *s = [0x5a; SALT_LEN];
    }
    for backend in Backend::available() {
        check(backend, &keys, &salts, 3);
    }
}

#[test]
fn zero_iterations_follow_the_pbkdf2_crate() {
    let (keys, salts) = inputs(0, 5);
    for backend in Backend::available() {
        check(backend, &keys, &salts, 0);
    }
}

#[test]
fn derive_matches_derive_many_and_reference() {
    let (keys, salts) = inputs(42, 9);
    let mut many = vec![[0u8; OUT_LEN]; keys.len()];
    kdf::derive_many(&keys, &salts, 100, &mut many);
    for ((k, s), m) in keys.iter().zip(&salts).zip(&many) {
        let mut one = [0u8; OUT_LEN];
        kdf::derive(k, s, 100, &mut one);
        assert_eq!(one, *m);
        assert_eq!(one, reference(k, s, 100));
    }
}

#[test]
fn known_vector_pa55w0rd() {
    // DSInternals / JtR: "Pa$$w0rd" → NT 92937945B518814341DE3F726500D4FF, salt
    // 317ee9d1dec6508fa510, 100 iterations (DSInternals' known answer).
    let hex = "92937945B518814341DE3F726500D4FF";
    let mut key = [0u8; KEY_LEN];
    for (i, c) in hex.bytes().enumerate() {
        key[2 * i] = c;
    }
    let salt = [0x31, 0x7e, 0xe9, 0xd1, 0xde, 0xc6, 0x50, 0x8f, 0xa5, 0x10];
    let expected = "f4a257ffec53809081a605ce8ddedfbc9df9777b80256763bc0a6dd895ef404f";
    for backend in Backend::available() {
        let mut out = [[0u8; OUT_LEN]; 1];
        kdf::derive_many_with(backend, &[key], &[salt], 100, &mut out).unwrap();
        let got: String = out[0].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, expected, "{backend}");
    }
}

#[test]
fn names_round_trip_and_unknown_names_are_errors() {
    for &b in Backend::ALL {
        assert_eq!(Backend::from_name(b.name()), Ok(b));
        assert_eq!(b.to_string().parse::<Backend>(), Ok(b));
        assert!(b.lanes() >= 1);
    }
    assert_eq!(Backend::from_name("SHANI_X2"), Ok(Backend::ShaNiX2));
    let err = Backend::from_name("sha-ni-x16").unwrap_err();
    assert!(err.to_string().contains("portable"), "{err}");
}

#[test]
fn unavailable_backend_is_an_error_not_ub() {
    let (keys, salts) = inputs(3, 3);
    let mut out = vec![[0u8; OUT_LEN]; 3];
    for &b in Backend::ALL {
        let r = kdf::derive_many_with(b, &keys, &salts, 2, &mut out);
        if b.is_available() {
            assert!(r.is_ok());
        } else {
            assert_eq!(r, Err(BackendUnavailable { backend: b }));
            let _: BackendChoiceError = BackendUnavailable { backend: b }.into();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_batches(
        seed in any::<u64>(),
        n in 18usize..80,
        iterations in prop_oneof![Just(1u32), Just(2), Just(3), 4u32..40],
    ) {
        let (keys, salts) = inputs(seed, n);
        for backend in Backend::available() {
            check(backend, &keys, &salts, iterations);
        }
    }
}
