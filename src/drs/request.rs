//! The `IDL_DRSGetNCChanges` request (opnum 3, MS-DRSR §4.1.10): [`GetNcChangesRequest`]
//! encodes the NDR20 `[in]` stub of a version 8 request (`DRS_MSG_GETCHGREQ_V8`,
//! MS-DRSR §4.1.10.2.5), with no transport.
//!
//! The stub is: the 20-byte `DRS_HANDLE` from `IDL_DRSBind`, `dwInVersion` = 8, the union
//! discriminant 8, the flat `DRS_MSG_GETCHGREQ_V8`, then its pointees in NDR order (C706
//! §14.3.12.3): the naming context `DSNAME`, the up-to-date vector, the partial attribute set
//! and the prefix table's entries with their OID bytes.
//!
//! ```
//! use phsync::drs::request::{self, GetNcChangesRequest, NamingContext};
//! use phsync::drs::{Guid, UsnVector};
//!
//! let req = GetNcChangesRequest {
//!     naming_context: NamingContext { guid: None, dn: "DC=example,DC=com".into() },
//!     flags: request::DRS_INIT_SYNC | request::DRS_WRIT_REP,
//!     max_objects: 100,
//!     ..GetNcChangesRequest::default()
//! };
//! let stub = req.encode(&[0; 20]);
//! assert_eq!(&stub[20..28], &[8, 0, 0, 0, 8, 0, 0, 0]);
//! ```

use super::guid::Guid;
use super::ndr_write::Writer;
use super::prefix::{PrefixError, PrefixTable};
use super::reply::{UpToDateCursor, UsnVector};

/// The opnum of `IDL_DRSGetNCChanges` (MS-DRSR §4.1.10).
pub const OPNUM_GET_NC_CHANGES: u16 = 3;

/// `DRS_WRIT_REP` (MS-DRSR §5.41 `DRS_OPTIONS`): the destination is a writable replica; with
/// it the server sends the secret attributes.
pub const DRS_WRIT_REP: u32 = 0x0000_0010;
/// `DRS_INIT_SYNC` (MS-DRSR §5.41): replication at startup, a full cycle.
pub const DRS_INIT_SYNC: u32 = 0x0000_0020;
/// `DRS_GET_ANC` (MS-DRSR §5.41): send ancestors before their descendants.
pub const DRS_GET_ANC: u32 = 0x0000_0800;
/// `DRS_GET_NC_SIZE` (MS-DRSR §5.41): return the NC's object and value counts
/// (`cNumNcSizeObjects`, `cNumNcSizeValues`).
pub const DRS_GET_NC_SIZE: u32 = 0x0000_1000;
/// `DRS_NEVER_SYNCED` (MS-DRSR §5.41): the destination has never completed a cycle of this NC.
pub const DRS_NEVER_SYNCED: u32 = 0x0020_0000;
/// `DRS_SPECIAL_SECRET_PROCESSING` (MS-DRSR §5.41): send secrets even when the object is
/// not in the partial attribute set's scope (used with `EXOP_REPL_SECRETS`).
pub const DRS_SPECIAL_SECRET_PROCESSING: u32 = 0x0040_0000;

/// `EXOP_NONE` (MS-DRSR §4.1.10.2.24 `EXOP_REQ`): an ordinary replication cycle.
pub const EXOP_NONE: u32 = 0;
/// `EXOP_REPL_OBJ` (MS-DRSR §4.1.10.2.24): replicate the single object `pNC` names.
pub const EXOP_REPL_OBJ: u32 = 6;
/// `EXOP_REPL_SECRETS` (MS-DRSR §4.1.10.2.24): replicate the secrets of the object `pNC`
/// names (an RODC's request).
pub const EXOP_REPL_SECRETS: u32 = 7;

/// The naming context (or, with an extended operation, the object) a request names: the
/// `DSNAME` `pNC` points to (MS-DRSR §5.50). At least one of the GUID and the DN should be given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamingContext {
    /// The object's GUID (`None` sends the all-zero GUID).
    pub guid: Option<Guid>,
    /// The object's DN (may be empty when the GUID is given).
    pub dn: String,
}

/// An `IDL_DRSGetNCChanges` request, `DRS_MSG_GETCHGREQ_V8` (MS-DRSR §4.1.10.2.5; the fields'
/// meaning: §4.1.10.2.8 `DRS_MSG_GETCHGREQ_V8` and §4.1.10.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetNcChangesRequest {
    /// `uuidDsaObjDest`: the destination DSA's `objectGUID` (of its nTDSDSA object).
    pub dest_dsa: Guid,
    /// `uuidInvocIdSrc`: the source DSA's invocation id.
    pub source_invocation_id: Guid,
    /// `pNC`: the naming context to replicate, or the object of an extended operation.
    pub naming_context: NamingContext,
    /// `usnvecFrom`: the high-water mark of the previous cycle (all zero for a full cycle).
    pub usn_vec_from: UsnVector,
    /// `pUpToDateVecDest`, sent as `UPTODATE_VECTOR_V1_EXT` (MS-DRSR §5.200): each cursor's
    /// `uuidDsa` and `usnHighPropUpdate` (the time is not part of a V1 cursor). Empty sends a
    /// null pointer.
    pub up_to_date: Vec<UpToDateCursor>,
    /// `ulFlags`: `DRS_*` options (MS-DRSR §5.41), e.g. [`DRS_INIT_SYNC`] | [`DRS_WRIT_REP`].
    pub flags: u32,
    /// `cMaxObjects`: objects per reply, at most.
    pub max_objects: u32,
    /// `cMaxBytes`: bytes per reply, approximately at most.
    pub max_bytes: u32,
    /// `ulExtendedOp`: [`EXOP_NONE`], [`EXOP_REPL_OBJ`], [`EXOP_REPL_SECRETS`] …
    pub extended_op: u32,
    /// `liFsmoInfo`.
    pub fsmo_info: u64,
    /// `pPartialAttrSet`: the ATTRTYPs to replicate, relative to [`Self::prefix_table`] (see
    /// [`partial_attribute_set`]). Empty sends a null pointer (every attribute).
    pub partial_attribute_set: Vec<u32>,
    /// `PrefixTableDest`: `(ndx, OID prefix bytes)` pairs; for a partial attribute set, the
    /// server's own table with its schemaInfo entry ([`PrefixTable::wire_entries`]).
    pub prefix_table: Vec<(u32, Vec<u8>)>,
}

/// `DSNAME` bytes before `StringName` (MS-DRSR §5.50): structLen, SidLen, Guid, Sid, NameLen.
const DSNAME_FIXED: u32 = 4 + 4 + 16 + 28 + 4;

impl GetNcChangesRequest {
    /// The NDR20 `[in]` stub of `IDL_DRSGetNCChanges` with `dwInVersion` 8, for the context
    /// handle `handle` (`DRS_HANDLE`, MS-DRSR §5.40: as `IDL_DRSBind` returned it).
    pub fn encode(&self, handle: &[u8; 20]) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w, handle);
        w.into_bytes()
    }

    pub(crate) fn encode_into(&self, w: &mut Writer, handle: &[u8; 20]) {
        w.align(4);
        w.bytes(handle);
        w.u32(8); // dwInVersion
        w.u32(8); // [switch_is(dwInVersion)] discriminant
        // DRS_MSG_GETCHGREQ_V8 (alignment 8: USN_VECTOR, ULARGE_INTEGER).
        w.align(8);
        w.guid(&self.dest_dsa);
        w.guid(&self.source_invocation_id);
        w.pointer(true); // [ref] pNC
        w.i64(self.usn_vec_from.usn_high_obj_update);
        w.i64(self.usn_vec_from.usn_reserved);
        w.i64(self.usn_vec_from.usn_high_prop_update);
        w.pointer(!self.up_to_date.is_empty());
        w.u32(self.flags);
        w.u32(self.max_objects);
        w.u32(self.max_bytes);
        w.u32(self.extended_op);
        w.u64(self.fsmo_info);
        w.pointer(!self.partial_attribute_set.is_empty());
        w.pointer(false); // pPartialAttrSetEx1
        w.u32(count(self.prefix_table.len()));
        w.pointer(!self.prefix_table.is_empty());

        // Deferred pointees, in the order of their pointers.
        write_dsname(w, &self.naming_context);
        if !self.up_to_date.is_empty() {
            // UPTODATE_VECTOR_V1_EXT (MS-DRSR §5.200), a conformant structure.
            w.max_count(count(self.up_to_date.len()));
            w.align(8);
            w.u32(1); // dwVersion
            w.u32(0); // dwReserved1
            w.u32(count(self.up_to_date.len()));
            w.u32(0); // dwReserved2
            for c in &self.up_to_date {
                // UPTODATE_CURSOR_V1 (MS-DRSR §5.199)
                w.align(8);
                w.guid(&c.dsa_invocation_id);
                w.i64(c.usn_high_prop_update);
            }
        }
        if !self.partial_attribute_set.is_empty() {
            // PARTIAL_ATTR_VECTOR_V1_EXT (MS-DRSR §5.144), a conformant structure.
            let n = count(self.partial_attribute_set.len());
            w.max_count(n);
            w.u32(1); // dwVersion
            w.u32(0); // dwReserved1
            w.u32(n);
            for &a in &self.partial_attribute_set {
                w.u32(a);
            }
        }
        if !self.prefix_table.is_empty() {
            // PrefixTableEntry[PrefixCount] (MS-DRSR §5.153), then each OID_t's elements.
            w.max_count(count(self.prefix_table.len()));
            for (ndx, prefix) in &self.prefix_table {
                w.u32(*ndx);
                w.u32(count(prefix.len()));
                w.pointer(!prefix.is_empty());
            }
            for (_, prefix) in &self.prefix_table {
                if !prefix.is_empty() {
                    w.max_count(count(prefix.len()));
                    w.bytes(prefix);
                }
            }
        }
    }
}

/// A length as an NDR count. Requests are built from local data; a list longer than
/// `u32::MAX` is a caller bug the server would reject anyway.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `DSNAME` (MS-DRSR §5.50) as a conformant structure: MaxCount (`NameLen` + 1), `structLen`,
/// `SidLen` 0, `Guid`, 28 zero `Sid` bytes, `NameLen`, the UTF-16 name and its terminator.
/// `structLen` is the structure's own size without the MaxCount (what Windows and Samba send).
fn write_dsname(w: &mut Writer, nc: &NamingContext) {
    let name: Vec<u16> = nc.dn.encode_utf16().collect();
    let name_len = count(name.len());
    w.max_count(name_len.saturating_add(1));
    w.u32(DSNAME_FIXED.saturating_add(name_len.saturating_add(1).saturating_mul(2)));
    w.u32(0); // SidLen
    w.guid(&nc.guid.unwrap_or(Guid::NIL));
    w.bytes(&[0; 28]); // Sid (NT4SID)
    w.u32(name_len);
    for u in name {
        w.u16(u);
    }
    w.u16(0);
}

/// The partial attribute set for `oids` through the server's prefix table (`MakeAttid`,
/// MS-DRSR §5.16.4, without adding entries): ATTRTYPs sorted ascending and deduplicated, as
/// `PARTIAL_ATTR_VECTOR_V1_EXT` requires (MS-DRSR §5.144). Send it with
/// `table.wire_entries()` as the request's prefix table.
pub fn partial_attribute_set<S: AsRef<str>>(
    table: &PrefixTable,
    oids: &[S],
) -> Result<Vec<u32>, PrefixError> {
    let mut out = oids
        .iter()
        .map(|o| table.attrtyp(o.as_ref()))
        .collect::<Result<Vec<u32>, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
