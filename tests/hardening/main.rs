//! Hardening tests that span the parts, one test binary: the fuzz corpora replayed through the
//! fuzz targets' own bodies, secret hygiene type by type, and rules on the library's source
//! text.

#[path = "../common/mod.rs"]
mod common;

#[path = "../../fuzz/src/checks.rs"]
mod checks;

mod fuzz_corpus_replay;
mod secret_copies;
mod secret_hygiene;
mod source_rules;
