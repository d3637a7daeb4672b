//! Active Directory DirSync change detection: the `LDAP_SERVER_DIRSYNC_OID` control
//! (1.2.840.113556.1.4.841, MS-ADTS 3.1.1.3.4.1.3) over `ldap3`'s raw controls.
//!
//! DirSync tells *which* objects changed since a cookie (for PHS: `pwdLastSet`, and the
//! replication metadata of `unicodePwd`), never the hashes themselves: over LDAP,
//! `unicodePwd`, `supplementalCredentials` and friends are "access is never granted"
//! (MS-ADTS 3.1.1.4.4). A sync engine asks DRS (`GetNCChanges` with
//! `EXOP_REPL_SECRET`) for the secrets of the accounts DirSync reports.
//!
//! The cookie is an opaque replication state ([`DirSyncCookie`], serde as a hex string);
//! unlike a DRS high-water mark it may be replayed against another DC of the same domain.
//!
//! Wire format, request and response alike:
//!
//! ```text
//! SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }
//! ```
//!
//! In the response the first INTEGER is "more results" (non-zero: call again with the new
//! cookie). Flags are encoded as a signed 32-bit INTEGER, so `INCREMENTAL_VALUES`
//! (0x80000000) is the four bytes `80 00 00 00`, as AD requires.

use std::fmt;

use ldap3::controls::RawControl;
use ldap3::{LdapError, Scope};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ad::Guid;

use super::ber::{self, BerError, Reader};
use super::connect::Connection;
use super::entry::{self, Entry};
use super::error::{LdapSourceError, rc};

/// OID of the DirSync control.
pub const DIRSYNC_OID: &str = "1.2.840.113556.1.4.841";

/// DirSync request flags (MS-ADTS 3.1.1.3.4.1.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirSyncFlags(pub u32);

impl DirSyncFlags {
    /// No flags: the caller needs the "Replicating Directory Changes" right on the NC.
    pub const NONE: DirSyncFlags = DirSyncFlags(0);
    /// `LDAP_DIRSYNC_OBJECT_SECURITY`: return only what the caller may read, without
    /// needing replication rights.
    pub const OBJECT_SECURITY: DirSyncFlags = DirSyncFlags(0x1);
    /// `LDAP_DIRSYNC_ANCESTORS_FIRST_ORDER`: parents before children.
    pub const ANCESTORS_FIRST_ORDER: DirSyncFlags = DirSyncFlags(0x800);
    /// `LDAP_DIRSYNC_PUBLIC_DATA_ONLY` (documented as having no effect).
    pub const PUBLIC_DATA_ONLY: DirSyncFlags = DirSyncFlags(0x2000);
    /// `LDAP_DIRSYNC_INCREMENTAL_VALUES`: linked attributes as value deltas.
    pub const INCREMENTAL_VALUES: DirSyncFlags = DirSyncFlags(0x8000_0000);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: DirSyncFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for DirSyncFlags {
    type Output = DirSyncFlags;
    fn bitor(self, rhs: DirSyncFlags) -> DirSyncFlags {
        DirSyncFlags(self.0 | rhs.0)
    }
}

/// The DirSync cookie: an opaque replication state. Empty = start from scratch (a full
/// read of every object the filter matches).
///
/// Serializes as a lowercase hex string; `Debug` shows only its length.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct DirSyncCookie(Vec<u8>);

impl DirSyncCookie {
    /// The empty cookie (initial synchronization).
    pub fn new() -> DirSyncCookie {
        DirSyncCookie(Vec::new())
    }

    /// Wraps bytes received from a server (or stored earlier).
    pub fn from_bytes(bytes: Vec<u8>) -> DirSyncCookie {
        DirSyncCookie(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether this is the initial (empty) cookie.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for DirSyncCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DirSyncCookie({} bytes)", self.0.len())
    }
}

impl Serialize for DirSyncCookie {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            hex.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for DirSyncCookie {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        if s.len() % 2 != 0 {
            return Err(serde::de::Error::custom(
                "DirSync cookie: odd number of hex digits",
            ));
        }
        s.as_bytes()
            .chunks_exact(2)
            .enumerate()
            .map(|(i, p)| match (digit(p[0]), digit(p[1])) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err(serde::de::Error::custom(format!(
                    "DirSync cookie: not a hex digit at byte {}",
                    2 * i
                ))),
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(DirSyncCookie)
    }
}

/// The request control's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSyncRequest {
    /// Flags.
    pub flags: DirSyncFlags,
    /// Maximum bytes of attribute data per response (AD caps and floors it; 0 = server
    /// default).
    pub max_bytes: u32,
    /// Where to resume.
    pub cookie: DirSyncCookie,
}

impl DirSyncRequest {
    /// BER value: `SEQUENCE { flags, maxBytes, cookie }`, integers as signed 32-bit.
    pub fn encode(&self) -> Vec<u8> {
        let mut content = Vec::with_capacity(self.cookie.0.len() + 16);
        ber::write_integer(&mut content, self.flags.0 as i32);
        ber::write_integer(&mut content, self.max_bytes as i32);
        ber::write_octet_string(&mut content, &self.cookie.0);
        ber::sequence(&content)
    }

    /// The control, marked critical (AD refuses to ignore it silently anyway).
    pub fn to_control(&self) -> RawControl {
        RawControl {
            ctype: DIRSYNC_OID.into(),
            crit: true,
            val: Some(self.encode()),
        }
    }
}

/// The response control's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSyncResponse {
    /// More changes are waiting: search again with [`DirSyncResponse::cookie`].
    pub more_results: bool,
    /// The second INTEGER (unused by AD).
    pub unused: i32,
    /// The new cookie.
    pub cookie: DirSyncCookie,
}

impl DirSyncResponse {
    /// Parses a response value. Never panics; errors carry the byte offset.
    ///
    /// # Errors
    /// [`BerError`] for anything that is not exactly
    /// `SEQUENCE { INTEGER, INTEGER, OCTET STRING }` with definite lengths.
    pub fn parse(value: &[u8]) -> Result<DirSyncResponse, BerError> {
        let (more, unused, cookie) = parse_triplet(value)?;
        Ok(DirSyncResponse {
            more_results: more != 0,
            unused,
            cookie: DirSyncCookie(cookie),
        })
    }
}

/// `SEQUENCE { INTEGER, INTEGER, OCTET STRING }`, nothing after it.
fn parse_triplet(value: &[u8]) -> Result<(i32, i32, Vec<u8>), BerError> {
    let mut r = Reader::new(value);
    let mut seq = r.sequence("DirSync control value")?;
    let a = seq.integer("DirSync flags")?;
    let b = seq.integer("DirSync maxBytes")?;
    let cookie = seq.octet_string("DirSync cookie")?.to_vec();
    seq.finish("DirSync control value")?;
    r.finish("DirSync control value")?;
    Ok((a, b, cookie))
}

/// The attributes Samba's `syncpasswords` watches (`ecosystem.md` §2.6), plus the
/// replication metadata that shows `unicodePwd` writes.
pub const PASSWORD_WATCH_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "sAMAccountName",
    "userPrincipalName",
    "userAccountControl",
    "pwdLastSet",
    "unicodePwd",
    "dBCSPwd",
    "supplementalCredentials",
    "isDeleted",
    "isRecycled",
    "replPropertyMetaData",
];

/// The default filter: enabled-or-not normal user accounts, without krbtgt (Samba's
/// `syncpasswords` default, minus the UAC bit test so that newly disabled accounts are seen).
pub const DEFAULT_DIRSYNC_FILTER: &str =
    "(&(objectClass=user)(!(objectClass=computer))(!(sAMAccountName=krbtgt*)))";

/// One object DirSync reported as changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedObject {
    /// Its DN (for deleted objects, the tombstone's DN in `CN=Deleted Objects`).
    pub dn: String,
    /// objectGUID as a canonical lowercase GUID string.
    pub object_guid: Option<String>,
    /// sAMAccountName, when it is among the changed attributes.
    pub sam_account_name: Option<String>,
    /// pwdLastSet (FILETIME), when it is among the changed attributes.
    pub pwd_last_set: Option<i64>,
    /// isDeleted = TRUE.
    pub is_deleted: bool,
    /// The names of the attributes returned (DirSync returns the changed ones, plus
    /// objectGUID and instanceType).
    pub attributes: Vec<String>,
    /// unicodePwd's replication stamp, when the server returned `replPropertyMetaData` with
    /// the change (Samba 4.17 does not: use
    /// [`read_unicode_pwd_stamp`](super::repl_metadata::read_unicode_pwd_stamp) then). Its
    /// version rises with every password write — the stamp the DRS path compares. `None`
    /// also when the value was malformed.
    pub unicode_pwd: Option<super::repl_metadata::AttributeStamp>,
}

impl ChangedObject {
    /// Whether the change touches the password: `pwdLastSet`, `unicodePwd`, `dBCSPwd`,
    /// `supplementalCredentials` or `ntPwdHistory` was returned. (`replPropertyMetaData`
    /// is returned whenever anything changed, so it alone does not count.)
    pub fn password_changed(&self) -> bool {
        const PW: &[&str] = &[
            "pwdLastSet",
            "unicodePwd",
            "dBCSPwd",
            "supplementalCredentials",
            "ntPwdHistory",
        ];
        self.attributes.iter().any(|a| {
            let base = a.split(';').next().unwrap_or(a);
            PW.iter().any(|p| p.eq_ignore_ascii_case(base))
        })
    }

    /// Maps one entry.
    pub fn from_entry(entry: &Entry) -> ChangedObject {
        let object_guid = entry
            .values("objectGUID")
            .and_then(|v| v.first())
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .map(|b| format_guid(&b));
        ChangedObject {
            dn: entry.dn.clone(),
            object_guid,
            sam_account_name: entry.first_str("sAMAccountName").map(str::to_owned),
            pwd_last_set: entry
                .first_str("pwdLastSet")
                .and_then(|s| s.trim().parse().ok()),
            is_deleted: entry
                .first_str("isDeleted")
                .is_some_and(|s| s.eq_ignore_ascii_case("TRUE")),
            attributes: entry.names().map(str::to_owned).collect(),
            unicode_pwd: entry
                .values("replPropertyMetaData")
                .and_then(|v| v.first())
                .and_then(|b| super::repl_metadata::unicode_pwd(b).ok().flatten()),
        }
    }
}

/// A GUID's 16 wire bytes (little-endian Data1..3) → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
/// the form the batch runner's [`Identity`](crate::batch::Identity) carries.
pub fn format_guid(b: &[u8; 16]) -> String {
    Guid::from_bytes_le(*b).to_string()
}

/// One DirSync search: the naming context and what to watch.
#[derive(Clone, Debug)]
pub struct DirSyncSearch {
    /// The naming context root (DirSync works only on a whole NC, e.g.
    /// `DC=example,DC=com`).
    pub base_dn: String,
    /// The filter.
    pub filter: String,
    /// Attributes to watch.
    pub attributes: Vec<String>,
    /// Flags.
    pub flags: DirSyncFlags,
    /// Maximum bytes per response (0 = server default).
    pub max_bytes: u32,
    /// Safety cap on the number of round trips of one [`DirSyncSearch::changes`] call.
    pub max_pages: u32,
}

impl DirSyncSearch {
    /// Watches [`PASSWORD_WATCH_ATTRIBUTES`] of [`DEFAULT_DIRSYNC_FILTER`] objects under
    /// `base_dn`, flags none, at most 10 000 round trips.
    pub fn new(base_dn: impl Into<String>) -> DirSyncSearch {
        DirSyncSearch {
            base_dn: base_dn.into(),
            filter: DEFAULT_DIRSYNC_FILTER.into(),
            attributes: PASSWORD_WATCH_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            flags: DirSyncFlags::NONE,
            max_bytes: 0,
            max_pages: 10_000,
        }
    }

    /// One round trip from `cookie`.
    ///
    /// # Errors
    /// [`LdapSourceError::Search`] for a non-success result (e.g. 50, insufficient access:
    /// the account lacks "Replicating Directory Changes"; 12, the server does not know
    /// DirSync), [`LdapSourceError::MissingControl`] or [`LdapSourceError::Control`] for a
    /// missing or malformed response control, [`LdapSourceError::Protocol`] for transport
    /// failures.
    pub fn page(
        &self,
        conn: &mut Connection,
        cookie: &DirSyncCookie,
    ) -> Result<DirSyncPage, LdapSourceError> {
        let request = DirSyncRequest {
            flags: self.flags,
            max_bytes: self.max_bytes,
            cookie: cookie.clone(),
        };
        conn.conn.with_controls(request.to_control());
        if let Some(t) = conn.operation_timeout {
            conn.conn.with_timeout(t);
        }
        let result = conn.conn.search(
            &self.base_dn,
            Scope::Subtree,
            &self.filter,
            self.attributes.clone(),
        );
        let (entries, res) = match result {
            Ok(r) => (r.0, r.1),
            Err(LdapError::LdapResult { result }) => (Vec::new(), result),
            Err(e) => {
                return Err(LdapSourceError::Protocol {
                    operation: "DirSync search",
                    source: Box::new(e),
                });
            }
        };
        let mut objects = Vec::with_capacity(entries.len());
        let mut undecodable = 0u64;
        for re in entries {
            if re.is_intermediate() || re.is_ref() {
                continue;
            }
            match entry::decode(re) {
                Ok(e) => objects.push(ChangedObject::from_entry(&e)),
                Err(_) => undecodable += 1,
            }
        }
        if res.rc != 0 {
            let entries_read = objects.len() as u64;
            return Err(match res.rc {
                rc::SIZE_LIMIT_EXCEEDED => LdapSourceError::SizeLimitExceeded {
                    entries_read,
                    text: res.text,
                },
                rc::REFERRAL => LdapSourceError::Referral {
                    urls: res.refs,
                    entries_read,
                },
                other => LdapSourceError::Search {
                    base: self.base_dn.clone(),
                    rc: other,
                    text: res.text,
                    entries_read,
                },
            });
        }
        let value = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == DIRSYNC_OID)
            .ok_or(LdapSourceError::MissingControl { control: "DirSync" })?
            .1
            .val
            .clone()
            .unwrap_or_default();
        let response =
            DirSyncResponse::parse(&value).map_err(|source| LdapSourceError::Control {
                control: "DirSync",
                source,
            })?;
        Ok(DirSyncPage {
            objects,
            undecodable,
            more_results: response.more_results,
            cookie: response.cookie,
        })
    }

    /// Round trips from `cookie` until the server has no more results; returns every
    /// changed object and the cookie to store for next time. Stops after `max_pages`
    /// round trips (returning what was read and the cookie reached) so that a server
    /// that keeps saying "more" cannot loop forever.
    ///
    /// # Errors
    /// As [`DirSyncSearch::page`]. The cookie is only advanced by successful pages, so on
    /// error the caller keeps its previous cookie and nothing is lost.
    pub fn changes(
        &self,
        conn: &mut Connection,
        cookie: &DirSyncCookie,
    ) -> Result<DirSyncPage, LdapSourceError> {
        let mut all = DirSyncPage {
            objects: Vec::new(),
            undecodable: 0,
            more_results: true,
            cookie: cookie.clone(),
        };
        for _ in 0..self.max_pages.max(1) {
            let page = self.page(conn, &all.cookie)?;
            all.objects.extend(page.objects);
            all.undecodable += page.undecodable;
            all.more_results = page.more_results;
            all.cookie = page.cookie;
            if !all.more_results {
                break;
            }
        }
        Ok(all)
    }
}

/// What one or more DirSync round trips returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSyncPage {
    /// Objects with changes, in server order.
    pub objects: Vec<ChangedObject>,
    /// Entries that could not be decoded (counted, not returned).
    pub undecodable: u64,
    /// The server has more changes after this cookie.
    pub more_results: bool,
    /// The cookie to use next.
    pub cookie: DirSyncCookie,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_encodes_flags_as_signed_int32() {
        let req = DirSyncRequest {
            flags: DirSyncFlags::INCREMENTAL_VALUES | DirSyncFlags::OBJECT_SECURITY,
            max_bytes: 1_048_576,
            cookie: DirSyncCookie::from_bytes(vec![0xde, 0xad]),
        };
        assert_eq!(
            req.encode(),
            [
                0x30, 0x0f, // SEQUENCE
                0x02, 0x04, 0x80, 0x00, 0x00, 0x01, // flags, 4 bytes, negative
                0x02, 0x03, 0x10, 0x00, 0x00, // maxBytes 0x100000
                0x04, 0x02, 0xde, 0xad, // cookie
            ]
        );
        let empty = DirSyncRequest {
            flags: DirSyncFlags::NONE,
            max_bytes: 0,
            cookie: DirSyncCookie::new(),
        };
        assert_eq!(empty.encode(), [0x30, 0x08, 2, 1, 0, 2, 1, 0, 4, 0]);
        let c = empty.to_control();
        assert_eq!(c.ctype, DIRSYNC_OID);
        assert!(c.crit);
        assert_eq!(parse_triplet(&req.encode()).unwrap().0 as u32, 0x8000_0001);
    }

    #[test]
    fn response_parses() {
        let mut cookie = b"MSDS".to_vec();
        cookie.extend(std::iter::repeat_n(0x5a, 200));
        let mut content = Vec::new();
        ber::write_integer(&mut content, 1);
        ber::write_integer(&mut content, 0);
        ber::write_octet_string(&mut content, &cookie);
        let value = ber::sequence(&content);
        let r = DirSyncResponse::parse(&value).unwrap();
        assert!(r.more_results);
        assert_eq!(r.cookie.as_bytes(), &cookie[..]);
        let r = DirSyncResponse::parse(&[0x30, 0x08, 2, 1, 0, 2, 1, 0, 4, 0]).unwrap();
        assert!(!r.more_results);
        assert!(r.cookie.is_empty());
    }

    #[test]
    fn hostile_responses_are_errors_with_offsets() {
        let cases: &[(&[u8], BerError)] = &[
            (
                &[],
                BerError::Truncated {
                    offset: 0,
                    what: "DirSync control value",
                },
            ),
            (
                &[0x31, 0x00],
                BerError::UnexpectedTag {
                    offset: 0,
                    expected: 0x30,
                    found: 0x31,
                    what: "DirSync control value",
                },
            ),
            (
                &[0x30, 0x03, 0x04, 0x01, 0x00],
                BerError::UnexpectedTag {
                    offset: 2,
                    expected: 0x02,
                    found: 0x04,
                    what: "DirSync flags",
                },
            ),
            (
                &[0x30, 0x06, 2, 1, 0, 2, 1, 0],
                BerError::Truncated {
                    offset: 8,
                    what: "DirSync cookie",
                },
            ),
            (
                &[0x30, 0x0a, 2, 1, 0, 2, 1, 0, 4, 0, 5, 0],
                BerError::TrailingData {
                    offset: 10,
                    extra: 2,
                    what: "DirSync control value",
                },
            ),
            (
                &[0x30, 0x08, 2, 1, 0, 2, 1, 0, 4, 0, 0],
                BerError::TrailingData {
                    offset: 10,
                    extra: 1,
                    what: "DirSync control value",
                },
            ),
            (
                &[0x30, 0x08, 2, 1, 0, 2, 1, 0, 4, 0x7f],
                BerError::Truncated {
                    offset: 10,
                    what: "DirSync cookie",
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                DirSyncResponse::parse(input).unwrap_err(),
                *want,
                "{input:02x?}"
            );
        }
    }

    #[test]
    fn every_truncation_of_a_valid_value_is_an_error() {
        let req = DirSyncRequest {
            flags: DirSyncFlags::OBJECT_SECURITY,
            max_bytes: 123_456,
            cookie: DirSyncCookie::from_bytes((0..=255).collect()),
        };
        let full = req.encode();
        for n in 0..full.len() {
            assert!(DirSyncResponse::parse(&full[..n]).is_err(), "prefix {n}");
        }
        assert!(DirSyncResponse::parse(&full).is_ok());
    }

    #[test]
    fn cookie_serde_round_trip_and_debug_hides_bytes() {
        let c = DirSyncCookie::from_bytes(vec![0, 1, 0xab, 0xff]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"0001abff\"");
        assert_eq!(serde_json::from_str::<DirSyncCookie>(&json).unwrap(), c);
        assert_eq!(
            serde_json::from_str::<DirSyncCookie>("\"0001ABFF\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<DirSyncCookie>("\"abc\"").is_err());
        assert!(serde_json::from_str::<DirSyncCookie>("\"zz\"").is_err());
        assert_eq!(format!("{c:?}"), "DirSyncCookie(4 bytes)");
    }

    #[test]
    fn guid_and_password_detection() {
        let b = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(format_guid(&b), "00112233-4455-6677-8899-aabbccddeeff");
        let e = Entry {
            dn: "CN=a,DC=x".into(),
            attrs: vec![
                ("objectGUID".into(), vec![b.to_vec()]),
                ("pwdLastSet".into(), vec![b"133000000000000000".to_vec()]),
                ("instanceType".into(), vec![b"4".to_vec()]),
            ],
        };
        let o = ChangedObject::from_entry(&e);
        assert_eq!(
            o.object_guid.as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        assert_eq!(o.pwd_last_set, Some(133_000_000_000_000_000));
        assert!(o.password_changed());
        assert!(!o.is_deleted);
        let e = Entry {
            dn: "CN=a\\0ADEL:x,CN=Deleted Objects,DC=x".into(),
            attrs: vec![
                ("isDeleted".into(), vec![b"TRUE".to_vec()]),
                ("objectGUID".into(), vec![vec![1, 2, 3]]),
                ("replPropertyMetaData".into(), vec![vec![0]]),
            ],
        };
        let o = ChangedObject::from_entry(&e);
        assert!(o.is_deleted);
        assert_eq!(o.object_guid, None, "a 3-byte GUID is not a GUID");
        assert!(!o.password_changed());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = DirSyncResponse::parse(&bytes);
        }

        #[test]
        fn encode_parse_round_trip(flags in proptest::prelude::any::<u32>(), max in proptest::prelude::any::<u32>(), cookie in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let req = DirSyncRequest { flags: DirSyncFlags(flags), max_bytes: max, cookie: DirSyncCookie::from_bytes(cookie.clone()) };
            let (f, m, c) = parse_triplet(&req.encode()).unwrap();
            proptest::prop_assert_eq!(f as u32, flags);
            proptest::prop_assert_eq!(m as u32, max);
            proptest::prop_assert_eq!(c, cookie);
        }
    }
}
