//! Fuzz target `dce_pdu`: see `phsync_fuzz::checks::dce_pdu` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::dce_pdu(data));
