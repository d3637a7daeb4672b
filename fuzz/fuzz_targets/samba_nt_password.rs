//! Fuzz target `samba_nt_password`: see `phsync_fuzz::checks::samba_nt_password` (`fuzz/src/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phsync_fuzz::checks::samba_nt_password(data));
