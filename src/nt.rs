//! The NT hash (MS-NLMP §3.3.1 `NTOWFv1`, MD4 per RFC 1320): MD4 over the UTF-16LE password.

use std::fmt;

use md4::{Digest, Md4};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hex;
use crate::parse_error::{Field, ParseError};

/// The 16-byte NT hash (`NTOWFv1`): `MD4(UTF-16LE(password))`.
///
/// Password-equivalent: anyone holding it can authenticate with NTLM. It is therefore
/// zeroized on drop, compared in constant time, printed as `NtHash(<redacted>)` by `Debug`,
/// and implements neither `Display` nor `Serialize`. Use [`NtHash::as_bytes`] when the bytes
/// themselves are needed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NtHash([u8; 16]);

impl NtHash {
    /// The NT hash of the empty password, `31d6cfe0d16ae931b73c59d7e0c089c0`.
    ///
    /// Active Directory stores this for accounts whose password was set to the empty string;
    /// it is a real password, not the absence of one (see [`crate::drs::HashState`]).
    pub const EMPTY_PASSWORD: [u8; 16] = [
        0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31, 0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89,
        0xc0,
    ];

    /// `MD4(UTF-16LE(password))`. Characters outside the BMP become surrogate pairs, as in
    /// Windows (MS-NLMP §3.3.1). The UTF-16 buffer is zeroized after hashing.
    pub fn from_password(password: &str) -> NtHash {
        let mut utf16 = Zeroizing::new(Vec::with_capacity(password.len() * 2));
        let mut units = [0u16; 2];
        for c in password.chars() {
            for unit in c.encode_utf16(&mut units).iter() {
                utf16.extend_from_slice(&unit.to_le_bytes());
            }
        }
        units.zeroize();
        Self::from_utf16le_bytes(&utf16)
    }

    /// `MD4` over UTF-16 code units as given, which may include unpaired surrogates (a
    /// Windows password is a sequence of UTF-16 code units, not necessarily valid Unicode;
    /// `Primary:CLEARTEXT` carries it that way).
    pub fn from_utf16(units: &[u16]) -> NtHash {
        let mut bytes = Zeroizing::new(Vec::with_capacity(units.len() * 2));
        for unit in units {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        Self::from_utf16le_bytes(&bytes)
    }

    /// `MD4` over an already UTF-16LE encoded password.
    pub fn from_utf16le_bytes(bytes: &[u8]) -> NtHash {
        let mut md4 = Md4::new();
        md4.update(bytes);
        let mut digest = md4.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest);
        digest.zeroize();
        NtHash(out)
    }

    /// Wraps 16 raw bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> NtHash {
        NtHash(bytes)
    }

    /// Parses exactly 32 hex digits, in any case.
    ///
    /// # Errors
    /// [`ParseError::Length`] or [`ParseError::InvalidHex`] with [`Field::NtHash`]; the
    /// message never contains the input.
    pub fn from_hex(hex: &str) -> Result<NtHash, ParseError> {
        hex::decode_fixed::<16>(Field::NtHash, hex).map(NtHash)
    }

    /// The 16 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether this is the hash of the empty password (constant time).
    pub fn is_empty_password(&self) -> bool {
        self.0.ct_eq(&Self::EMPTY_PASSWORD).into()
    }

    /// Lowercase hex, as most tools print NT hashes. The returned string is zeroized on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::lower(&self.0))
    }

    /// The PBKDF2 password of the cloud verifier: UTF-16LE of the 32 **uppercase** hex digits
    /// (64 bytes; Microsoft Learn, "Implement password hash synchronization with Microsoft Entra
    /// Connect Sync"). Zeroized on drop.
    pub(crate) fn pph1_password(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        hex::utf16le_upper_hex(&self.0, &mut out);
        out
    }
}

impl PartialEq for NtHash {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for NtHash {}

impl ConstantTimeEq for NtHash {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for NtHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NtHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_password_constant() {
        assert!(NtHash::from_password("").is_empty_password());
        assert!(!NtHash::from_password("x").is_empty_password());
    }

    #[test]
    fn utf16_paths_agree() {
        let pw = "😀😀𝄞>1pG";
        let units: Vec<u16> = pw.encode_utf16().collect();
        assert_eq!(NtHash::from_password(pw), NtHash::from_utf16(&units));
    }

    #[test]
    fn pph1_password_is_uppercase_utf16() {
        let nt = NtHash::from_hex("92937945b518814341de3f726500d4ff").unwrap();
        let pw = nt.pph1_password();
        let expected: Vec<u8> = "92937945B518814341DE3F726500D4FF"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(&pw[..], &expected[..]);
    }
}
