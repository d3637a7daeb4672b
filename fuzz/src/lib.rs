//! Shared bodies of the fuzz targets; see `checks.rs` and `fuzz/README.md`.
pub mod checks;
