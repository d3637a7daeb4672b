//! Fuzz target `reply_decode`: see `phsync_fuzz::checks::reply_decode` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::reply_decode(data));
