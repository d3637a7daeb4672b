//! Hardening tests that span the parts, one test binary: the fuzz corpora replayed through the
//! fuzz targets' own bodies, and secret hygiene type by type.

#[path = "../common/mod.rs"]
mod common;

#[path = "../../fuzz/src/checks.rs"]
mod checks;

mod fuzz_corpus_replay;
mod secret_hygiene;
