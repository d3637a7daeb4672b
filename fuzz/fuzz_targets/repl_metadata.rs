//! Fuzz target `repl_metadata`: see `phsync_fuzz::checks::repl_metadata` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::repl_metadata(data));
