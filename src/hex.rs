//! Fixed-size hexadecimal decoding and encoding, with errors that name the field and position.
//!
//! Kept in-crate (rather than using the `hex` crate) because every caller needs a fixed length,
//! a [`ParseError`] naming the field, and error messages that never echo the input (an NT hash in
//! hex is a secret).

use crate::error::{Field, ParseError};

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `2 * N` hex digits (any case) into `N` bytes.
pub(crate) fn decode_fixed<const N: usize>(
    field: Field,
    text: &str,
) -> Result<[u8; N], ParseError> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return Err(ParseError::Length {
            field,
            expected: 2 * N,
            found: text.chars().count(),
        });
    }
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = nibble(pair[0]).ok_or(ParseError::InvalidHex {
            field,
            position: 2 * i,
        })?;
        let lo = nibble(pair[1]).ok_or(ParseError::InvalidHex {
            field,
            position: 2 * i + 1,
        })?;
        out[i] = (hi << 4) | lo;
    }
    Ok(out)
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn push_lower(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(LOWER[usize::from(b >> 4)] as char);
        out.push(LOWER[usize::from(b & 0x0f)] as char);
    }
}

/// Lowercase hex of `bytes` as a new `String`.
pub(crate) fn lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_lower(&mut s, bytes);
    s
}

/// Writes UTF-16LE of the UPPERCASE hex of the 16 bytes into the 64-byte buffer
/// (the PBKDF2 password of the cloud verifier, `drs.md` §6.1).
pub(crate) fn utf16le_upper_hex(bytes: &[u8; 16], out: &mut [u8; 64]) {
    for (i, &b) in bytes.iter().enumerate() {
        out[4 * i] = UPPER[usize::from(b >> 4)];
        out[4 * i + 1] = 0;
        out[4 * i + 2] = UPPER[usize::from(b & 0x0f)];
        out[4 * i + 3] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_reports_length_in_characters_and_position() {
        assert_eq!(
            decode_fixed::<2>(Field::Salt, "abc"),
            Err(ParseError::Length {
                field: Field::Salt,
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            decode_fixed::<2>(Field::Salt, "ab0g"),
            Err(ParseError::InvalidHex {
                field: Field::Salt,
                position: 3
            })
        );
        assert_eq!(decode_fixed::<2>(Field::Salt, "aBcD"), Ok([0xab, 0xcd]));
    }

    #[test]
    fn utf16_upper() {
        let mut out = [0u8; 64];
        utf16le_upper_hex(&[0xab; 16], &mut out);
        assert_eq!(&out[..8], b"A\0B\0A\0B\0");
    }
}
