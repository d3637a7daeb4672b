//! Errors of the hashes part: parsing NT hashes and cloud-verifier strings.
//!
//! Messages name the field and the position but never echo the input: an NT hash in hex is
//! password-equivalent, and a verifier string may be pasted from a credential store.

use std::fmt;

/// Which part of a textual input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A hex-encoded NT hash (`NtHash::from_hex`).
    NtHash,
    /// The `v1;PPH1_MD4,` prefix of a verifier string.
    Prefix,
    /// The salt field of a verifier string (20 hex digits).
    Salt,
    /// The iteration-count field of a verifier string.
    Iterations,
    /// The derived-key field of a verifier string (64 hex digits).
    Hash,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::NtHash => "nt_hash",
            Field::Prefix => "prefix",
            Field::Salt => "salt",
            Field::Iterations => "iterations",
            Field::Hash => "hash",
        })
    }
}

/// Why a textual NT hash or cloud verifier was rejected (the
/// `v1;PPH1_MD4,<salt>,<iterations>,<hash>;` format, as hashcat mode 12800 reads it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A hex field has the wrong number of characters.
    #[error("{field}: expected {expected} hex digits, found {found} characters")]
    Length {
        /// The field.
        field: Field,
        /// Required number of hex digits.
        expected: usize,
        /// Number of characters found.
        found: usize,
    },
    /// A hex field holds a byte that is not `0-9a-fA-F`.
    #[error("{field}: not a hex digit at byte {position}")]
    InvalidHex {
        /// The field.
        field: Field,
        /// Byte offset of the offending character within the field.
        position: usize,
    },
    /// The string does not start with `v1;PPH1_MD4,`.
    #[error("prefix: expected `v1;PPH1_MD4,`")]
    Prefix,
    /// The iteration count is not a decimal number.
    #[error("iterations: expected decimal digits only, found a non-digit at byte {position}")]
    IterationsNotDecimal {
        /// Byte offset within the field (0 for an empty field).
        position: usize,
    },
    /// The iteration count is zero.
    #[error("iterations: must be at least 1")]
    IterationsZero,
    /// The iteration count has leading zeros (`01000`): not the canonical form, which would
    /// re-format differently.
    #[error("iterations: leading zero")]
    IterationsLeadingZero,
    /// The iteration count does not fit a `u32`.
    #[error("iterations: larger than 4294967295")]
    IterationsTooLarge,
    /// The iteration count exceeds the parse limit ([`crate::Iterations::MAX_PARSED`] unless
    /// the caller chose another with [`crate::CloudVerifier::parse_with_max_iterations`]).
    #[error("iterations: {found} is above the parse limit {limit}")]
    IterationsAboveLimit {
        /// The count in the string.
        found: u32,
        /// The limit in force.
        limit: u32,
    },
    /// The fields after the prefix are not exactly `salt,iterations,hash`.
    #[error("{found} comma-separated fields after the prefix, expected 3 (salt,iterations,hash)")]
    FieldCount {
        /// Number of fields found.
        found: usize,
    },
    /// Something follows the closing `;`.
    #[error("unexpected text after the closing `;` at byte {position}")]
    TrailingData {
        /// Byte offset in the whole string.
        position: usize,
    },
}
