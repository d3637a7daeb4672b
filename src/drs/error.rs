//! Errors of the DRS part: [`DecodeError`] for the NDR walk (MS-DRSR §4.1.10, C706 §14) and
//! [`DecryptError`] for the secret layers (MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.10–§2.2.11).
//!
//! Messages carry positions, counts and attribute names, never secret bytes.

use std::fmt;

use super::attr::Attr;

/// The wire structure being read when a [`DecodeError`] happened (MS-DRSR §4.1.10.2.12 and the
/// structures it points to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Structure {
    /// `pdwOutVersion` and the union discriminant.
    Header,
    /// The flat part of `DRS_MSG_GETCHGREPLY_V6`/`_V9`.
    ReplyV6,
    /// A `DSNAME` (NDR conformant structure).
    Dsname,
    /// A flat `DSNAME` inside an attribute value (MS-DRSR §5.50).
    DsnameValue,
    /// `UPTODATE_VECTOR_V2_EXT`.
    UpToDateVector,
    /// `PrefixTableSrc` entries and their OID bytes.
    PrefixTable,
    /// The flat part of a `REPLENTINFLIST` element.
    ReplEntInfList,
    /// `ATTRBLOCK` (the `ATTR` array).
    AttrBlock,
    /// `ATTRVALBLOCK` (the `ATTRVAL` array of one attribute).
    AttrValBlock,
    /// The bytes of one `ATTRVAL`.
    AttrVal,
    /// `pParentGuid`.
    ParentGuid,
    /// `PROPERTY_META_DATA_EXT_VECTOR`.
    MetaDataVector,
    /// `REPLVALINF_V1`/`_V3` array (linked values).
    LinkedValues,
    /// The trailing `ULONG` return value.
    ReturnValue,
    /// The `[out]` stub of `IDL_DRSBind` (MS-DRSR §4.1.3): `ppextServer`, `phDrs`.
    BindReply,
    /// `DRS_EXTENSIONS` and the `DRS_EXTENSIONS_INT` it carries (MS-DRSR §5.38, §5.39).
    DrsExtensions,
    /// The `[out]` stub of `IDL_DRSUnbind` (MS-DRSR §4.1.25).
    UnbindReply,
    /// The `[out]` stub of `ept_map` (C706 Appendix L): `entry_handle`, `num_towers`, `towers`.
    EpmReply,
    /// A protocol tower's floors (C706 Appendix L, MS-RPCE §2.2.1.2.1).
    EpmTower,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Structure::Header => "reply header",
            Structure::ReplyV6 => "DRS_MSG_GETCHGREPLY_V6",
            Structure::Dsname => "DSNAME",
            Structure::DsnameValue => "DSNAME value",
            Structure::UpToDateVector => "UPTODATE_VECTOR_V2_EXT",
            Structure::PrefixTable => "SCHEMA_PREFIX_TABLE",
            Structure::ReplEntInfList => "REPLENTINFLIST",
            Structure::AttrBlock => "ATTRBLOCK",
            Structure::AttrValBlock => "ATTRVALBLOCK",
            Structure::AttrVal => "ATTRVAL",
            Structure::ParentGuid => "pParentGuid",
            Structure::MetaDataVector => "PROPERTY_META_DATA_EXT_VECTOR",
            Structure::LinkedValues => "REPLVALINF",
            Structure::ReturnValue => "return value",
            Structure::BindReply => "IDL_DRSBind reply",
            Structure::DrsExtensions => "DRS_EXTENSIONS",
            Structure::UnbindReply => "IDL_DRSUnbind reply",
            Structure::EpmReply => "ept_map reply",
            Structure::EpmTower => "protocol tower",
        })
    }
}

/// What went wrong while decoding (see [`DecodeError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside a field.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A count claims more elements than the remaining bytes could hold.
    CountTooLarge {
        /// The count as read.
        count: u64,
        /// Bytes left.
        remaining: usize,
    },
    /// A conformant array's MaxCount disagrees with the count field it must equal (C706 §14.3.3.2).
    CountMismatch {
        /// The MaxCount on the wire.
        max_count: u32,
        /// The value of the structure's own count field.
        expected: u32,
    },
    /// `pdwOutVersion` and the union discriminant differ.
    VersionMismatch {
        /// `pdwOutVersion`.
        out_version: u32,
        /// The union discriminant.
        tag: u32,
    },
    /// A reply version this crate does not decode: 1 (V1), 2 and 7 (compressed) — MS-DRSR §4.1.10.
    Unsupported {
        /// The version.
        version: u32,
    },
    /// Not a `DRS_MSG_GETCHGREPLY` version at all.
    UnknownVersion {
        /// The version.
        version: u32,
    },
    /// The object list holds a different number of elements than `cNumObjects`.
    ObjectCountMismatch {
        /// Elements in the list.
        found: usize,
        /// `cNumObjects`.
        declared: u32,
    },
    /// `attrCount` of an object differs from the number of metadata entries (MS-DRSR §5.155).
    MetadataCountMismatch {
        /// `attrCount`.
        attributes: u32,
        /// `cNumProps`.
        metadata: u32,
    },
    /// A `DSNAME` whose `structLen`, `SidLen` or `NameLen` is inconsistent.
    BadDsname,
    /// A `SID` that does not follow MS-DTYP §2.4.2.2 (revision 1, `SidLen` = 8 + 4·count).
    BadSid,
    /// A DSNAME string or OID that is not valid UTF-16 / BER.
    BadString,
    /// An ATTRTYP whose prefix index is not in the reply's own `PrefixTableSrc` (never guessed
    /// from the default table, MS-DRSR §5.16.4).
    UnknownPrefixIndex {
        /// The ATTRTYP.
        attrtyp: u32,
    },
    /// An ATTRTYP in the reserved or internal range (`≥ 0xC0000000`), which never appears on
    /// the wire (MS-ADTS §3.1.1.2.6).
    ReservedAttrtyp {
        /// The ATTRTYP.
        attrtyp: u32,
    },
    /// A prefix-table entry whose bytes are not a valid OID prefix, or whose `ndx` repeats an
    /// earlier entry's (which of the two maps its ATTRTYPs would be a guess).
    BadPrefix {
        /// The entry's `ndx`.
        ndx: u32,
    },
    /// Bytes are left after the return value, or the walk ended elsewhere than right before it.
    TrailingBytes {
        /// Where the walk ended.
        walk_end: usize,
        /// Where the return value sits (input length − 4).
        return_value_at: usize,
    },
    /// A NULL pointer with a non-zero length beside it (a prefix-table entry's `elements`, an
    /// `ATTRVAL`'s `pVal`): the data the length announces is not there.
    NullWithLength {
        /// The length on the wire.
        len: u32,
    },
    /// The input is larger than 4 GiB (value offsets are kept as `u32`).
    InputTooLarge {
        /// The input length.
        len: usize,
    },
    /// A `DRS_EXTENSIONS` whose `cb` is too small to hold `dwFlags` (MS-DRSR §5.39).
    ShortExtensions {
        /// `cb`.
        cb: u32,
    },
    /// A protocol tower that is not a well-formed `ncacn_ip_tcp` tower (C706 Appendix L,
    /// MS-RPCE §2.2.1.2.1).
    BadTower {
        /// What was wrong.
        reason: &'static str,
    },
    /// The server returned an error (the trailing Win32 error code, or `dwDRSError`, is non-zero).
    ServerError {
        /// The error code.
        code: u32,
    },
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Truncated { needed, remaining } => {
                write!(f, "needs {needed} bytes, {remaining} remain")
            }
            DecodeErrorKind::CountTooLarge { count, remaining } => {
                write!(f, "count {count} exceeds remaining {remaining} bytes")
            }
            DecodeErrorKind::CountMismatch {
                max_count,
                expected,
            } => write!(
                f,
                "MaxCount {max_count} differs from count field {expected}"
            ),
            DecodeErrorKind::VersionMismatch { out_version, tag } => write!(
                f,
                "pdwOutVersion {out_version} differs from union discriminant {tag}"
            ),
            DecodeErrorKind::Unsupported { version } => write!(
                f,
                "reply version {version} is not supported (only uncompressed V6 and V9 are)"
            ),
            DecodeErrorKind::UnknownVersion { version } => {
                write!(f, "unknown reply version {version}")
            }
            DecodeErrorKind::ObjectCountMismatch { found, declared } => write!(
                f,
                "object list holds {found} elements, cNumObjects says {declared}"
            ),
            DecodeErrorKind::MetadataCountMismatch {
                attributes,
                metadata,
            } => write!(f, "{attributes} attributes but {metadata} metadata entries"),
            DecodeErrorKind::BadDsname => f.write_str("inconsistent DSNAME lengths"),
            DecodeErrorKind::BadSid => f.write_str("malformed SID"),
            DecodeErrorKind::BadString => f.write_str("malformed string or OID"),
            DecodeErrorKind::UnknownPrefixIndex { attrtyp } => write!(
                f,
                "ATTRTYP {attrtyp:#010x} has prefix index {:#06x}, absent from PrefixTableSrc",
                attrtyp >> 16
            ),
            DecodeErrorKind::ReservedAttrtyp { attrtyp } => {
                write!(f, "ATTRTYP {attrtyp:#010x} is in the reserved range")
            }
            DecodeErrorKind::BadPrefix { ndx } => {
                write!(
                    f,
                    "prefix table entry {ndx} is not a valid OID prefix or repeats an earlier ndx"
                )
            }
            DecodeErrorKind::NullWithLength { len } => {
                write!(f, "NULL pointer beside a length of {len}")
            }
            DecodeErrorKind::TrailingBytes {
                walk_end,
                return_value_at,
            } => write!(
                f,
                "walk ended at byte {walk_end}, but the return value is at byte {return_value_at}"
            ),
            DecodeErrorKind::InputTooLarge { len } => {
                write!(f, "input of {len} bytes exceeds 4 GiB")
            }
            DecodeErrorKind::ShortExtensions { cb } => {
                write!(f, "DRS_EXTENSIONS of {cb} bytes has no dwFlags")
            }
            DecodeErrorKind::BadTower { reason } => write!(f, "malformed tower: {reason}"),
            DecodeErrorKind::ServerError { code } => {
                write!(f, "server returned error {code:#010x}")
            }
        }
    }
}

/// Why a reply could not be decoded: the byte offset, the structure being read and what was wrong.
///
/// Display: `at byte 1234 in ATTRVALBLOCK: count 4000000 exceeds remaining 120 bytes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset} in {structure}: {kind}")]
pub struct DecodeError {
    /// Byte offset in the reply (from byte 0 of `pdwOutVersion`).
    pub offset: usize,
    /// The structure being read.
    pub structure: Structure,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// Why the secrets of an object could not be decrypted, or its attributes could not be typed
/// (MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// No session key was given.
    #[error("no session key given")]
    NoKey,
    /// The CRC32 did not match for any of the candidate session keys (wrong key, or corrupt data).
    #[error("{attribute}: CRC32 mismatch for every one of the {keys_tried} session key(s)")]
    CrcMismatch {
        /// The attribute.
        attribute: Attr,
        /// How many keys were tried.
        keys_tried: usize,
    },
    /// An encrypted value shorter than salt + CRC (20 bytes).
    #[error("{attribute}: encrypted value of {len} bytes is shorter than 20")]
    PayloadTooShort {
        /// The attribute.
        attribute: Attr,
        /// Its length.
        len: usize,
    },
    /// A hash attribute whose plaintext length is not a multiple of 16 (or is 0 for a single hash).
    #[error("{attribute}: plaintext of {len} bytes is not a whole number of 16-byte hashes")]
    BadHashLength {
        /// The attribute.
        attribute: Attr,
        /// The plaintext length.
        len: usize,
    },
    /// A single-valued attribute with more than one value: a secret attribute (Samba rejects
    /// these too) or a fixed-size one such as userAccountControl or pwdLastSet.
    #[error("{attribute}: {count} values, the attribute has at most one")]
    TooManyValues {
        /// The attribute.
        attribute: Attr,
        /// The value count.
        count: usize,
    },
    /// The RID needed for the DES layer is unknown (no SID in the DSNAME nor objectSid).
    #[error("{attribute}: no RID for the DES layer (no SID on the object)")]
    MissingRid {
        /// The attribute.
        attribute: Attr,
    },
    /// The RID is 0, which Samba rejects for the DES layer.
    #[error("{attribute}: RID 0 cannot key the DES layer")]
    ZeroRid {
        /// The attribute.
        attribute: Attr,
    },
    /// A non-secret attribute whose value does not have its syntax's size or form.
    #[error("{attribute}: value of {len} bytes does not fit its syntax")]
    BadValue {
        /// The attribute.
        attribute: Attr,
        /// The value length.
        len: usize,
    },
    /// `supplementalCredentials` plaintext is malformed (MS-SAMR §2.2.10.1).
    #[error("supplementalCredentials malformed at byte {offset} of the plaintext: {reason}")]
    SupplementalMalformed {
        /// Byte offset inside the decrypted USER_PROPERTIES.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

impl DecryptError {
    /// Whether this is a malformed non-secret attribute — a fixed-size attribute such as
    /// userAccountControl or pwdLastSet with the wrong size ([`DecryptError::BadValue`]) or
    /// with more than one value ([`DecryptError::TooManyValues`] of a non-secret attribute) —
    /// rather than a failure of the secret layers (wrong key, corrupt ciphertext, malformed
    /// plaintext). The batch runner reports these as `invalid_attribute`, not
    /// `decrypt_failed`.
    pub fn is_invalid_attribute(&self) -> bool {
        match self {
            DecryptError::BadValue { .. } => true,
            DecryptError::TooManyValues { attribute, .. } => !attribute.is_secret(),
            _ => false,
        }
    }
}

/// Why [`super::SessionKey::from_hex`] rejected its input (the input is never echoed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionKeyParseError {
    /// Empty or an odd number of bytes.
    #[error("session key: expected a non-empty, even number of hex digits, found {found} bytes")]
    Length {
        /// Bytes found.
        found: usize,
    },
    /// A byte that is not `0-9a-fA-F`.
    #[error("session key: not a hex digit at byte {position}")]
    InvalidHex {
        /// Byte offset.
        position: usize,
    },
}
