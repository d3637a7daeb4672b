//! Fuzz target `supplemental`: see `phsync_fuzz::checks::supplemental` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::supplemental(data));
