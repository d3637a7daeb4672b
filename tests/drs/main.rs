//! The DRS part's integration tests, one test binary: the vectors in `tests/vectors/drs/`, the
//! real Samba captures, hostile input and the property tests. (The memory bounds on hostile
//! input are in `tests/hostile_memory.rs`, a binary of its own.)

#[path = "../common/mod.rs"]
mod common;

mod fuzz;
mod hostile;
mod invalid_attribute;
mod samba;
mod vectors;
