//! A little-endian NDR20 writer (C706 §14, NDR transfer syntax), the encoding side of
//! [`super::ndr::Reader`].
//!
//! Alignment is relative to byte 0 of the output, the stub start (which the PDU keeps 8-aligned,
//! C706 §12.6.4.9); padding bytes are zero. Unique and full pointers are written as referent IDs
//! `0x00020000, 0x00020004, …` in the order they are written (C706 §14.3.10 leaves the values
//! to the sender; these are the ones MIDL-generated stubs use).

use crate::ad::guid::Guid;

/// The first referent ID [`Writer::pointer`] hands out.
const FIRST_REFERENT: u32 = 0x0002_0000;

/// An NDR20 stub being built.
pub(crate) struct Writer {
    buf: Vec<u8>,
    next_referent: u32,
    /// Where padding went (start, length): tests compare against stubs from other encoders,
    /// whose padding bytes are unspecified.
    #[cfg(test)]
    pub(crate) pads: Vec<(usize, usize)>,
    /// Offsets of the referent IDs written.
    #[cfg(test)]
    pub(crate) referents: Vec<usize>,
}

impl Writer {
    pub(crate) fn new() -> Writer {
        Writer {
            buf: Vec::new(),
            next_referent: FIRST_REFERENT,
            #[cfg(test)]
            pads: Vec::new(),
            #[cfg(test)]
            referents: Vec::new(),
        }
    }

    /// Zero padding up to a multiple of `n` (a power of two).
    pub(crate) fn align(&mut self, n: usize) {
        let pad = self.buf.len().wrapping_neg() & (n - 1);
        #[cfg(test)]
        if pad > 0 {
            self.pads.push((self.buf.len(), pad));
        }
        self.buf.resize(self.buf.len() + pad, 0);
    }

    /// Raw bytes, no alignment (an array of `byte`, or the body of a fixed structure).
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// An aligned `u16`.
    pub(crate) fn u16(&mut self, v: u16) {
        self.align(2);
        self.bytes(&v.to_le_bytes());
    }

    /// An aligned `u32`.
    pub(crate) fn u32(&mut self, v: u32) {
        self.align(4);
        self.bytes(&v.to_le_bytes());
    }

    /// An aligned `u64` (`ULARGE_INTEGER`, `hyper`).
    pub(crate) fn u64(&mut self, v: u64) {
        self.align(8);
        self.bytes(&v.to_le_bytes());
    }

    /// An aligned `i64` (USN, `LONGLONG`).
    pub(crate) fn i64(&mut self, v: i64) {
        self.align(8);
        self.bytes(&v.to_le_bytes());
    }

    /// A GUID: `Data1` u32, `Data2`, `Data3` u16, `Data4` bytes — alignment 4; [`Guid`] already
    /// holds this wire layout.
    pub(crate) fn guid(&mut self, g: &Guid) {
        self.align(4);
        self.bytes(g.as_bytes());
    }

    /// A unique or embedded pointer: a fresh referent ID if `present`, else 0 (null).
    /// The pointee goes wherever NDR defers it to (C706 §14.3.12.3); the caller writes it.
    pub(crate) fn pointer(&mut self, present: bool) {
        if present {
            let id = self.next_referent;
            self.next_referent = self.next_referent.wrapping_add(4);
            self.referent(id);
        } else {
            self.u32(0);
        }
    }

    /// A referent ID of the caller's choosing (full pointers whose values a peer expects).
    pub(crate) fn referent(&mut self, id: u32) {
        self.align(4);
        #[cfg(test)]
        self.referents.push(self.buf.len());
        self.bytes(&id.to_le_bytes());
    }

    /// A conformant array's MaxCount (C706 §14.3.3.2); for a conformant structure it goes
    /// before the structure's first member.
    pub(crate) fn max_count(&mut self, n: u32) {
        self.u32(n);
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Test helpers: stubs from other encoders, compared with padding and referent IDs normalised.
#[cfg(test)]
pub(crate) mod testing {
    use super::Writer;

    /// impacket's request stubs (`tools/vectors/gen_drsuapi_vectors.py`).
    pub(crate) const REQUESTS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/dc_ndr.txt"
    ));
    /// Samba's reply stubs (`tools/vectors/capture_dc_replies.py`).
    pub(crate) const REPLIES: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/dc_replies.txt"
    ));

    /// The bytes of `name = hex` in a vector file (`#` lines are comments).
    pub(crate) fn vector(file: &str, name: &str) -> Vec<u8> {
        let hex = file
            .lines()
            .filter_map(|l| l.split_once(" = "))
            .find(|(n, _)| n.trim() == name)
            .unwrap_or_else(|| panic!("no vector {name}"))
            .1
            .trim();
        assert!(hex.len() % 2 == 0, "{name}: odd hex");
        let mut out = vec![0u8; hex.len() / 2];
        crate::hex::decode_into(hex.as_bytes(), &mut out).expect("hex");
        out
    }

    /// Bytes impacket (tools/vectors/gen_drsuapi_vectors.py) fills alignment padding with.
    const PAD_MARKERS: &[u8] = &[
        0x00, 0xaa, 0xab, 0xbb, 0xbc, 0xbf, 0xca, 0xcb, 0xcc, 0xdd, 0xee, 0xef,
    ];

    /// Asserts that `w`'s stub equals `theirs` except where `w` wrote padding (where `theirs`
    /// must hold a padding marker too) and referent IDs (non-zero on both sides).
    pub(crate) fn assert_same_stub(name: &str, w: Writer, theirs: &[u8]) {
        let (pads, referents) = (w.pads.clone(), w.referents.clone());
        let ours = w.into_bytes();
        assert_eq!(ours.len(), theirs.len(), "{name}: length");
        let mut skip = vec![false; ours.len()];
        for (at, n) in pads {
            for i in at..at + n {
                assert!(
                    PAD_MARKERS.contains(&theirs[i]),
                    "{name}: byte {i} is padding here, {:#04x} there",
                    theirs[i]
                );
                skip[i] = true;
            }
        }
        for at in referents {
            let id = |b: &[u8]| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            assert!(
                id(&ours) != 0 && id(theirs) != 0,
                "{name}: referent at {at}"
            );
            skip[at..at + 4].fill(true);
        }
        for i in 0..ours.len() {
            assert!(
                skip[i] || ours[i] == theirs[i],
                "{name}: byte {i}: {:#04x} here, {:#04x} there\nours   {}\ntheirs {}",
                ours[i],
                theirs[i],
                crate::hex::lower(&ours),
                crate::hex::lower(theirs)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drs::ndr::Reader;

    #[test]
    fn alignment_and_referents() {
        let mut w = Writer::new();
        w.bytes(&[1]);
        w.u16(2);
        w.u32(3);
        w.bytes(&[4]);
        w.i64(-5);
        w.pointer(true);
        w.pointer(false);
        w.pointer(true);
        w.u64(6);
        assert_eq!(w.pads, vec![(1, 1), (9, 7), (36, 4)]);
        assert_eq!(w.referents, vec![24, 32]); // null pointers are no referents
        let b = w.into_bytes();
        assert_eq!(b.len(), 48);
        assert_eq!(&b[..4], &[1, 0, 2, 0]);
        let mut r = Reader::new(&b);
        r.take(4).unwrap();
        assert_eq!(r.u32().unwrap(), 3);
        r.take(1).unwrap();
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.u32().unwrap(), 0x0002_0000);
        assert_eq!(r.u32().unwrap(), 0);
        assert_eq!(r.u32().unwrap(), 0x0002_0004);
        assert_eq!(r.i64().unwrap(), 6);
        assert_eq!(r.remaining(), 0);
    }
}
