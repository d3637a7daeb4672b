//! [`SqliteStore`]: the state in one SQLite file (feature `sqlite`; `rusqlite` with SQLite
//! compiled in, so nothing is installed on the host).
//!
//! Why SQLite: one file, atomic transactions, memory bounded by its page cache rather than by
//! the directory's size, and an operator can inspect it with the `sqlite3` shell:
//!
//! ```text
//! sqlite3 state.db "select sam_account_name, kind, synced_version from objects limit 5"
//! ```
//!
//! The file is recognised by `PRAGMA application_id` (`0x50485359`, "PHSY") and versioned by
//! `PRAGMA user_version` ([`SCHEMA_VERSION`]): any other SQLite file, or a non-SQLite file, is
//! refused as [`StateError::NotAStore`]; a newer schema as [`StateError::NewerSchema`].
//!
//! Durability: write-ahead log with `synchronous = NORMAL`. A committed transaction survives
//! the process being killed (`kill -9`); a power loss may roll back the last few commits,
//! which only moves the state back to an earlier reply — the next run then asks for those
//! changes again. The store is never ahead of what reached the sink, which is what
//! at-least-once delivery needs, without an `fsync` per reply.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use zeroize::Zeroizing;

use super::{
    Cursor, ObjectKind, ObjectRecord, ObjectUpdate, PasswordPresence, PasswordStamp, StateError,
    StateStore, SyncedPassword, VerifierStore, VerifierUpdate, Watermark,
};
use crate::ad::{Guid, UsnVector};
use crate::{CloudVerifier, Iterations};

/// The schema this build writes and reads. Version 1 (no `verifiers` table) is upgraded in
/// place when opened.
pub const SCHEMA_VERSION: i64 = 2;
const APPLICATION_ID: i64 = 0x5048_5359;
/// SQLite's page cache, in KiB (negative `cache_size` = KiB): bounds memory at any directory
/// size.
const CACHE_KIB: i64 = 8 * 1024;

const SCHEMA: &str = "
CREATE TABLE objects (
    object_guid               TEXT PRIMARY KEY NOT NULL,  -- canonical lowercase
    kind                      TEXT NOT NULL,              -- user, inet_org_person, computer, other
    sam_account_name          TEXT,
    user_principal_name       TEXT,
    distinguished_name        TEXT,
    object_sid                TEXT,
    user_account_control      INTEGER,
    pwd_last_set              INTEGER,                    -- FILETIME
    is_critical_system_object INTEGER NOT NULL,
    is_deleted                INTEGER NOT NULL,
    password                  TEXT NOT NULL,              -- unknown, none, present
    password_version          INTEGER,                    -- unicodePwd metadata, last replicated
    password_changed          INTEGER,                    -- Unix seconds
    synced_version            INTEGER,                    -- unicodePwd metadata at the last sync
    synced_changed            INTEGER,
    synced_pwd_last_set       INTEGER
) WITHOUT ROWID;
CREATE TABLE watermark (
    id                        INTEGER PRIMARY KEY CHECK (id = 1),
    naming_context            TEXT,
    source_dsa_invocation_id  TEXT NOT NULL,
    usn_high_obj_update       INTEGER NOT NULL,
    usn_reserved              INTEGER NOT NULL,
    usn_high_prop_update      INTEGER NOT NULL,
    complete                  INTEGER NOT NULL
);
CREATE TABLE up_to_date_cursors (
    dsa_invocation_id         TEXT PRIMARY KEY NOT NULL,
    usn_high_prop_update      INTEGER NOT NULL,
    time_last_sync_success    INTEGER NOT NULL            -- DSTIME, seconds since 1601
) WITHOUT ROWID;
";

/// Added in schema 2: the verifier last delivered per account, for sources without replication
/// metadata (`super::VerifierStore`).
const SCHEMA_V2: &str = "
CREATE TABLE verifiers (
    account                   TEXT PRIMARY KEY NOT NULL,  -- VerifierSync's key (sam:…, sid:…)
    verifier                  TEXT NOT NULL               -- v1;PPH1_MD4,<salt>,<iterations>,<hash>;
) WITHOUT ROWID;
";

const COLUMNS: &str = "kind, sam_account_name, user_principal_name, distinguished_name, \
    object_sid, user_account_control, pwd_last_set, is_critical_system_object, is_deleted, \
    password, password_version, password_changed, synced_version, synced_changed, \
    synced_pwd_last_set";

/// The state in a SQLite database file.
pub struct SqliteStore {
    conn: Connection,
    path: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(e: rusqlite::Error) -> StateError {
    StateError::Backend(Box::new(e))
}

impl SqliteStore {
    /// Opens the store at `path`, creating it (and its schema) if the file does not exist or
    /// is empty.
    ///
    /// # Errors
    /// [`StateError::NotAStore`] for a file that is not a phsync store (not SQLite, or another
    /// application's database); [`StateError::NewerSchema`]; [`StateError::Backend`] for I/O
    /// and locking failures.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StateError> {
        let path_ref = path.as_ref();
        let path = path_ref.display().to_string();
        create_private(path_ref).map_err(|e| StateError::Backend(Box::new(e)))?;
        let conn = Connection::open(path_ref).map_err(backend)?;
        let not_a_store = |why: String| StateError::NotAStore {
            path: path.clone(),
            why,
        };
        // The first read of the header tells a non-database file apart.
        let app_id: i64 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    not_a_store("not an SQLite database".into())
                }
                e => backend(e),
            })?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(backend)?;
        if app_id == 0 && version == 0 && tables == 0 {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} {SCHEMA_V2} PRAGMA application_id = {APPLICATION_ID}; \
                 PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(backend)?;
        } else if app_id != APPLICATION_ID {
            return Err(not_a_store(format!(
                "an SQLite database of another application (application_id {app_id:#x})"
            )));
        } else if version > SCHEMA_VERSION {
            return Err(StateError::NewerSchema {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        } else if version < 1 {
            return Err(not_a_store(format!("unknown schema version {version}")));
        } else if version == 1 {
            // BEGIN IMMEDIATE: two processes opening one v1 file upgrade it once.
            conn.execute_batch("BEGIN IMMEDIATE;").map_err(backend)?;
            let again: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(backend)?;
            let upgrade = if again == 1 {
                format!("{SCHEMA_V2} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
            } else {
                "COMMIT;".to_owned()
            };
            conn.execute_batch(&upgrade).map_err(backend)?;
        }
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{CACHE_KIB}; \
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(backend)?;
        Ok(SqliteStore { conn, path })
    }

    /// Number of objects stored.
    ///
    /// # Errors
    /// The backend failed.
    pub fn object_count(&self) -> Result<u64, StateError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM objects", [], |r| r.get(0))
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Creates `path` readable and writable by its owner only (mode 0600 on Unix) if it does not
/// exist: the store holds verifiers (`super::VerifierStore`). SQLite gives its `-wal` and
/// `-shm` files the database file's permissions.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn corrupt(key: &str, column: &'static str) -> StateError {
    StateError::Corrupt {
        key: key.to_owned(),
        column,
    }
}

fn stamp(version: Option<i64>, changed: Option<i64>) -> Option<Option<PasswordStamp>> {
    match (version, changed) {
        (None, None) => Some(None),
        (Some(v), Some(c)) => Some(Some(PasswordStamp {
            version: u32::try_from(v).ok()?,
            changed_unix: c,
        })),
        _ => None,
    }
}

fn read_record(key: &str, r: &Row<'_>) -> Result<ObjectRecord, StateError> {
    let get = |i: usize, column: &'static str| -> Result<Option<i64>, StateError> {
        r.get::<_, Option<i64>>(i).map_err(|_| corrupt(key, column))
    };
    let text = |i: usize, column: &'static str| -> Result<Option<String>, StateError> {
        r.get::<_, Option<String>>(i)
            .map_err(|_| corrupt(key, column))
    };
    let kind = text(0, "kind")?
        .as_deref()
        .and_then(ObjectKind::from_word)
        .ok_or_else(|| corrupt(key, "kind"))?;
    let uac = get(5, "user_account_control")?
        .map(|v| u32::try_from(v).map_err(|_| corrupt(key, "user_account_control")))
        .transpose()?;
    let password = text(9, "password")?
        .as_deref()
        .and_then(PasswordPresence::from_word)
        .ok_or_else(|| corrupt(key, "password"))?;
    let password_stamp = stamp(get(10, "password_version")?, get(11, "password_changed")?)
        .ok_or_else(|| corrupt(key, "password_version"))?;
    let synced = stamp(get(12, "synced_version")?, get(13, "synced_changed")?)
        .ok_or_else(|| corrupt(key, "synced_version"))?
        .map(|stamp| {
            Ok::<_, StateError>(SyncedPassword {
                stamp,
                pwd_last_set: get(14, "synced_pwd_last_set")?,
            })
        })
        .transpose()?;
    Ok(ObjectRecord {
        kind,
        sam_account_name: text(1, "sam_account_name")?,
        user_principal_name: text(2, "user_principal_name")?,
        distinguished_name: text(3, "distinguished_name")?,
        sid: text(4, "object_sid")?,
        user_account_control: uac,
        pwd_last_set: get(6, "pwd_last_set")?,
        is_critical_system_object: get(7, "is_critical_system_object")?.unwrap_or(0) != 0,
        is_deleted: get(8, "is_deleted")?.unwrap_or(0) != 0,
        password,
        password_stamp,
        synced,
    })
}

fn parse_guid(text: &str, column: &'static str) -> Result<Guid, StateError> {
    text.parse().map_err(|_| corrupt("watermark", column))
}

impl StateStore for SqliteStore {
    fn get(&self, guid: &Guid) -> Result<Option<ObjectRecord>, StateError> {
        let key = guid.to_string();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM objects WHERE object_guid = ?1"
            ))
            .map_err(backend)?;
        let mut rows = stmt.query(params![key]).map_err(backend)?;
        match rows.next().map_err(backend)? {
            Some(row) => read_record(&key, row).map(Some),
            None => Ok(None),
        }
    }

    fn watermark(&self) -> Result<Option<Watermark>, StateError> {
        let head = self
            .conn
            .query_row(
                "SELECT naming_context, source_dsa_invocation_id, usn_high_obj_update, \
                 usn_reserved, usn_high_prop_update, complete FROM watermark WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(backend)?;
        let Some((nc, invocation, obj, reserved, prop, complete)) = head else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT dsa_invocation_id, usn_high_prop_update, time_last_sync_success \
                 FROM up_to_date_cursors ORDER BY dsa_invocation_id",
            )
            .map_err(backend)?;
        let cursors = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(backend)?
            .map(|row| {
                let (id, usn, time) = row.map_err(backend)?;
                Ok(Cursor {
                    dsa_invocation_id: parse_guid(&id, "dsa_invocation_id")?,
                    usn_high_prop_update: usn,
                    time_last_sync_success: time,
                })
            })
            .collect::<Result<Vec<_>, StateError>>()?;
        Ok(Some(Watermark {
            naming_context: nc
                .as_deref()
                .map(|t| parse_guid(t, "naming_context"))
                .transpose()?,
            source_dsa_invocation_id: parse_guid(&invocation, "source_dsa_invocation_id")?,
            usn_vec_to: UsnVector {
                usn_high_obj_update: obj,
                usn_reserved: reserved,
                usn_high_prop_update: prop,
            },
            up_to_date_vector: cursors,
            complete: complete != 0,
        }))
    }

    fn commit(
        &mut self,
        objects: &[ObjectUpdate],
        watermark: Option<&Watermark>,
    ) -> Result<(), StateError> {
        let tx = self.conn.transaction().map_err(backend)?;
        {
            let mut put = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO objects (object_guid, {COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                ))
                .map_err(backend)?;
            for u in objects {
                let r = &u.record;
                put.execute(params![
                    u.guid.to_string(),
                    r.kind.as_str(),
                    r.sam_account_name,
                    r.user_principal_name,
                    r.distinguished_name,
                    r.sid,
                    r.user_account_control,
                    r.pwd_last_set,
                    r.is_critical_system_object,
                    r.is_deleted,
                    r.password.as_str(),
                    r.password_stamp.map(|s| s.version),
                    r.password_stamp.map(|s| s.changed_unix),
                    r.synced.map(|s| s.stamp.version),
                    r.synced.map(|s| s.stamp.changed_unix),
                    r.synced.and_then(|s| s.pwd_last_set),
                ])
                .map_err(backend)?;
            }
        }
        if let Some(w) = watermark {
            tx.execute(
                "INSERT OR REPLACE INTO watermark (id, naming_context, source_dsa_invocation_id, \
                 usn_high_obj_update, usn_reserved, usn_high_prop_update, complete) \
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    w.naming_context.map(|g| g.to_string()),
                    w.source_dsa_invocation_id.to_string(),
                    w.usn_vec_to.usn_high_obj_update,
                    w.usn_vec_to.usn_reserved,
                    w.usn_vec_to.usn_high_prop_update,
                    w.complete,
                ],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM up_to_date_cursors", [])
                .map_err(backend)?;
            for c in &w.up_to_date_vector {
                tx.execute(
                    "INSERT OR REPLACE INTO up_to_date_cursors VALUES (?1, ?2, ?3)",
                    params![
                        c.dsa_invocation_id.to_string(),
                        c.usn_high_prop_update,
                        c.time_last_sync_success
                    ],
                )
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }
}

impl VerifierStore for SqliteStore {
    fn last_verifier(&self, key: &str) -> Result<Option<CloudVerifier>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT verifier FROM verifiers WHERE account = ?1")
            .map_err(backend)?;
        let text: Option<Zeroizing<String>> = stmt
            .query_row(params![key], |r| r.get::<_, String>(0))
            .optional()
            .map_err(backend)?
            .map(Zeroizing::new);
        // Any count parses: the runner derives with a stored verifier only when its count is
        // the policy's, so a tampered count costs no CPU (the account is just synced again).
        text.map(|t| {
            CloudVerifier::parse_with_max_iterations(&t, Iterations::MAX)
                .map_err(|_| corrupt(key, "verifier"))
        })
        .transpose()
    }

    fn commit_verifiers(&mut self, updates: &[VerifierUpdate]) -> Result<(), StateError> {
        let tx = self.conn.transaction().map_err(backend)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO verifiers (account, verifier) VALUES (?1, ?2)",
                )
                .map_err(backend)?;
            let mut forget = tx
                .prepare_cached("DELETE FROM verifiers WHERE account = ?1")
                .map_err(backend)?;
            for u in updates {
                match &u.verifier {
                    Some(v) => {
                        let text = Zeroizing::new(v.to_string());
                        put.execute(params![u.key, text.as_str()])
                            .map_err(backend)?
                    }
                    None => forget.execute(params![u.key]).map_err(backend)?,
                };
            }
        }
        tx.commit().map_err(backend)
    }
}
