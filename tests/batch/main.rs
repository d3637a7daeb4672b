//! The batch part's integration tests, one test binary: the policy on made-up accounts, the
//! real Samba captures (full replication), incremental sync on real deltas with the state
//! stores, and a sync killed with SIGKILL that resumes without loss. (The memory bound of the
//! runner is in `tests/batch_memory.rs`, a binary of its own: it installs a counting global
//! allocator that would count the other tests too.)

#[path = "../common/mod.rs"]
mod common;

#[cfg(feature = "sqlite")]
mod crash;
mod incremental;
mod policy;
mod repeats;
mod samba;
mod verifiers;
