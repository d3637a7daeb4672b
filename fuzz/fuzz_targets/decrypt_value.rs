//! Fuzz target `decrypt_value`: see `phsync_fuzz::checks::decrypt_value_target` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::decrypt_value_target(data));
