//! [`VerifierStore`]: change detection for sources that carry no replication metadata.
//!
//! A DRS reply says *when* a password changed (unicodePwd's version and originating time,
//! MS-DRSR §5.155 `PROPERTY_META_DATA_EXT`), so the store remembers that stamp and never the
//! password. An NT-hash file (secretsdump, pwdump, hashcat) says nothing of the kind: the only
//! way to know that a password is the one already synced is to compare it with what was
//! synced. Three ways to remember "what was synced" were weighed:
//!
//! | remembered | cost of a check | what a stolen store gives an attacker |
//! |---|---|---|
//! | the NT hash | a compare | every account's NT hash: pass-the-hash, no cracking needed |
//! | a fast keyed fingerprint (HMAC of the NT hash) | one HMAC | with the key stored alongside, a dictionary attack at HMAC speed |
//! | **the verifier last delivered** | one PBKDF2 with its salt | what Entra ID already holds: PBKDF2-HMAC-SHA256, 1000 iterations per guess |
//!
//! phsync keeps the verifier. Checking an unchanged account costs the one PBKDF2 that syncing
//! it would have cost (it runs in the same multi-lane batch); a changed account costs a second
//! one, with a fresh salt (a new password never reuses the old salt). The store file should
//! still be readable by the sync's service account only: [`super::SqliteStore`] creates it with
//! mode 0600.

use super::StateError;
use crate::CloudVerifier;

/// One account's new remembered verifier, as committed after its outcome was delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierUpdate {
    /// The account's key ([`crate::batch::VerifierSync`] derives it from the identity).
    pub key: String,
    /// The verifier delivered; `None` forgets the account (it was skipped or failed, so the
    /// next run that finds it in scope syncs it again).
    pub verifier: Option<CloudVerifier>,
}

/// Where a sync remembers the verifier it last delivered per account, for sources without
/// replication stamps.
///
/// Same promise as [`super::StateStore`]: [`VerifierStore::commit_verifiers`] is atomic, and
/// it is called only after the outcomes it records were delivered.
pub trait VerifierStore {
    /// The verifier last delivered for `key`.
    ///
    /// # Errors
    /// The backend failed, or the stored value is corrupt.
    fn last_verifier(&self, key: &str) -> Result<Option<CloudVerifier>, StateError>;

    /// Atomically applies `updates` (in order): all of them or none.
    ///
    /// # Errors
    /// The backend failed; nothing was stored.
    fn commit_verifiers(&mut self, updates: &[VerifierUpdate]) -> Result<(), StateError>;
}

impl<S: VerifierStore + ?Sized> VerifierStore for Box<S> {
    fn last_verifier(&self, key: &str) -> Result<Option<CloudVerifier>, StateError> {
        (**self).last_verifier(key)
    }

    fn commit_verifiers(&mut self, updates: &[VerifierUpdate]) -> Result<(), StateError> {
        (**self).commit_verifiers(updates)
    }
}

impl<S: VerifierStore + ?Sized> VerifierStore for &mut S {
    fn last_verifier(&self, key: &str) -> Result<Option<CloudVerifier>, StateError> {
        (**self).last_verifier(key)
    }

    fn commit_verifiers(&mut self, updates: &[VerifierUpdate]) -> Result<(), StateError> {
        (**self).commit_verifiers(updates)
    }
}
