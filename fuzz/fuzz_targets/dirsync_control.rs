//! Fuzz target `dirsync_control`: see `phsync_fuzz::checks::dirsync_control` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::dirsync_control(data));
