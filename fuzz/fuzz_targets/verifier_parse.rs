//! Fuzz target `verifier_parse`: see `phsync_fuzz::checks::verifier_parse` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::verifier_parse(data));
