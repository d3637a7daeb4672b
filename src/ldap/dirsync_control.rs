//! The DirSync control codec: `LDAP_SERVER_DIRSYNC_OID` (1.2.840.113556.1.4.841,
//! MS-ADTS §3.1.1.3.4.1.3) request and response values, and the opaque cookie. No I/O; the
//! search that carries them is [`super::dirsync`].
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
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ber::{self, BerError, Reader};

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
