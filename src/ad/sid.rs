//! [`Sid`]: the MS-DTYP §2.4.2.2 binary security identifier (objectSid, MS-ADA3; the `DSNAME` SID,
//! MS-DRSR §5.50).

use std::fmt;

/// A security identifier: revision 1, a 48-bit identifier authority and up to 15 sub-authorities.
///
/// `Display` gives `S-1-5-21-…`; [`Sid::rid`] the last sub-authority (the relative identifier
/// that keys the DES layer, MS-SAMR §2.2.11.1.3).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid {
    authority: u64,
    count: u8,
    sub: [u32; 15],
}

impl Sid {
    /// Parses the MS-DTYP binary form; the input must be exactly `8 + 4·count` bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Sid> {
        if bytes.len() < 8 || bytes[0] != 1 {
            return None;
        }
        let count = bytes[1] as usize;
        if count > 15 || bytes.len() != 8 + 4 * count {
            return None;
        }
        let mut auth = [0u8; 8];
        auth[2..].copy_from_slice(&bytes[2..8]);
        let mut sub = [0u32; 15];
        for (s, c) in sub.iter_mut().zip(bytes[8..].chunks_exact(4)) {
            *s = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Some(Sid {
            authority: u64::from_be_bytes(auth),
            count: count as u8,
            sub,
        })
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * self.count as usize);
        out.push(1);
        out.push(self.count);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in self.sub_authorities() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// The identifier authority (5 = NT authority).
    pub fn authority(&self) -> u64 {
        self.authority
    }

    /// The sub-authorities.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub[..self.count as usize]
    }

    /// The last sub-authority, if there is one.
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities().last().copied()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.authority < (1 << 32) {
            write!(f, "S-1-{}", self.authority)?;
        } else {
            write!(f, "S-1-0x{:012X}", self.authority)?;
        }
        for s in self.sub_authorities() {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_rid() {
        let b = hex_bytes("010500000000000515000000dcf4dc3b833d2b46828ba6284f040000");
        let s = Sid::from_bytes(&b).unwrap();
        assert_eq!(
            s.to_string(),
            "S-1-5-21-1004336348-1177238915-682003330-1103"
        );
        assert_eq!(s.rid(), Some(1103));
        assert_eq!(s.to_bytes(), b);
        assert!(Sid::from_bytes(&b[..27]).is_none());
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
