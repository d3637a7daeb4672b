//! [`Reply`]: one decoded `IDL_DRSGetNCChanges` output (MS-DRSR §4.1.10.2.12 V6, and V9), and what
//! it holds:
//! [`ReplicatedObject`]s with their attributes and per-attribute metadata, USN vectors,
//! up-to-date cursors and linked values.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attr::Attr;
use super::guid::Guid;
use super::prefix::{AttrId, PrefixTable};
use super::sid::Sid;
use super::time::DsTime;

pub use super::decode::parse_dsname_value;

pub use crate::ad::UsnVector;

/// `UPTODATE_CURSOR_V2` (MS-DRSR §5.208).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpToDateCursor {
    /// `uuidDsa`: the invocation id of the DC the cursor is about.
    pub dsa_invocation_id: Guid,
    /// `usnHighPropUpdate`.
    pub usn_high_prop_update: i64,
    /// `timeLastSyncSuccess`.
    pub time_last_sync_success: DsTime,
}

/// `PROPERTY_META_DATA_EXT` (MS-DRSR §5.155): the stamp of one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeMetadata {
    version: u32,
    originating_time: DsTime,
    originating_invocation_id: Guid,
    originating_usn: i64,
}

impl AttributeMetadata {
    /// Builds a stamp.
    pub fn new(
        version: u32,
        originating_time: DsTime,
        originating_invocation_id: Guid,
        originating_usn: i64,
    ) -> Self {
        AttributeMetadata {
            version,
            originating_time,
            originating_invocation_id,
            originating_usn,
        }
    }

    /// `dwVersion`: 1 at creation, +1 per originating write (a password change bumps unicodePwd's).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `timeChanged`: DSTIME seconds since 1601 (see [`DsTime::to_unix_seconds`]).
    pub fn originating_time(&self) -> DsTime {
        self.originating_time
    }

    /// `uuidDsaOriginating`: invocation id of the DC where the write originated.
    pub fn originating_invocation_id(&self) -> Guid {
        self.originating_invocation_id
    }

    /// `usnOriginating`.
    pub fn originating_usn(&self) -> i64 {
        self.originating_usn
    }
}

/// A `DSNAME` (MS-DRSR §5.50): GUID, SID and DN, each optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsName {
    pub(super) guid: Option<Guid>,
    pub(super) sid: Option<Sid>,
    pub(super) dn: Option<String>,
}

impl DsName {
    /// The GUID, unless all-zero.
    pub fn guid(&self) -> Option<Guid> {
        self.guid
    }

    /// The SID, if `SidLen` > 0.
    pub fn sid(&self) -> Option<&Sid> {
        self.sid.as_ref()
    }

    /// The DN, if `NameLen` > 0.
    pub fn dn(&self) -> Option<&str> {
        self.dn.as_deref()
    }
}

/// One attribute of a [`ReplicatedObject`] (the `ATTR` plus its metadata).
#[derive(Debug, Clone)]
pub(super) struct AttrEntry {
    pub(super) attrtyp: u32,
    pub(super) id: AttrId,
    /// Index range into the object's `values`.
    pub(super) first: u32,
    pub(super) count: u32,
    pub(super) meta: Option<AttributeMetadata>,
}

/// A view of one attribute: ATTRTYP, identity, values (raw wire bytes; secret ones still
/// encrypted) and metadata.
#[derive(Clone, Copy)]
pub struct Attribute<'a> {
    obj: &'a ReplicatedObject,
    e: &'a AttrEntry,
}

impl<'a> Attribute<'a> {
    /// The ATTRTYP as on the wire (relative to the reply's `PrefixTableSrc`).
    pub fn attrtyp(&self) -> u32 {
        self.e.attrtyp
    }

    /// The identity after prefix-table mapping.
    pub fn id(&self) -> &'a AttrId {
        &self.e.id
    }

    /// The known attribute, if it is one.
    pub fn known(&self) -> Option<Attr> {
        self.e.id.known()
    }

    /// `valCount`. Zero means "present with no values" (e.g. a never-set unicodePwd).
    pub fn value_count(&self) -> usize {
        self.e.count as usize
    }

    /// The values' raw bytes, in wire order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let obj = self.obj;
        let first = self.e.first as usize;
        obj.values[first..first + self.e.count as usize]
            .iter()
            .map(move |&(off, len)| &obj.data[off as usize..(off + len) as usize])
    }

    /// The metadata stamp (`rgMetaData[i]`), if the reply carried a metadata vector.
    pub fn metadata(&self) -> Option<&'a AttributeMetadata> {
        self.e.meta.as_ref()
    }
}

impl std::fmt::Debug for Attribute<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribute")
            .field("attrtyp", &format_args!("{:#010x}", self.e.attrtyp))
            .field("id", &self.e.id)
            .field("value_count", &self.e.count)
            .field("metadata", &self.e.meta)
            .finish()
    }
}

/// One `REPLENTINFLIST` element (MS-DRSR §5.162): the object's name, flags, attributes (secret
/// values still encrypted) and metadata. Decrypt with [`ReplicatedObject::decrypt`].
#[derive(Clone)]
pub struct ReplicatedObject {
    pub(super) data: Arc<WireBytes>,
    pub(super) prefix: Arc<PrefixTable>,
    pub(super) name: Option<DsName>,
    pub(super) flags: u32,
    pub(super) is_nc_prefix: bool,
    pub(super) parent_guid: Option<Guid>,
    pub(super) attrs: Vec<AttrEntry>,
    pub(super) values: Vec<(u32, u32)>,
    pub(super) classes: Vec<Arc<str>>,
}

impl std::fmt::Debug for ReplicatedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicatedObject")
            .field("name", &self.name)
            .field("attributes", &self.attrs.len())
            .finish_non_exhaustive()
    }
}

impl ReplicatedObject {
    /// The object's `DSNAME` (`Entinf.pName`).
    pub fn name(&self) -> Option<&DsName> {
        self.name.as_ref()
    }

    /// The DN from the DSNAME.
    pub fn dn(&self) -> Option<&str> {
        self.name.as_ref().and_then(DsName::dn)
    }

    /// The GUID: the DSNAME's, else the objectGUID attribute's.
    pub fn object_guid(&self) -> Option<Guid> {
        self.name.as_ref().and_then(DsName::guid).or_else(|| {
            self.single(Attr::ObjectGuid)
                .and_then(|v| <[u8; 16]>::try_from(v).ok())
                .map(Guid::from_bytes_le)
        })
    }

    /// The SID: the DSNAME's, else the objectSid attribute's.
    pub fn sid(&self) -> Option<Sid> {
        self.name
            .as_ref()
            .and_then(|n| n.sid().cloned())
            .or_else(|| self.single(Attr::ObjectSid).and_then(Sid::from_bytes))
    }

    /// The RID (last sub-authority of [`ReplicatedObject::sid`]); keys the DES layer (MS-SAMR
    /// §2.2.11.1.3).
    pub fn rid(&self) -> Option<u32> {
        self.sid().and_then(|s| s.rid())
    }

    /// sAMAccountName, decoded without decrypting anything (usable when decryption fails).
    pub fn sam_account_name(&self) -> Option<String> {
        self.string(Attr::SamAccountName)
    }

    /// userPrincipalName, decoded without decrypting anything.
    pub fn user_principal_name(&self) -> Option<String> {
        self.string(Attr::UserPrincipalName)
    }

    /// `Entinf.ulFlags` (ENTINF_FROM_MASTER 0x1, …).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// `fIsNCPrefix`.
    pub fn is_nc_prefix(&self) -> bool {
        self.is_nc_prefix
    }

    /// `pParentGuid`.
    pub fn parent_guid(&self) -> Option<Guid> {
        self.parent_guid
    }

    /// The attributes in wire order.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'_>> {
        self.attrs.iter().map(move |e| Attribute { obj: self, e })
    }

    /// The first attribute with this identity.
    pub fn attribute(&self, attr: Attr) -> Option<Attribute<'_>> {
        self.attrs
            .iter()
            .find(|e| e.id == AttrId::Known(attr))
            .map(|e| Attribute { obj: self, e })
    }

    /// The object classes as lDAPDisplayNames (well-known ones) or dotted OIDs, in wire order.
    /// Values that are not 4 bytes, or whose ATTRTYP does not map, are skipped.
    pub fn object_classes(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.to_string()).collect()
    }

    /// [`ReplicatedObject::object_classes`] without a copy (the decoder shares the names).
    pub(crate) fn class_names(&self) -> &[Arc<str>] {
        &self.classes
    }

    /// The prefix table the object's ATTRTYPs are relative to.
    pub fn prefix_table(&self) -> &PrefixTable {
        &self.prefix
    }

    /// The single value of a known attribute (None if absent, empty or multi-valued).
    pub(crate) fn single(&self, attr: Attr) -> Option<&[u8]> {
        let a = self.attribute(attr)?;
        let mut v = a.values();
        match (v.next(), v.next()) {
            (Some(x), None) => Some(x),
            _ => None,
        }
    }

    pub(crate) fn string(&self, attr: Attr) -> Option<String> {
        self.single(attr).map(utf16_lossy)
    }
}

/// UTF-16LE bytes → String, `None` on an unpaired surrogate or odd length. ASCII fast path.
pub(crate) fn utf16_strict(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    if b.chunks_exact(2).all(|c| c[1] == 0 && c[0] < 0x80) {
        let ascii: Vec<u8> = b.iter().step_by(2).copied().collect();
        return String::from_utf8(ascii).ok();
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

/// UTF-16LE bytes → String; unpaired surrogates and an odd trailing byte become U+FFFD.
pub(crate) fn utf16_lossy(b: &[u8]) -> String {
    if let Some(s) = utf16_strict(b) {
        return s;
    }
    let units = b.chunks(2).map(|c| {
        if c.len() == 2 {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            0xfffd
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect()
}

/// One linked value (MS-DRSR `REPLVALINF_V1`/`REPLVALINF_V3`), kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedValue {
    /// `pObject`: the object holding the link.
    pub object: Option<DsName>,
    /// `attrTyp` (relative to the reply's prefix table).
    pub attrtyp: u32,
    /// `Aval` bytes.
    pub value: Vec<u8>,
    /// `fIsPresent`.
    pub is_present: bool,
    /// `timeCreated`.
    pub time_created: DsTime,
    /// The value's stamp.
    pub metadata: AttributeMetadata,
    /// `timeExpired` (V3 only).
    pub time_expired: Option<DsTime>,
}

/// The reply's bytes, copied once by [`Reply::decode`] and shared by its objects (values are
/// ranges into it). They hold the secret attributes still encrypted under the connection's
/// session key (MS-DRSR §4.1.10.2.20), and are wiped when the last holder is dropped. The
/// caller's own buffer (the `&[u8]` passed to `decode`) is the caller's to wipe.
pub(crate) struct WireBytes(Box<[u8]>);

impl WireBytes {
    pub(super) fn new(bytes: &[u8]) -> WireBytes {
        WireBytes(bytes.into())
    }

    /// Takes `bytes` (no copy unless it has spare capacity, whose bytes are wiped first).
    pub(super) fn from_vec(mut bytes: Vec<u8>) -> WireBytes {
        if bytes.capacity() != bytes.len() {
            let copy = WireBytes::new(&bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            return copy;
        }
        WireBytes(bytes.into_boxed_slice())
    }
}

impl std::ops::Deref for WireBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for WireBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut *self.0);
    }
}

/// One decoded `IDL_DRSGetNCChanges` reply (MS-DRSR §4.1.10.2.12): header, USN vectors, cursors,
/// the
/// prefix table, the objects in wire order, linked values and the return value.
#[derive(Clone)]
pub struct Reply {
    pub(super) version: u32,
    pub(super) source_dsa_guid: Guid,
    pub(super) source_dsa_invocation_id: Guid,
    pub(super) naming_context: Option<DsName>,
    pub(super) usn_vec_from: UsnVector,
    pub(super) usn_vec_to: UsnVector,
    pub(super) up_to_date_vector: Option<Vec<UpToDateCursor>>,
    pub(super) prefix: Arc<PrefixTable>,
    pub(super) extended_ret: u32,
    pub(super) nc_size_objects: u32,
    pub(super) nc_size_values: u32,
    pub(super) more_data: bool,
    pub(super) objects: Vec<ReplicatedObject>,
    pub(super) linked_values: Vec<LinkedValue>,
    pub(super) drs_error: u32,
    pub(super) return_value: u32,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("version", &self.version)
            .field("objects", &self.objects.len())
            .field("more_data", &self.more_data)
            .field("usn_vec_to", &self.usn_vec_to)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// The objects, in wire order.
    pub fn objects(&self) -> &[ReplicatedObject] {
        &self.objects
    }

    /// Consumes the reply, returning its objects.
    pub fn into_objects(self) -> Vec<ReplicatedObject> {
        self.objects
    }

    /// The size of the buffer the reply was decoded from (0 once its objects are taken out).
    pub(crate) fn wire_len(&self) -> usize {
        self.objects.first().map_or(0, |o| o.data.len())
    }

    /// Takes the objects out, leaving the header (watermark, cursors, return values).
    pub(crate) fn take_objects(&mut self) -> Vec<ReplicatedObject> {
        std::mem::take(&mut self.objects)
    }

    /// `fMoreData`: false only in the last reply of a cycle.
    pub fn more_data(&self) -> bool {
        self.more_data
    }

    /// `pdwOutVersion` (6 or 9).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// `uuidDsaObjSrc`: the server's DSA GUID.
    pub fn source_dsa_guid(&self) -> Guid {
        self.source_dsa_guid
    }

    /// `uuidInvocIdSrc`: the server's invocation id (send it back in the next request).
    pub fn source_dsa_invocation_id(&self) -> Guid {
        self.source_dsa_invocation_id
    }

    /// `pNC`: the naming context.
    pub fn naming_context(&self) -> Option<&DsName> {
        self.naming_context.as_ref()
    }

    /// `usnvecFrom`.
    pub fn usn_vec_from(&self) -> UsnVector {
        self.usn_vec_from
    }

    /// `usnvecTo`: the next request's `usnvecFrom`.
    pub fn usn_vec_to(&self) -> UsnVector {
        self.usn_vec_to
    }

    /// `pUpToDateVecSrc` cursors (usually only in the last reply of a cycle).
    pub fn up_to_date_vector(&self) -> Option<&[UpToDateCursor]> {
        self.up_to_date_vector.as_deref()
    }

    /// `PrefixTableSrc` (without the schemaInfo entry).
    pub fn prefix_table(&self) -> &PrefixTable {
        &self.prefix
    }

    /// `ulExtendedRet` (1 = EXOP_ERR_SUCCESS for extended operations).
    pub fn extended_ret(&self) -> u32 {
        self.extended_ret
    }

    /// `cNumNcSizeObjects`.
    pub fn nc_size_objects(&self) -> u32 {
        self.nc_size_objects
    }

    /// `cNumNcSizeValues`.
    pub fn nc_size_values(&self) -> u32 {
        self.nc_size_values
    }

    /// Linked values (`rgValues`); empty when the pointer is NULL or the array empty.
    pub fn linked_values(&self) -> &[LinkedValue] {
        &self.linked_values
    }

    /// `dwDRSError` (always 0 in a successfully decoded reply).
    pub fn drs_error(&self) -> u32 {
        self.drs_error
    }

    /// The call's return value (always 0 in a successfully decoded reply).
    pub fn return_value(&self) -> u32 {
        self.return_value
    }
}
