//! [`GuidMap`]: a hash map keyed by objectGUID, with a hasher made for 16-byte keys.
//!
//! The sync's bookkeeping looks up, inserts and removes every replicated object's GUID a few
//! times (merge, outcome, commit). The standard library's SipHash-1-3 costs about as much for
//! those 16 bytes as the rest of the look-up. This hasher folds the two 64-bit halves of the
//! GUID, each mixed with a per-map random key, through one 64 × 64 → 128-bit multiply (the
//! folded multiply of `foldhash` and `ahash`), then once more with the second key.
//!
//! The keys come from the standard library's [`RandomState`] (random per process and per map),
//! so the bucket of a GUID cannot be predicted without them: an AD administrator who creates
//! objects cannot aim them at one bucket. GUIDs are not chosen by the replicating client and are
//! mostly random (RFC 4122 version 4) already.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

use super::Guid;

/// A hash map keyed by [`Guid`].
pub(crate) type GuidMap<V> = HashMap<Guid, V, GuidHashState>;

/// A new, empty [`GuidMap`] with fresh random keys.
pub(crate) fn guid_map<V>() -> GuidMap<V> {
    HashMap::with_hasher(GuidHashState::new())
}

/// The random keys of one map.
#[derive(Clone, Debug)]
pub(crate) struct GuidHashState {
    k0: u64,
    k1: u64,
}

impl GuidHashState {
    fn new() -> GuidHashState {
        let random = RandomState::new();
        GuidHashState::with_keys(random.hash_one(0u8), random.hash_one(1u8))
    }

    fn with_keys(k0: u64, k1: u64) -> GuidHashState {
        GuidHashState { k0, k1 }
    }
}

impl BuildHasher for GuidHashState {
    type Hasher = GuidHasher;

    fn build_hasher(&self) -> GuidHasher {
        GuidHasher {
            keys: (self.k0, self.k1),
            state: self.k0,
        }
    }
}

/// The 128-bit product's halves xored: every input bit reaches the middle output bits.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    // Truncations intended: the low and the high half.
    (full as u64) ^ ((full >> 64) as u64)
}

/// Hashes what [`Guid`]'s `Hash` writes: the length of its 16 bytes, then the bytes. Any other
/// input is hashed too (8 bytes at a time), only not as fast.
#[derive(Clone, Debug)]
pub(crate) struct GuidHasher {
    keys: (u64, u64),
    state: u64,
}

impl GuidHasher {
    fn mix(&mut self, lo: u64, hi: u64) {
        let m = folded_multiply(lo ^ self.keys.0 ^ self.state, hi ^ self.keys.1);
        self.state = m.rotate_left(23);
    }
}

impl Hasher for GuidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            let (lo, hi) = c.split_at(8);
            self.mix(word(lo), word(hi));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 16];
            last[..rest.len()].copy_from_slice(rest);
            // The length, so that trailing zero bytes still change the hash.
            self.mix(
                word(&last[..8]),
                word(&last[8..]) ^ (rest.len() as u64) << 56,
            );
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Only the slice length prefix comes here (always 16 for a GUID): folded into the state
        // without a multiply of its own.
        self.state ^= n as u64;
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.state ^ self.keys.1, self.keys.0 | 1)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::{Guid, GuidHashState, guid_map};

    #[test]
    fn a_map_finds_what_it_holds_and_nothing_else() {
        let mut map = guid_map();
        let guid = |i: u32| {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&i.to_le_bytes());
            b[12..].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
            Guid::from_bytes_le(b)
        };
        for i in 0..10_000 {
            assert!(map.insert(guid(i), i).is_none());
        }
        for i in 0..10_000 {
            assert_eq!(map.get(&guid(i)), Some(&i));
        }
        assert_eq!(map.get(&guid(10_000)), None);
        assert_eq!(map.remove(&guid(7)), Some(7));
        assert_eq!(map.len(), 9_999);
    }

    #[test]
    fn guids_that_differ_in_one_bit_spread_over_the_buckets() {
        // 128 GUIDs one bit away from zero, and zero: in a table of 256 buckets (the low 8
        // bits of the hash), a sound hash leaves few collisions; a hash that ignored a byte
        // would put 9 of them in one bucket. Fixed keys (digits of pi, as random keys would
        // be; all-zero keys are as likely as guessing them), so that the test cannot flake.
        for (k0, k1) in [
            (0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344),
            (0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89),
        ] {
            let state = GuidHashState::with_keys(k0, k1);
            let mut buckets = [0u32; 256];
            for bit in 0..=128usize {
                let mut b = [0u8; 16];
                if bit < 128 {
                    b[bit / 8] = 1 << (bit % 8);
                }
                buckets[(state.hash_one(Guid::from_bytes_le(b)) & 0xff) as usize] += 1;
            }
            assert!(buckets.iter().all(|&n| n <= 5), "{k0:x} {buckets:?}");
        }
    }

    #[test]
    fn two_maps_have_different_keys() {
        let g = Guid::from_bytes_le([0x5a; 16]);
        let hashes: Vec<u64> = (0..4).map(|_| GuidHashState::new().hash_one(g)).collect();
        assert!(hashes.windows(2).any(|w| w[0] != w[1]), "{hashes:?}");
    }
}
