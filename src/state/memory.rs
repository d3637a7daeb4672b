//! Stores that keep nothing on disk: [`MemoryStore`] (a map, for tests and short-lived
//! embedders) and [`NoStore`] (remembers nothing: every run stands alone). Both also implement
//! `super::VerifierStore` (in `verifiers.rs`).

use std::collections::HashMap;

use super::{ObjectRecord, ObjectUpdate, StateError, StateStore, Watermark};
use crate::CloudVerifier;
use crate::ad::Guid;

/// Every record in a map in memory. Grows with the directory: for a few thousand objects or
/// tests; use `SqliteStore` (feature `sqlite`) for a real domain.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    objects: HashMap<Guid, ObjectRecord>,
    watermark: Option<Watermark>,
    pub(super) verifiers: HashMap<String, CloudVerifier>,
    pub(super) commits: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Number of objects remembered.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Number of verifiers remembered (`super::VerifierStore`).
    pub fn verifier_count(&self) -> usize {
        self.verifiers.len()
    }

    /// Number of successful commits ([`StateStore::commit`] and
    /// `VerifierStore::commit_verifiers`).
    pub fn commits(&self) -> u64 {
        self.commits
    }
}

impl StateStore for MemoryStore {
    fn get(&self, guid: &Guid) -> Result<Option<ObjectRecord>, StateError> {
        Ok(self.objects.get(guid).cloned())
    }

    fn watermark(&self) -> Result<Option<Watermark>, StateError> {
        Ok(self.watermark.clone())
    }

    fn commit(
        &mut self,
        objects: &[ObjectUpdate],
        watermark: Option<&Watermark>,
    ) -> Result<(), StateError> {
        for u in objects {
            self.objects.insert(u.guid, u.record.clone());
        }
        if let Some(w) = watermark {
            self.watermark = Some(w.clone());
        }
        self.commits += 1;
        Ok(())
    }
}

/// Remembers nothing: every object is read as if for the first time, and an incremental
/// reply's partial objects are reported as `unknown_object`. For one-off runs over full
/// replications, with no per-account memory at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl StateStore for NoStore {
    fn get(&self, _guid: &Guid) -> Result<Option<ObjectRecord>, StateError> {
        Ok(None)
    }

    fn watermark(&self) -> Result<Option<Watermark>, StateError> {
        Ok(None)
    }

    fn commit(
        &mut self,
        _objects: &[ObjectUpdate],
        _watermark: Option<&Watermark>,
    ) -> Result<(), StateError> {
        Ok(())
    }
}
