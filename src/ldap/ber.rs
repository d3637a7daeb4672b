//! A minimal BER reader and writer for the few control values this module needs (DirSync,
//! Paged Results): `SEQUENCE`, `INTEGER` and `OCTET STRING`, definite lengths only.
//!
//! The reader never panics: every malformed input becomes a [`BerError`] naming the byte
//! offset and what was expected there (ldap3's own control parsers `panic!` on bad BER,
//! RFC 4511 §5.1 (BER as LDAP restricts it, X.690 §8).

use std::fmt;

/// Universal tag `INTEGER`.
pub(crate) const TAG_INTEGER: u8 = 0x02;
/// Universal tag `OCTET STRING`.
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
/// Universal constructed tag `SEQUENCE`.
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// Why a BER control value was rejected, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BerError {
    /// The input ended inside an element.
    #[error("BER: input ends at byte {offset} inside {what}")]
    Truncated {
        /// Offset at which more bytes were needed.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A different tag was found than the structure requires.
    #[error("BER: expected tag 0x{expected:02x} ({what}) at byte {offset}, found 0x{found:02x}")]
    UnexpectedTag {
        /// Offset of the tag byte.
        offset: usize,
        /// The tag required there.
        expected: u8,
        /// The tag found.
        found: u8,
        /// What was being read.
        what: &'static str,
    },
    /// A length form this reader does not accept (indefinite, or longer than 4 bytes).
    #[error("BER: unsupported length encoding at byte {offset}")]
    BadLength {
        /// Offset of the length octet.
        offset: usize,
    },
    /// An INTEGER that is empty or does not fit in 32 bits.
    #[error("BER: INTEGER at byte {offset} has {len} content bytes, expected 1 to 4")]
    BadInteger {
        /// Offset of the INTEGER's tag.
        offset: usize,
        /// Its content length.
        len: usize,
    },
    /// Bytes follow the end of an element that should be the last one.
    #[error("BER: {extra} unexpected bytes after {what} at byte {offset}")]
    TrailingData {
        /// Offset of the first extra byte.
        offset: usize,
        /// Number of extra bytes.
        extra: usize,
        /// What was complete at that point.
        what: &'static str,
    },
}

/// A cursor over BER bytes; offsets in errors are relative to the slice it started with.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reader({}..{})", self.pos, self.end)
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, BerError> {
        if self.pos >= self.end {
            return Err(BerError::Truncated {
                offset: self.pos,
                what,
            });
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Reads a tag and a definite length; returns the content's range.
    fn header(&mut self, tag: u8, what: &'static str) -> Result<(usize, usize), BerError> {
        let at = self.pos;
        let found = self.byte(what)?;
        if found != tag {
            return Err(BerError::UnexpectedTag {
                offset: at,
                expected: tag,
                found,
                what,
            });
        }
        let len_at = self.pos;
        let first = self.byte(what)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(BerError::BadLength { offset: len_at });
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(self.byte(what)?);
            }
            len
        };
        let start = self.pos;
        if len > self.end - start {
            return Err(BerError::Truncated {
                offset: self.end,
                what,
            });
        }
        self.pos = start + len;
        Ok((at, start))
    }

    /// Enters a SEQUENCE: returns a reader over its content; `self` moves past it.
    pub(crate) fn sequence(&mut self, what: &'static str) -> Result<Reader<'a>, BerError> {
        let (_, start) = self.header(TAG_SEQUENCE, what)?;
        Ok(Reader {
            buf: self.buf,
            pos: start,
            end: self.pos,
        })
    }

    /// Reads an INTEGER of 1 to 4 content bytes as a two's-complement `i32`.
    pub(crate) fn integer(&mut self, what: &'static str) -> Result<i32, BerError> {
        let (at, start) = self.header(TAG_INTEGER, what)?;
        let len = self.pos - start;
        if len == 0 || len > 4 {
            // Allow a 5-byte positive encoding of a value that fits u32 only when its first
            // byte is a 0x00 sign pad; map it to the same bit pattern as i32.
            if len == 5 && self.buf[start] == 0 {
                let mut v: u32 = 0;
                for &b in &self.buf[start + 1..self.pos] {
                    v = (v << 8) | u32::from(b);
                }
                return Ok(v as i32);
            }
            return Err(BerError::BadInteger { offset: at, len });
        }
        let bytes = &self.buf[start..self.pos];
        let mut v: i32 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
        for &b in bytes {
            v = (v << 8) | i32::from(b);
        }
        Ok(v)
    }

    /// Reads an OCTET STRING.
    pub(crate) fn octet_string(&mut self, what: &'static str) -> Result<&'a [u8], BerError> {
        let (_, start) = self.header(TAG_OCTET_STRING, what)?;
        Ok(&self.buf[start..self.pos])
    }

    /// Whether content remains.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), BerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(BerError::TrailingData {
                offset: self.pos,
                extra: self.end - self.pos,
                what,
            })
        }
    }
}

/// Appends a definite length.
fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends an INTEGER in its minimal two's-complement form (so `0x80000000` as an `i32` is
/// the four bytes `80 00 00 00`, as Active Directory requires for DirSync's flags).
pub(crate) fn write_integer(out: &mut Vec<u8>, v: i32) {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 3 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    out.push(TAG_INTEGER);
    write_len(out, 4 - start);
    out.extend_from_slice(&bytes[start..]);
}

/// Appends an OCTET STRING.
pub(crate) fn write_octet_string(out: &mut Vec<u8>, v: &[u8]) {
    out.push(TAG_OCTET_STRING);
    write_len(out, v.len());
    out.extend_from_slice(v);
}

/// Wraps already-encoded content in a SEQUENCE.
pub(crate) fn sequence(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(TAG_SEQUENCE);
    write_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_bytes(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        write_integer(&mut out, v);
        out
    }

    #[test]
    fn integers_are_minimal_twos_complement() {
        assert_eq!(int_bytes(0), [2, 1, 0]);
        assert_eq!(int_bytes(127), [2, 1, 0x7f]);
        assert_eq!(int_bytes(128), [2, 2, 0, 0x80]);
        assert_eq!(int_bytes(-1), [2, 1, 0xff]);
        assert_eq!(int_bytes(-129), [2, 2, 0xff, 0x7f]);
        assert_eq!(
            int_bytes(0x8000_0000u32 as i32),
            [2, 4, 0x80, 0, 0, 0],
            "AD wants 0x80000000 as 4 bytes"
        );
        for v in [0, 1, -1, 127, 128, -128, -129, 65_535, i32::MAX, i32::MIN] {
            let bytes = int_bytes(v);
            assert_eq!(Reader::new(&bytes).integer("x"), Ok(v));
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        let payload = vec![7u8; 300];
        let mut content = Vec::new();
        write_octet_string(&mut content, &payload);
        assert_eq!(&content[..4], [4, 0x82, 0x01, 0x2c]);
        let seq = sequence(&content);
        let mut r = Reader::new(&seq);
        let mut s = r.sequence("seq").unwrap();
        assert_eq!(s.octet_string("os").unwrap(), &payload[..]);
        s.finish("seq").unwrap();
        r.finish("all").unwrap();
    }

    #[test]
    fn hostile_lengths_are_errors() {
        // Length claims more bytes than exist.
        assert_eq!(
            Reader::new(&[0x30, 0x05, 0x02]).sequence("s").unwrap_err(),
            BerError::Truncated {
                offset: 3,
                what: "s"
            }
        );
        // Indefinite length.
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).sequence("s").unwrap_err(),
            BerError::BadLength { offset: 1 }
        );
        // Length of length too big.
        assert!(matches!(
            Reader::new(&[0x04, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]).octet_string("o"),
            Err(BerError::BadLength { offset: 1 })
        ));
        // 4-byte length near usize overflow.
        assert!(matches!(
            Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).octet_string("o"),
            Err(BerError::Truncated { .. })
        ));
        // Empty and oversized integers.
        assert_eq!(
            Reader::new(&[0x02, 0x00]).integer("i").unwrap_err(),
            BerError::BadInteger { offset: 0, len: 0 }
        );
        assert!(matches!(
            Reader::new(&[0x02, 0x05, 1, 0, 0, 0, 0]).integer("i"),
            Err(BerError::BadInteger { len: 5, .. })
        ));
        assert_eq!(
            Reader::new(&[]).integer("i").unwrap_err(),
            BerError::Truncated {
                offset: 0,
                what: "i"
            }
        );
    }

    #[test]
    fn five_byte_positive_u32_is_accepted() {
        assert_eq!(
            Reader::new(&[2, 5, 0, 0x80, 0, 0, 0]).integer("i"),
            Ok(0x8000_0000u32 as i32)
        );
    }
}
