//! Fuzz target `drs_bind_reply`: see `phsync_fuzz::checks::drs_bind_reply` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::drs_bind_reply(data));
