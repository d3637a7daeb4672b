//! One replication cycle of a naming context, streamed: a thread of its own asks the DC for
//! the next chunk (`IDL_DRSGetNCChanges`, MS-DRSR §4.1.10) while the caller hashes the last
//! one, and hands decoded replies over a channel of two. Memory stays bounded by a few chunks
//! whatever the domain's size.
//!
//! A cycle starts from a [`Position`]: zero for a full replication, or the previous cycle's
//! `usnvecTo`, source invocation id and up-to-date vector for an incremental one (MS-DRSR
//! §4.1.10.2.1, §4.1.10.5.1). Each reply's `usnvecTo` becomes the next request's `usnvecFrom`
//! until `fMoreData` is 0.
//!
//! The partial attribute set asks for what password hash sync needs and nothing else
//! ([`PHS_ATTRIBUTES`]); its ATTRTYPs are made from the server's own prefix table, read with a
//! one-object probe (`EXOP_REPL_OBJ` on the naming context's head), and that table is sent
//! back as `PrefixTableDest` (MS-DRSR §5.16.4: ATTRTYPs are only meaningful with a table).

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::error::DcError;
use super::session::Session;
use crate::ad::guid::Guid;
use crate::ad::time::DsTime;
use crate::drs::request::{self as req, GetNcChangesRequest, NamingContext};
use crate::drs::{Attr, Reply, UpToDateCursor, UsnVector};

/// The attributes password hash sync reads: identity, account state and the secrets.
pub const PHS_ATTRIBUTES: &[Attr] = &[
    Attr::ObjectClass,
    Attr::SamAccountName,
    Attr::UserPrincipalName,
    Attr::UserAccountControl,
    Attr::PwdLastSet,
    Attr::ObjectSid,
    Attr::IsDeleted,
    Attr::IsCriticalSystemObject,
    Attr::UnicodePwd,
    Attr::NtPwdHistory,
    Attr::DbcsPwd,
    Attr::LmPwdHistory,
    Attr::SupplementalCredentials,
];

/// The `uuidDsaObjDest` phsync sends: it names no real DSA, and with neither
/// `DRS_ADD_REF` nor `DRS_ASYNC_REP` the DC records nothing about it.
pub const PHSYNC_DSA: Guid = Guid::from_bytes_le(*b"phsync-pwd-sync\0");

/// Where a cycle starts.
#[derive(Clone, Debug, Default)]
pub struct Position {
    /// `uuidInvocIdSrc`: the invocation id of the DC `usn_vec_from` came from (nil for a full
    /// replication).
    pub source_invocation_id: Guid,
    /// `usnvecFrom`.
    pub usn_vec_from: UsnVector,
    /// `pUpToDateVecDest`: `(invocation id, usnHighPropUpdate)` of every DC seen.
    pub up_to_date: Vec<(Guid, i64)>,
    /// Whether this continues or starts an initial (full) replication rather than polling for
    /// changes: sets `DRS_INIT_SYNC`.
    pub initial: bool,
}

impl Position {
    /// A full replication from USN zero.
    pub fn full() -> Position {
        Position {
            initial: true,
            ..Position::default()
        }
    }
}

/// The naming context and chunk sizes of a cycle.
#[derive(Clone, Debug)]
pub struct CycleOptions {
    /// The naming context (usually the domain's, `DC=example,DC=com`).
    pub naming_context: NamingContext,
    /// `cMaxObjects` per reply.
    pub max_objects: u32,
    /// `cMaxBytes` per reply.
    pub max_bytes: u32,
}

impl CycleOptions {
    /// The domain naming context of a DNS domain name (`example.com` →
    /// `DC=example,DC=com`), 1000 objects or 8 MiB per reply.
    pub fn for_domain(dns_domain: &str) -> CycleOptions {
        let dn = dns_domain
            .trim_end_matches('.')
            .split('.')
            .map(|label| format!("DC={label}"))
            .collect::<Vec<_>>()
            .join(",");
        CycleOptions {
            naming_context: NamingContext { guid: None, dn },
            max_objects: 1000,
            max_bytes: 8 << 20,
        }
    }
}

/// The prefix table and partial attribute set to send, learnt from the DC.
#[derive(Clone, Debug)]
pub struct Schema {
    partial_attribute_set: Vec<u32>,
    prefix_table: Vec<(u32, Vec<u8>)>,
    source_invocation_id: Guid,
    naming_context_guid: Option<Guid>,
}

impl Schema {
    /// Reads the head of the naming context (one object, no secrets) and makes the partial
    /// attribute set from the server's prefix table.
    pub fn probe(session: &mut Session, options: &CycleOptions) -> Result<Schema, DcError> {
        let reply = whole_object(session, Guid::NIL, options.naming_context.clone())?;
        let table = reply.prefix_table();
        let mut partial_attribute_set = Vec::with_capacity(PHS_ATTRIBUTES.len());
        for a in PHS_ATTRIBUTES {
            let attrtyp = table.attrtyp(a.oid()).map_err(|_| DcError::Schema {
                attribute: a.ldap_name(),
            })?;
            partial_attribute_set.push(attrtyp);
        }
        partial_attribute_set.sort_unstable();
        partial_attribute_set.dedup();
        Ok(Schema {
            partial_attribute_set,
            prefix_table: table.wire_entries(),
            source_invocation_id: reply.source_dsa_invocation_id(),
            naming_context_guid: reply
                .naming_context()
                .and_then(|n| n.guid())
                .or_else(|| reply.objects().first().and_then(|o| o.object_guid())),
        })
    }

    /// The DC's invocation id.
    pub fn source_invocation_id(&self) -> Guid {
        self.source_invocation_id
    }

    /// The naming context's GUID, when the DC named it.
    pub fn naming_context_guid(&self) -> Option<Guid> {
        self.naming_context_guid
    }
}

/// One object, whole and with its secrets, by GUID (`EXOP_REPL_OBJ`, MS-DRSR §4.1.10.6.10 —
/// the request secretsdump makes per account). For an object an incremental reply named
/// without its password (enabled, or unknown to the store): its reply has `ulExtendedRet` set,
/// so [`crate::batch::DrsSync`] merges it without moving the watermark.
pub fn fetch_object(session: &mut Session, schema: &Schema, guid: Guid) -> Result<Reply, DcError> {
    let object = NamingContext {
        guid: Some(guid),
        dn: String::new(),
    };
    whole_object(session, schema.source_invocation_id, object)
}

/// `EXOP_REPL_OBJ` for one object, no attribute set: the object whole, and the DC's prefix
/// table and invocation id with it.
fn whole_object(
    session: &mut Session,
    source_invocation_id: Guid,
    object: NamingContext,
) -> Result<Reply, DcError> {
    let request = GetNcChangesRequest {
        dest_dsa: PHSYNC_DSA,
        source_invocation_id,
        naming_context: object,
        flags: req::DRS_INIT_SYNC | req::DRS_WRIT_REP,
        max_objects: 1,
        extended_op: req::EXOP_REPL_OBJ,
        ..GetNcChangesRequest::default()
    };
    session.get_nc_changes(&request.encode(session.handle()))
}

/// The request of one chunk.
fn request(options: &CycleOptions, schema: &Schema, position: &Position) -> GetNcChangesRequest {
    let mut flags = req::DRS_WRIT_REP | req::DRS_GET_ANC;
    if position.initial {
        flags |= req::DRS_INIT_SYNC;
        if position.usn_vec_from == UsnVector::default() {
            flags |= req::DRS_NEVER_SYNCED;
        }
    }
    GetNcChangesRequest {
        dest_dsa: PHSYNC_DSA,
        source_invocation_id: position.source_invocation_id,
        naming_context: options.naming_context.clone(),
        usn_vec_from: position.usn_vec_from,
        up_to_date: position
            .up_to_date
            .iter()
            .map(|&(dsa, usn)| UpToDateCursor {
                dsa_invocation_id: dsa,
                usn_high_prop_update: usn,
                time_last_sync_success: DsTime(0),
            })
            .collect(),
        flags,
        max_objects: options.max_objects,
        max_bytes: options.max_bytes,
        extended_op: 0,
        fsmo_info: 0,
        partial_attribute_set: schema.partial_attribute_set.clone(),
        prefix_table: schema.prefix_table.clone(),
    }
}

/// A cycle in progress: an iterator of decoded replies, in order. It ends at the last reply
/// (`fMoreData` = 0) or at the first error, which [`Replication::finish`] returns.
#[derive(Debug)]
pub struct Replication {
    rx: Receiver<Result<Reply, DcError>>,
    thread: Option<JoinHandle<Session>>,
    error: Option<DcError>,
}

impl Replication {
    /// Starts the cycle on its own thread.
    pub fn start(
        mut session: Session,
        options: CycleOptions,
        schema: Schema,
        mut position: Position,
    ) -> Replication {
        let (tx, rx) = sync_channel(2);
        let thread = std::thread::Builder::new()
            .name("phsync-drs".into())
            .spawn(move || {
                loop {
                    let stub = request(&options, &schema, &position).encode(session.handle());
                    match session.get_nc_changes(&stub) {
                        Ok(reply) => {
                            let more = reply.more_data();
                            position.usn_vec_from = reply.usn_vec_to();
                            position.source_invocation_id = reply.source_dsa_invocation_id();
                            if tx.send(Ok(reply)).is_err() || !more {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
                session
            });
        match thread {
            Ok(t) => Replication {
                rx,
                thread: Some(t),
                error: None,
            },
            Err(source) => Replication {
                rx,
                thread: None,
                error: Some(DcError::Io {
                    what: "starting the replication thread",
                    source,
                }),
            },
        }
    }

    /// Waits for the thread; the error that ended the cycle early, if any, and the session
    /// (for more cycles or [`Session::close`]) unless the thread was lost.
    pub fn finish(mut self) -> (Option<DcError>, Option<Session>) {
        // Unblock the thread if the caller stopped early.
        drop(std::mem::replace(&mut self.rx, sync_channel(0).1));
        let session = self.thread.take().and_then(|t| t.join().ok());
        (self.error.take(), session)
    }
}

impl Iterator for Replication {
    type Item = Reply;

    fn next(&mut self) -> Option<Reply> {
        if self.error.is_some() {
            return None;
        }
        match self.rx.recv() {
            Ok(Ok(reply)) => Some(reply),
            Ok(Err(e)) => {
                self.error = Some(e);
                None
            }
            Err(_) => None,
        }
    }
}
