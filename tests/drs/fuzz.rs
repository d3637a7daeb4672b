//! Hostile input, property-tested: mutated and random replies never panic. (That huge counts
//! are refused is counted in `hostile.rs`; that memory stays bounded by the input is measured
//! in `tests/hostile_memory.rs`.)

use phsync::drs::{Reply, SessionKey, SupplementalCredentials};
use proptest::prelude::*;

use crate::common::appendix_a;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_reply_never_panics(edits in proptest::collection::vec((0usize..2236, any::<u8>()), 1..8)) {
        let mut b = appendix_a();
        for (i, v) in edits {
            b[i] = v;
        }
        if let Ok(r) = Reply::decode(&b) {
            let key = SessionKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
            for o in r.objects() {
                let _ = o.decrypt(&key);
                let _ = o.object_classes();
                let _ = o.sam_account_name();
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512), v in 0u32..12) {
        let mut x = b.clone();
        if x.len() >= 8 {
            x[0..4].copy_from_slice(&v.to_le_bytes());
            x[4..8].copy_from_slice(&v.to_le_bytes());
        }
        let _ = Reply::decode(&x);
        let _ = SupplementalCredentials::parse(&b);
    }

    #[test]
    fn huge_values_anywhere_never_panic(at in 0usize..1 << 20, count in 0x0100_0000u32..) {
        let mut b = appendix_a();
        let at = at % (b.len() / 4) * 4;
        b[at..at + 4].copy_from_slice(&count.to_le_bytes());
        if let Err(e) = Reply::decode(&b) {
            prop_assert!(e.offset <= b.len(), "{e}");
        }
    }
}
