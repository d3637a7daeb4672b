//! A bounds-checked little-endian NDR20 reader (C706 §14, NDR transfer syntax).
//!
//! Alignment is relative to byte 0 of the input (the stub start, which is 8-aligned in the PDU).
//! Every read checks the remaining length; every error carries the offset and the
//! [`Structure`] being read, which the caller sets with [`Reader::enter`].

use super::error::{DecodeError, DecodeErrorKind, Structure};

/// Cursor over an NDR20 stub.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    structure: Structure,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            structure: Structure::Header,
        }
    }

    /// Switches the structure named in errors; returns the previous one for [`Reader::leave`].
    pub(crate) fn enter(&mut self, s: Structure) -> Structure {
        std::mem::replace(&mut self.structure, s)
    }

    /// Restores the structure returned by [`Reader::enter`].
    pub(crate) fn leave(&mut self, previous: Structure) {
        self.structure = previous;
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An error at the current offset in the current structure.
    pub(crate) fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        self.err_at(self.pos, kind)
    }

    /// An error at `offset` in the current structure.
    pub(crate) fn err_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset,
            structure: self.structure,
            kind,
        }
    }

    /// Skips padding up to a multiple of `n` (a power of two).
    pub(crate) fn align(&mut self, n: usize) -> Result<(), DecodeError> {
        let pad = self.pos.wrapping_neg() & (n - 1);
        self.take(pad).map(|_| ())
    }

    /// `n` bytes (no alignment).
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(DecodeErrorKind::Truncated {
                needed: n,
                remaining: self.remaining(),
            }));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// `N` bytes as an array (no alignment).
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// An aligned `u32`.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.align(4)?;
        self.array().map(u32::from_le_bytes)
    }

    /// An aligned `i64` (USN, DSTIME, LONGLONG).
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        self.align(8)?;
        self.array().map(i64::from_le_bytes)
    }

    /// A GUID (16 bytes, alignment 4).
    pub(crate) fn guid(&mut self) -> Result<[u8; 16], DecodeError> {
        self.align(4)?;
        self.array()
    }

    /// A conformant array's MaxCount (aligned 4), checked against the structure's own count
    /// field and against the bytes left (`elem_size` bytes per element at least).
    pub(crate) fn max_count(
        &mut self,
        expected: u32,
        elem_size: usize,
    ) -> Result<u32, DecodeError> {
        self.align(4)?;
        let at = self.pos;
        let mc = self.u32()?;
        self.expect_count(at, mc, expected)?;
        self.check_count(at, mc, elem_size)?;
        Ok(mc)
    }

    /// Fails with `CountMismatch` at `at` unless a conformant array's `max_count` equals the
    /// count the structure itself declares (C706 §14.3.3.2, conformant arrays).
    pub(crate) fn expect_count(
        &self,
        at: usize,
        max_count: u32,
        expected: u32,
    ) -> Result<(), DecodeError> {
        if max_count == expected {
            Ok(())
        } else {
            Err(self.err_at(
                at,
                DecodeErrorKind::CountMismatch {
                    max_count,
                    expected,
                },
            ))
        }
    }

    /// Fails unless `count` elements of at least `elem_size` bytes can still follow; the
    /// guard that keeps allocations proportional to the input.
    pub(crate) fn check_count(
        &self,
        at: usize,
        count: u32,
        elem_size: usize,
    ) -> Result<(), DecodeError> {
        let need = (count as u64).saturating_mul(elem_size.max(1) as u64);
        if need > self.remaining() as u64 {
            return Err(self.err_at(
                at,
                DecodeErrorKind::CountTooLarge {
                    count: count.into(),
                    remaining: self.remaining(),
                },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_is_relative_to_byte_zero() {
        let buf = [1u8, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        let mut r = Reader::new(&buf);
        assert_eq!(r.take(1).unwrap(), &[1]);
        assert_eq!(r.u32().unwrap(), 2);
        assert_eq!(r.i64().unwrap(), 3);
        assert!(r.u32().is_err());
    }

    #[test]
    fn count_guard() {
        let buf = [0xffu8, 0xff, 0xff, 0x0f, 0, 0, 0, 0];
        let mut r = Reader::new(&buf);
        r.enter(Structure::AttrValBlock);
        let e = r.max_count(0x0fff_ffff, 8).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at byte 0 in ATTRVALBLOCK: count 268435455 exceeds remaining 4 bytes"
        );
    }
}
