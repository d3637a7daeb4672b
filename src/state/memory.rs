//! Stores that keep nothing on disk: [`MemoryStore`] (a map, for tests and short-lived
//! embedders) and [`NoStore`] (remembers nothing: every run stands alone). Both also implement
//! [`VerifierStore`].

use std::collections::HashMap;

use super::{
    ObjectRecord, ObjectUpdate, StateError, StateStore, VerifierStore, VerifierUpdate, Watermark,
};
use crate::CloudVerifier;
use crate::ad::Guid;

/// Every record in a map in memory. Grows with the directory: for a few thousand objects or
/// tests; use `SqliteStore` (feature `sqlite`) for a real domain.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    objects: HashMap<Guid, ObjectRecord>,
    watermark: Option<Watermark>,
    verifiers: HashMap<String, CloudVerifier>,
    commits: u64,
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

    /// Number of verifiers remembered ([`VerifierStore`]).
    pub fn verifier_count(&self) -> usize {
        self.verifiers.len()
    }

    /// Number of successful commits ([`StateStore::commit`] and
    /// [`VerifierStore::commit_verifiers`]).
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

impl VerifierStore for MemoryStore {
    fn last_verifier(&self, key: &str) -> Result<Option<CloudVerifier>, StateError> {
        Ok(self.verifiers.get(key).cloned())
    }

    fn commit_verifiers(&mut self, updates: &[VerifierUpdate]) -> Result<(), StateError> {
        for u in updates {
            match &u.verifier {
                Some(v) => self.verifiers.insert(u.key.clone(), v.clone()),
                None => self.verifiers.remove(&u.key),
            };
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

impl VerifierStore for NoStore {
    fn last_verifier(&self, _key: &str) -> Result<Option<CloudVerifier>, StateError> {
        Ok(None)
    }

    fn commit_verifiers(&mut self, _updates: &[VerifierUpdate]) -> Result<(), StateError> {
        Ok(())
    }
}
