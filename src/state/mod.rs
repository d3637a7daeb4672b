//! The state store: what an incremental sync remembers between runs.
//!
//! Password hash sync is a loop: one full replication, then every few minutes an incremental
//! one from the stored watermark (MS-DRSR §4.1.10.2: `usnvecFrom`, `uuidInvocIdSrc`,
//! `pUpToDateVecDest`). An incremental reply carries only the attributes that changed, so the
//! sync policy has to decide on the stored facts merged with the delta ([`ObjectRecord`]).
//!
//! | file | what it holds |
//! |---|---|
//! | `record` | [`ObjectRecord`] and its parts: the per-object facts, no secrets |
//! | `watermark` | [`Watermark`]: where replication of the naming context got to |
//! | `verifiers` | [`VerifierStore`]: the verifier last delivered per account, for sources without replication stamps (NT-hash files) |
//! | `memory` | [`MemoryStore`] and [`NoStore`] |
//! | `sqlite` | [`SqliteStore`] (feature `sqlite`): SQLite through `rusqlite`, one transaction per reply |
//!
//! A sync engine plugs in its own storage by implementing [`StateStore`]: three methods, and
//! one promise — [`StateStore::commit`] is atomic. Sources without replication metadata (NT-hash
//! files) use [`VerifierStore`] instead, with the same promise.

mod memory;
mod record;
#[cfg(feature = "sqlite")]
mod sqlite;
mod verifiers;
mod watermark;

pub use memory::{MemoryStore, NoStore};
pub use record::{ObjectKind, ObjectRecord, PasswordPresence, PasswordStamp, SyncedPassword};
#[cfg(feature = "sqlite")]
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use verifiers::{VerifierStore, VerifierUpdate};
pub use watermark::{Cursor, Watermark};

use crate::ad::Guid;

/// Why a store could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file exists but is not a phsync state store.
    #[error("{path}: not a phsync state store ({why})")]
    NotAStore {
        /// The file.
        path: String,
        /// What was found instead.
        why: String,
    },
    /// The store was written by a newer phsync.
    #[error(
        "{path}: state store schema {found} is newer than this phsync understands ({supported})"
    )]
    NewerSchema {
        /// The file.
        path: String,
        /// The schema version in the file.
        found: i64,
        /// The newest version this build reads.
        supported: i64,
    },
    /// A stored row does not hold what its column promises.
    #[error("state store: object {key}: column {column} holds an invalid value")]
    Corrupt {
        /// The object (or `watermark`).
        key: String,
        /// The column.
        column: &'static str,
    },
    /// The sink could not make the outcomes durable, so nothing more was committed.
    #[error("cannot deliver outcomes: {0}")]
    Sink(#[source] std::io::Error),
    /// The storage backend failed (I/O, locking, SQL).
    #[error("state store: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One object's new facts, as committed with its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUpdate {
    /// The objectGUID.
    pub guid: Guid,
    /// Everything known of it after this reply.
    pub record: ObjectRecord,
}

/// Where a sync keeps per-object facts and the replication watermark.
///
/// The batch adapter (`phsync::batch::DrsSync`) reads records while it merges a reply, and
/// commits each reply's records, with the watermark the reply reached, in one
/// [`StateStore::commit`] — only after that reply's outcomes were handed to the sink. So a
/// crash loses nothing: the rerun starts from the last committed reply (at-least-once).
pub trait StateStore {
    /// The stored facts of one object.
    ///
    /// # Errors
    /// The backend failed, or the stored row is corrupt.
    fn get(&self, guid: &Guid) -> Result<Option<ObjectRecord>, StateError>;

    /// Where replication got to, if a reply was ever committed with a watermark.
    ///
    /// # Errors
    /// The backend failed, or the stored watermark is corrupt.
    fn watermark(&self) -> Result<Option<Watermark>, StateError>;

    /// Atomically stores `objects` (replacing their earlier records) and, when given, the new
    /// `watermark`: all of it or nothing.
    ///
    /// # Errors
    /// The backend failed; nothing was stored.
    fn commit(
        &mut self,
        objects: &[ObjectUpdate],
        watermark: Option<&Watermark>,
    ) -> Result<(), StateError>;
}

impl<S: StateStore + ?Sized> StateStore for Box<S> {
    fn get(&self, guid: &Guid) -> Result<Option<ObjectRecord>, StateError> {
        (**self).get(guid)
    }

    fn watermark(&self) -> Result<Option<Watermark>, StateError> {
        (**self).watermark()
    }

    fn commit(
        &mut self,
        objects: &[ObjectUpdate],
        watermark: Option<&Watermark>,
    ) -> Result<(), StateError> {
        (**self).commit(objects, watermark)
    }
}
