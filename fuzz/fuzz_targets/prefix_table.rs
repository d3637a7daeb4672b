//! Fuzz target `prefix_table`: see `phsync_fuzz::checks::prefix_table` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::prefix_table(data));
