//! Memory stays bounded by the input on hostile DRS input: a counting global allocator records
//! the largest single allocation and the peak of live bytes while replies with counts and
//! lengths inflated to 0x7fffffff (and other huge values) are decoded. Alone in its own test
//! binary, with one test, so the counters belong to it: a `#[global_allocator]` counts every
//! allocation of its binary, so grouped with other tests (`tests/drs/`) it would count theirs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use phsync::drs::{Reply, SessionKey, SupplementalCredentials};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
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
