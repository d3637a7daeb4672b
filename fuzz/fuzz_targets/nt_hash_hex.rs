//! Fuzz target `nt_hash_hex`: see `phsync_fuzz::checks::nt_hash_hex` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::nt_hash_hex(data));
