//! Fixed-size hexadecimal decoding and encoding, with errors that name the field and position.
//!
//! Kept in-crate (rather than using the `hex` crate) because every caller needs a fixed length,
//! a [`ParseError`] naming the field, and error messages that never echo the input (an NT hash in
//! hex is a secret).

use crate::parse_error::{Field, ParseError};

// Encoding and decoding are branch-free and table-free in the digit values (the `base16ct`
// technique): the bytes are NT hashes, and the uppercase hex of the NT hash is the PBKDF2
// password of every verifier, so no secret-dependent branch or memory index is taken.

/// One nibble (0..=15) → its hex digit; `alpha` = `b'a'` or `b'A'`. Constant time.
#[inline]
fn digit(n: u8, alpha: u8) -> u8 {
    let n = i16::from(n & 0x0f);
    // (9 - n) >> 8 is all ones exactly when n > 9.
    let r = n + i16::from(b'0') + (((9 - n) >> 8) & (i16::from(alpha) - i16::from(b'0') - 10));
    r as u8
}

/// One hex digit (any case) → its value (0..=15), or `0xffff` if `c` is not a hex digit.
/// Constant time.
#[inline]
fn nibble(c: u8) -> u16 {
    let c = i16::from(c);
    let mut r: i16 = -1;
    r += (((0x2f - c) & (c - 0x3a)) >> 8) & (c - 47); // '0'..='9'
    r += (((0x40 - c) & (c - 0x47)) >> 8) & (c - 54); // 'A'..='F'
    r += (((0x60 - c) & (c - 0x67)) >> 8) & (c - 86); // 'a'..='f'
    r as u16
}

/// Decodes `text` — exactly `2 * out.len()` hex digits, any case, checked by the caller — into
/// `out`: the one hex decoder for secrets (NT hashes, session keys, supplementalCredentials
/// property values). Every digit is decoded, with no branch or memory index on its value (no
/// early exit on the first bad one); on error `out` is wiped and the byte offset of the first
/// non-hex character returned (where it is depends only on which characters are not hex
/// digits, which the caller reports anyway).
pub(crate) fn decode_into(text: &[u8], out: &mut [u8]) -> Result<(), usize> {
    debug_assert_eq!(
        text.len(),
        2 * out.len(),
        "decode_into: caller checks the length"
    );
    let mut bad = 0u16;
    for (o, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (nibble(pair[0]), nibble(pair[1]));
        bad |= (hi | lo) & 0xff00;
        *o = ((hi << 4) | (lo & 0x0f)) as u8;
    }
    if bad != 0 {
        zeroize::Zeroize::zeroize(out);
        let position = text
            .iter()
            .position(|&c| nibble(c) > 0x0f)
            .expect("a bad digit exists");
        return Err(position);
    }
    Ok(())
}

/// Decodes exactly `2 * N` hex digits (any case) into `N` bytes with [`decode_into`].
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
    decode_into(bytes, &mut out).map_err(|position| ParseError::InvalidHex { field, position })?;
    Ok(out)
}

/// The two lowercase hex digits of `b`.
pub(crate) fn lower_pair(b: u8) -> [u8; 2] {
    [digit(b >> 4, b'a'), digit(b, b'a')]
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn push_lower(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(digit(b >> 4, b'a') as char);
        out.push(digit(b, b'a') as char);
    }
}

/// Lowercase hex of `bytes` as a new `String`.
pub(crate) fn lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_lower(&mut s, bytes);
    s
}

/// Writes UTF-16LE of the UPPERCASE hex of the 16 bytes into the 64-byte buffer
/// (the PBKDF2 password of the cloud verifier; Microsoft Learn, "Implement password hash
/// synchronization with Microsoft Entra Connect Sync").
pub(crate) fn utf16le_upper_hex(bytes: &[u8; 16], out: &mut [u8; 64]) {
    for (i, &b) in bytes.iter().enumerate() {
        out[4 * i] = digit(b >> 4, b'A');
        out[4 * i + 1] = 0;
        out[4 * i + 2] = digit(b, b'A');
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
    fn branch_free_digits_match_the_reference_for_every_byte() {
        for c in 0..=255u8 {
            let want = (c as char).to_digit(16).map(|d| d as u16);
            assert_eq!(nibble(c), want.unwrap_or(0xffff), "{c:#x}");
        }
        for n in 0..16u8 {
            assert_eq!(digit(n, b'a'), b"0123456789abcdef"[usize::from(n)]);
            assert_eq!(digit(n, b'A'), b"0123456789ABCDEF"[usize::from(n)]);
        }
        for b in 0..=255u8 {
            let s = lower(&[b]);
            assert_eq!(s, format!("{b:02x}"));
            assert_eq!(decode_fixed::<1>(Field::Salt, &s), Ok([b]));
            assert_eq!(decode_fixed::<1>(Field::Salt, &s.to_uppercase()), Ok([b]));
        }
        // Every invalid character in either position, first one reported.
        for c in (0..=127u8).filter(|c| !c.is_ascii_hexdigit()) {
            let t = format!("a{}", c as char);
            assert_eq!(
                decode_fixed::<1>(Field::Salt, &t),
                Err(ParseError::InvalidHex {
                    field: Field::Salt,
                    position: 1
                })
            );
            let t = format!("{}{}", c as char, c as char);
            assert_eq!(
                decode_fixed::<1>(Field::Salt, &t),
                Err(ParseError::InvalidHex {
                    field: Field::Salt,
                    position: 0
                })
            );
        }
    }

    #[test]
    fn utf16_upper() {
        let mut out = [0u8; 64];
        utf16le_upper_hex(&[0xab; 16], &mut out);
        assert_eq!(&out[..8], b"A\0B\0A\0B\0");
    }
}
