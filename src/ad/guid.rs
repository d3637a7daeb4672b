//! [`Guid`]: the MS-DTYP §2.3.4 GUID as it travels in DRS (objectGUID, MS-ADA3; the `DSNAME` GUID,
//! MS-DRSR §5.50).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A GUID in wire layout: `Data1` (u32 LE), `Data2` (u16 LE), `Data3` (u16 LE), `Data4` (8 bytes).
///
/// `Display` gives the canonical lowercase form Windows prints
/// (`1ee07830-e2be-4409-9026-e71e849e0edf`); [`Guid::as_bytes`] gives the 16 wire bytes (what
/// Entra ID's `immutableId` base64-encodes). Serialized as the canonical string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid([u8; 16]);

impl Guid {
    /// The all-zero GUID ("not given" in a DSNAME).
    pub const NIL: Guid = Guid([0; 16]);

    /// From the 16 wire bytes (mixed-endian, as on the wire and in `objectGUID`).
    pub const fn from_bytes_le(bytes: [u8; 16]) -> Guid {
        Guid(bytes)
    }

    /// The 16 wire bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The 16 wire bytes, by value.
    pub const fn to_bytes_le(self) -> [u8; 16] {
        self.0
    }

    /// Whether all bytes are zero.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Data1..Data3 are little-endian on the wire (MS-DTYP §2.3.4.2): their bytes print
        // reversed. Formatted into a stack buffer: this runs for every replicated object.
        const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut buf = [b'-'; 36];
        let mut at = 0;
        for (i, &k) in ORDER.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            buf[at..at + 2].copy_from_slice(&crate::hex::lower_pair(self.0[k]));
            at += 2;
        }
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

/// The text is not a `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a GUID string (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct GuidParseError;

impl FromStr for Guid {
    type Err = GuidParseError;

    /// Parses the canonical form, any hex case, optionally in braces.
    fn from_str(s: &str) -> Result<Guid, GuidParseError> {
        let s = s
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(s);
        let b = s.as_bytes();
        if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
            return Err(GuidParseError);
        }
        let mut digits = [0u8; 16];
        let mut n = 0;
        let mut hi: Option<u8> = None;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                continue;
            }
            let v = (c as char).to_digit(16).ok_or(GuidParseError)? as u8;
            match hi.take() {
                None => hi = Some(v),
                Some(h) => {
                    digits[n] = (h << 4) | v;
                    n += 1;
                }
            }
        }
        let mut out = digits;
        out[0..4].reverse();
        out[4..6].reverse();
        out[6..8].reverse();
        Ok(Guid(out))
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Guid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_round_trip() {
        let g: Guid = "1ee07830-e2be-4409-9026-e71e849e0edf".parse().unwrap();
        assert_eq!(g.as_bytes()[0..4], [0x30, 0x78, 0xe0, 0x1e]);
        assert_eq!(g.to_string(), "1ee07830-e2be-4409-9026-e71e849e0edf");
        let u: Guid = "{1EE07830-E2BE-4409-9026-E71E849E0EDF}".parse().unwrap();
        assert_eq!(u, g);
        assert!(
            "1ee07830e2be-4409-9026-e71e849e0edf0"
                .parse::<Guid>()
                .is_err()
        );
    }
}
