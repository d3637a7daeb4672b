//! Batch sync: a policy and a parallel runner that turn any stream of accounts into exactly
//! one [`Outcome`] per account, in input order.
//!
//! ```text
//! SourceItem (account or source failure) ──policy──▶ skip / fail / hash ──core──▶ Outcome
//! ```
//!
//! Sources: DRS replies (see `phsync::drs`; state and watermark through [`DrsSync`]), raw NT
//! hashes ([`SyncAccount::from_nt_hash`]; change detection through [`VerifierSync`]), and
//! anything else that can fill a [`SyncAccount`].

mod account;
mod books;
mod drs_sync;
mod from_drs;
mod merge;
mod outcome;
mod policy;
mod read_ahead;
mod runner;
mod state;
mod verifier_sync;

pub use account::{
    FailReason, Identity, ObjectKind, PasswordStamp, PasswordState, SourceFailure, SourceItem,
    SyncAccount, SyncedPassword,
};
pub use drs_sync::{DrsSync, HeldBack, OutcomeSink, SyncReport};
pub use from_drs::{drs_item, drs_items, object_identity, source_anchor};
pub use outcome::{Failure, Outcome, Record, SkipReason};
pub use policy::{
    Decision, Filter, RID_KRBTGT, SyncPolicy, UF_ACCOUNTDISABLE, UF_INTERDOMAIN_TRUST_ACCOUNT,
    UF_SERVER_TRUST_ACCOUNT, UF_SMARTCARD_REQUIRED, UF_WORKSTATION_TRUST_ACCOUNT,
};
pub use runner::{
    CancelToken, DEFAULT_CHUNK_SIZE, DEFAULT_SUB_BATCH, Outcomes, ProgressFn, Runner, Summary,
};
pub use state::SyncState;
pub use verifier_sync::{DEFAULT_COMMIT_EVERY, VerifierSync, verifier_key};
