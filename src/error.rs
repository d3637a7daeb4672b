//! [`Error`]: the per-part error enums joined at the crate root (errors are enums per part, see
//! [`crate::manual`]), for
//! callers who want one error type across parsing, decoding, decryption and sources.

use crate::ParseError;
use crate::drs::{DecodeError, DecryptError, SessionKeyParseError};

/// Any error phsync returns. Each variant wraps one part's own error, which names what was
/// wrong and where (field, byte offset, structure); none of them carries secret bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An NT hash or cloud-verifier string was malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A session key given as hex was malformed.
    #[error(transparent)]
    SessionKey(#[from] SessionKeyParseError),
    /// A GetNCChanges reply could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A replicated object's secrets could not be decrypted.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// An LDAP source failed.
    #[cfg(feature = "ldap")]
    #[error(transparent)]
    Ldap(#[from] crate::ldap::LdapSourceError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_transparently() {
        let e: Error = crate::NtHash::from_hex("xyz").unwrap_err().into();
        assert_eq!(
            e.to_string(),
            "nt_hash: expected 32 hex digits, found 3 characters"
        );
        let e: Error = crate::drs::Reply::decode(&[1, 2, 3]).unwrap_err().into();
        assert!(matches!(e, Error::Decode(_)));
        assert!(e.to_string().contains("byte"), "{e}");
    }
}
