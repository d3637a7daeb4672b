//! `replPropertyMetaData` as read over LDAP: the per-attribute replication stamps of an AD
//! object (MS-DRSR §5.158 `PROPERTY_META_DATA_EXT` in its stored form; Samba `drsblobs.idl`
//! `replPropertyMetaDataBlob`). DirSync returns it with every change, and the `unicodePwd`
//! entry's version tells whether the password itself was written — the same stamp the DRS
//! path reads from `GetNCChanges` metadata.
//!
//! Layout, little-endian: `u32 version (1) | u32 reserved | u32 count | u32 reserved |
//! count × { u32 attid | u32 version | i64 originating time (seconds since 1601) |
//! GUID originating invocation id | i64 originating USN | i64 local USN }` (48 bytes each).

use crate::ad::DsTime;

/// The ATTRTYP of `unicodePwd` under Active Directory's (and Samba's) prefix map
/// (1.2.840.113556.1.4.90 → prefix index 9, 0x5A).
pub const ATTID_UNICODE_PWD: u32 = 0x0009_005a;

const HEADER: usize = 16;
const ENTRY: usize = 48;

/// One attribute's replication stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeStamp {
    /// The attribute's ATTRTYP in the DC's prefix map.
    pub attid: u32,
    /// Incremented on every originating write.
    pub version: u32,
    /// Originating write time, Unix seconds.
    pub changed_unix: i64,
    /// Originating USN.
    pub originating_usn: i64,
}

/// Why a `replPropertyMetaData` value was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplMetadataError {
    /// Shorter than its header or than `count` entries need.
    #[error("replPropertyMetaData: {len} bytes, {needed} needed at offset {offset}")]
    Truncated {
        /// Total length.
        len: usize,
        /// Bytes needed.
        needed: usize,
        /// Where the missing part starts.
        offset: usize,
    },
    /// A blob version other than 1.
    #[error("replPropertyMetaData: unsupported version {version} at offset 0")]
    Version {
        /// The version found.
        version: u32,
    },
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(x)
}

/// Decodes every entry. Bounds are checked before any allocation: `count` is trusted only as
/// far as the bytes present allow.
///
/// # Errors
/// [`ReplMetadataError`] with the offset.
pub fn parse(blob: &[u8]) -> Result<Vec<AttributeStamp>, ReplMetadataError> {
    let truncated = |needed: usize, offset: usize| ReplMetadataError::Truncated {
        len: blob.len(),
        needed,
        offset,
    };
    if blob.len() < HEADER {
        return Err(truncated(HEADER, 0));
    }
    let version = u32_at(blob, 0);
    if version != 1 {
        return Err(ReplMetadataError::Version { version });
    }
    let count = u32_at(blob, 8) as usize;
    let needed = count
        .checked_mul(ENTRY)
        .and_then(|n| n.checked_add(HEADER))
        .unwrap_or(usize::MAX);
    if blob.len() < needed {
        return Err(truncated(needed, HEADER));
    }
    Ok((0..count)
        .map(|i| {
            let e = HEADER + i * ENTRY;
            AttributeStamp {
                attid: u32_at(blob, e),
                version: u32_at(blob, e + 4),
                changed_unix: DsTime(i64_at(blob, e + 8)).to_unix_seconds(),
                originating_usn: i64_at(blob, e + 32),
            }
        })
        .collect())
}

/// The stamp of `unicodePwd`, if the object has one.
///
/// # Errors
/// As [`parse`].
pub fn unicode_pwd(blob: &[u8]) -> Result<Option<AttributeStamp>, ReplMetadataError> {
    Ok(parse(blob)?
        .into_iter()
        .find(|s| s.attid == ATTID_UNICODE_PWD))
}

/// Reads `dn`'s unicodePwd stamp with a base-scope search for `replPropertyMetaData`.
///
/// DirSync tells *that* an object changed but (on Samba 4.17 at least) does not return
/// `replPropertyMetaData` itself, even when asked; this one extra read gets the stamp that
/// change detection compares (`SyncState` keys on the same version and time).
///
/// # Errors
/// [`LdapSourceError::Protocol`] for transport failures and malformed metadata,
/// [`LdapSourceError::Search`] for a non-zero result code.
///
/// [`LdapSourceError::Protocol`]: super::LdapSourceError::Protocol
/// [`LdapSourceError::Search`]: super::LdapSourceError::Search
pub fn read_unicode_pwd_stamp(
    conn: &mut super::Connection,
    dn: &str,
) -> Result<Option<AttributeStamp>, super::LdapSourceError> {
    use super::LdapSourceError;
    if let Some(t) = conn.operation_timeout {
        conn.conn.with_timeout(t);
    }
    let protocol = |source: super::BoxError| LdapSourceError::Protocol {
        operation: "replPropertyMetaData read",
        source,
    };
    let result = conn
        .conn
        .search(
            dn,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["replPropertyMetaData"],
        )
        .map_err(|e| protocol(Box::new(e)))?;
    let (entries, res) = (result.0, result.1);
    if res.rc != 0 {
        return Err(LdapSourceError::Search {
            base: dn.to_owned(),
            rc: res.rc,
            text: res.text,
            entries_read: 0,
        });
    }
    for re in entries {
        let Ok(entry) = super::entry::decode(re) else {
            continue;
        };
        if let Some(blob) = entry.values("replPropertyMetaData").and_then(|v| v.first()) {
            return unicode_pwd(blob).map_err(|e| protocol(Box::new(e)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::time::EPOCH_DIFF_SECS;

    fn blob(entries: &[(u32, u32, i64)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for &(attid, version, time) in entries {
            b.extend_from_slice(&attid.to_le_bytes());
            b.extend_from_slice(&version.to_le_bytes());
            b.extend_from_slice(&(time + EPOCH_DIFF_SECS).to_le_bytes());
            b.extend_from_slice(&[0xab; 16]);
            b.extend_from_slice(&42i64.to_le_bytes());
            b.extend_from_slice(&43i64.to_le_bytes());
        }
        b
    }

    #[test]
    fn finds_unicode_pwd() {
        let b = blob(&[(0x0009_0008, 1, 5), (ATTID_UNICODE_PWD, 7, 1_700_000_000)]);
        let s = unicode_pwd(&b).unwrap().unwrap();
        assert_eq!(
            (s.version, s.changed_unix, s.originating_usn),
            (7, 1_700_000_000, 42)
        );
        assert_eq!(unicode_pwd(&blob(&[(1, 1, 1)])).unwrap(), None);
        assert_eq!(parse(&blob(&[])).unwrap(), vec![]);
    }

    #[test]
    fn hostile_blobs_are_errors() {
        let good = blob(&[(ATTID_UNICODE_PWD, 2, 0)]);
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut {cut}");
        }
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse(&huge),
            Err(ReplMetadataError::Truncated { offset: 16, .. })
        ));
        let mut v2 = good;
        v2[0] = 2;
        assert_eq!(parse(&v2), Err(ReplMetadataError::Version { version: 2 }));
    }
}
