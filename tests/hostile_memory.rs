//! Two facts about memory, measured by this binary's global allocator:
//!
//! - Memory stays bounded by the input on hostile DRS input: the allocator records the largest
//!   single allocation and the peak of live bytes while replies with counts and lengths
//!   inflated to 0x7fffffff (and other huge values) are decoded.
//! - Freed memory holds no secret: while armed, the allocator looks into every block before
//!   it is freed (or moved by `realloc`) for a marker, and secrets made of that marker —
//!   session keys, NT hashes, LDAP password attributes, reply bytes — are created, used and
//!   dropped. A plain `Vec` holding the marker is found, so the check can fail.
//!
//! In a binary of their own: a `#[global_allocator]` sees every allocation of its binary, so
//! grouped with other tests (`tests/drs/`) it would count and scan theirs. The two tests here
//! take one lock, so neither sees the other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};

use phsync::drs::{Reply, SessionKey, SupplementalCredentials};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// While set, freed blocks are searched for [`MARK`] and [`MARK_HEX`].
static ARMED: AtomicBool = AtomicBool::new(false);
/// Freed blocks that held a marker.
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// One test at a time.
static ONE: Mutex<()> = Mutex::new(());

/// The secret's bytes, and their hex as ASCII (how `sambaNTPassword` and key files hold it).
const MARK: [u8; 16] = *b"\x9e\x11\x5c\xd7\x42\xa0\x3b\xe8\x77\x06\xc4\x1f\x8a\x5d\x20\xb3";
const MARK_HEX: &[u8; 32] = b"9E115CD742A03BE87706C41F8A5D20B3";

/// A third marker, set by a test (bytes of a real reply); all zero = unset.
static EXTRA: [AtomicU8; 16] = [const { AtomicU8::new(0) }; 16];

fn holds_mark(block: &[u8]) -> bool {
    let extra: [u8; 16] = std::array::from_fn(|i| EXTRA[i].load(Relaxed));
    block.windows(MARK.len()).any(|w| w == MARK)
        || block
            .windows(MARK_HEX.len())
            .any(|w| w.eq_ignore_ascii_case(MARK_HEX))
        || (extra != [0; 16] && block.windows(16).any(|w| w == extra))
}

/// Looks into a block about to be freed, when armed.
///
/// # Safety
/// `ptr` is a live allocation of `size` bytes.
unsafe fn scan(ptr: *const u8, size: usize) {
    if ARMED.load(Relaxed) && size >= MARK.len() {
        // SAFETY: the caller's contract: `size` initialised-or-not bytes of a live block; a
        // byte slice of it is only read (uninitialised bytes are never the marker in practice,
        // and a freed block's contents are what this test is about).
        let block = unsafe { std::slice::from_raw_parts(ptr, size) };
        if holds_mark(block) {
            FOUND.fetch_add(1, Relaxed);
        }
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts, and reads blocks before
// they are freed.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        LARGEST.fetch_max(layout.size(), Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` is still allocated with `layout` (the caller's contract).
        unsafe { scan(ptr, layout.size()) };
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        LARGEST.fetch_max(new_size, Relaxed);
        // The block may move and its old copy be freed: look now.
        // SAFETY: `ptr` is still allocated with `layout` (the caller's contract).
        unsafe { scan(ptr, layout.size()) };
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

mod common;

use common::samba_file as fixture;

#[test]
fn inflated_counts_allocate_in_proportion_to_the_input() {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let key = SessionKey::from_hex("6a6569315767426c41584f70724f686e").unwrap();
    let bytes = fixture("bin/impacket-ntlm-exop/reply-012.bin");
    let n = bytes.len();
    // What an honest decode costs, for scale.
    let base_live = LIVE.load(Relaxed);
    PEAK.store(base_live, Relaxed);
    LARGEST.store(0, Relaxed);
    let reply = Reply::decode(&bytes).unwrap();
    for o in reply.objects() {
        o.decrypt(&key).unwrap();
    }
    drop(reply);
    let honest_peak = PEAK.load(Relaxed) - base_live;
    eprintln!(
        "honest decode of {n} bytes: peak {honest_peak} B live, largest allocation {} B",
        LARGEST.load(Relaxed)
    );

    PEAK.store(LIVE.load(Relaxed), Relaxed);
    LARGEST.store(0, Relaxed);
    let base_live = LIVE.load(Relaxed);
    let mut mutated = bytes.clone();
    let mut decoded = 0;
    for at in (0..n - 3).step_by(4) {
        for v in [
            0x7fff_ffffu32,
            0xffff_ffff,
            0x1000_0000,
            0x0100_0000,
            0x0010_0000,
        ] {
            mutated[at..at + 4].copy_from_slice(&v.to_le_bytes());
            if let Ok(r) = Reply::decode(&mutated) {
                decoded += 1;
                for o in r.objects() {
                    let _ = o.decrypt(&key);
                }
            }
            mutated[at..at + 4].copy_from_slice(&bytes[at..at + 4]);
        }
    }
    let peak = PEAK.load(Relaxed) - base_live;
    let largest = LARGEST.load(Relaxed);
    eprintln!(
        "{} inflated variants ({decoded} still decoded): peak {peak} B live, largest allocation {largest} B",
        (n / 4) * 5
    );
    // Bounded by a small multiple of the input and of the honest decode, never by a count.
    assert!(
        largest <= 16 * n + (64 << 10),
        "largest single allocation {largest} B for a {n}-byte input"
    );
    assert!(
        peak <= 4 * honest_peak + 16 * n + (1 << 20),
        "peak {peak} B vs honest {honest_peak} B"
    );

    // supplementalCredentials: a 112-byte header claiming 0xffff properties and a 4 GiB length.
    let mut s = vec![0u8; 112];
    s[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    s[108..110].copy_from_slice(&0x50u16.to_le_bytes());
    s[110..112].copy_from_slice(&0xffffu16.to_le_bytes());
    LARGEST.store(0, Relaxed);
    assert!(SupplementalCredentials::parse(&s).is_err());
    s[4..8].copy_from_slice(&100u32.to_le_bytes());
    let _ = SupplementalCredentials::parse(&s);
    assert!(LARGEST.load(Relaxed) <= 64 << 10);
}

/// Freed blocks that held the marker while `f` ran (armed around it only).
fn found_while(f: impl FnOnce()) -> usize {
    FOUND.store(0, Relaxed);
    ARMED.store(true, Relaxed);
    f();
    ARMED.store(false, Relaxed);
    FOUND.load(Relaxed)
}

#[test]
fn secrets_leave_no_copy_in_freed_memory() {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let hex = std::str::from_utf8(MARK_HEX).unwrap();

    // The check can fail: a plain buffer is freed as it is.
    assert!(
        found_while(|| drop(MARK.to_vec())) >= 1,
        "the scanner sees a plain buffer"
    );
    assert!(found_while(|| drop(hex.to_owned())) >= 1);

    assert_eq!(
        found_while(|| {
            let key = SessionKey::from_hex(hex).unwrap();
            assert_eq!(key.len(), 16);
            drop(key);
        }),
        0,
        "session key"
    );
    assert_eq!(
        found_while(|| {
            let nt = phsync::NtHash::from_hex(hex).unwrap();
            let v = phsync::CloudVerifier::derive(
                &nt,
                phsync::Salt::from_bytes([1; 10]),
                phsync::Iterations::new(2).unwrap(),
            );
            assert!(v.verify_nt_hash(&nt));
            let text = nt.to_hex();
            assert_eq!(text.as_str().len(), 32);
        }),
        0,
        "NT hash, its hex and a verifier from it"
    );

    // Reply bytes: 16 bytes of a real reply's encrypted unicodePwd value are the marker; the
    // reply owns its bytes (taken without a copy) and wipes them when dropped.
    let bytes = fixture("bin/samba-krb5-nc/reply-002.bin");
    let at = {
        let reply = Reply::decode(&bytes).unwrap();
        let value = reply
            .objects()
            .iter()
            .find_map(|o| o.attribute(phsync::drs::Attr::UnicodePwd)?.values().next())
            .expect("an encrypted unicodePwd");
        bytes
            .windows(value.len())
            .position(|w| w == value)
            .expect("the value is in the reply's bytes")
    };
    for (e, b) in EXTRA.iter().zip(&bytes[at + 4..at + 20]) {
        e.store(*b, Relaxed);
    }
    let mut wire = bytes.clone();
    wire.shrink_to_fit();
    let found = found_while(|| {
        let reply = Reply::decode_owned(wire).unwrap();
        assert!(!reply.objects().is_empty());
        drop(reply);
    });
    assert_eq!(found, 0, "reply bytes");
    assert!(
        found_while(|| drop(bytes)) >= 1,
        "the reply's own bytes hold the marker"
    );
    for e in &EXTRA {
        e.store(0, Relaxed);
    }

    #[cfg(feature = "ldap")]
    assert_eq!(
        found_while(|| {
            let entry = phsync::ldap::Entry {
                dn: "uid=alice,dc=example,dc=test".into(),
                attrs: vec![
                    ("uid".into(), vec![b"alice".to_vec()]),
                    ("sambaNTPassword".into(), vec![MARK_HEX.to_vec()]),
                ],
            };
            drop(entry);
        }),
        0,
        "LDAP entry's sambaNTPassword"
    );
}
