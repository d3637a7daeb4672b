//! ATTRTYP ↔ OID through a prefix table (MS-DRSR §5.16.4), on bytes.
//!
//! A reply's ATTRTYPs are relative to its own `PrefixTableSrc`. The table built from it never
//! falls back to the default one: an ATTRTYP whose index is missing is an error. The schemaInfo
//! pseudo-entry (first byte `0xFF`, `ndx` 0) is skipped. ATTRTYPs in the msDS-IntId range
//! (`0x80000000–0xBFFFFFFF`) are reported as [`AttrId::IntId`], never guessed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::attr::{Attr, class_name};

/// An attribute's identity after mapping its ATTRTYP (MS-DRSR §5.16.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttrId {
    /// A well-known attribute.
    Known(Attr),
    /// Any other attribute, by dotted OID.
    Oid(Arc<str>),
    /// An msDS-IntId value (`0x80000000–0xBFFFFFFF`): resolvable only through the schema.
    IntId(u32),
}

impl AttrId {
    /// The known attribute, if it is one.
    pub fn known(&self) -> Option<Attr> {
        match self {
            AttrId::Known(a) => Some(*a),
            _ => None,
        }
    }
}

impl fmt::Display for AttrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrId::Known(a) => f.write_str(a.ldap_name()),
            AttrId::Oid(o) => f.write_str(o),
            AttrId::IntId(i) => write!(f, "msDS-IntId {i:#010x}"),
        }
    }
}

/// Why an ATTRTYP or OID could not be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// The ATTRTYP's upper 16 bits name no entry of the table.
    #[error("ATTRTYP {0:#010x}: prefix index not in the table")]
    UnknownIndex(u32),
    /// The ATTRTYP is in the msDS-IntId range, which no prefix table maps.
    #[error("ATTRTYP {0:#010x} is an msDS-IntId")]
    IntId(u32),
    /// The ATTRTYP is in the reserved or internal range (`≥ 0xC0000000`).
    #[error("ATTRTYP {0:#010x} is in a reserved range")]
    Reserved(u32),
    /// The bytes do not form a valid BER OID.
    #[error("not a valid OID")]
    BadOid,
}

/// One entry: `ndx` and the BER bytes of an OID prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixEntry {
    /// The index (upper 16 bits of ATTRTYPs).
    pub ndx: u32,
    /// The prefix's BER contents octets (may end inside a sub-identifier).
    pub prefix: Vec<u8>,
}

/// A prefix table (`SCHEMA_PREFIX_TABLE`, MS-DRSR §5.180), without the schemaInfo entry.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PrefixTable {
    entries: Vec<PrefixEntry>,
    /// `ndx` → position in `entries`: building and looking up stay linear in the table's
    /// size (a hostile reply can carry tens of thousands of entries per megabyte).
    index: HashMap<u32, usize>,
    /// The schemaInfo pseudo-entry's 21 bytes, if the table carried one.
    schema_info: Option<Vec<u8>>,
    /// The schemaInfo entry's `ndx` and its position among the entries, for
    /// [`PrefixTable::wire_entries`].
    schema_info_at: (u32, usize),
}

impl fmt::Debug for PrefixTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefixTable")
            .field("entries", &self.entries)
            .field("schema_info", &self.schema_info)
            .finish()
    }
}

const BUILTIN: &[&[u8]] = &[
    b"\x55\x04",
    b"\x55\x06",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x02",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x03",
    b"\x60\x86\x48\x01\x65\x02\x02\x01",
    b"\x60\x86\x48\x01\x65\x02\x02\x03",
    b"\x60\x86\x48\x01\x65\x02\x01\x05",
    b"\x60\x86\x48\x01\x65\x02\x01\x04",
    b"\x55\x05",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x04",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x04\x82\x04",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05\x38",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x04\x82\x06",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05\x39",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x04\x82\x07",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05\x3a",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05\x49",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x04\x82\x31",
    b"\x09\x92\x26\x89\x93\xf2\x2c\x64",
    b"\x60\x86\x48\x01\x86\xf8\x42\x03",
    b"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01",
    b"\x60\x86\x48\x01\x86\xf8\x42\x03\x01",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x05\xb6\x58",
    b"\x55\x15",
    b"\x55\x12",
    b"\x55\x14",
    b"\x2b\x06\x01\x04\x01\x8b\x3a\x65\x77",
    b"\x60\x86\x48\x01\x86\xf8\x42\x03\x02",
    b"\x2b\x06\x01\x04\x01\x81\x7a\x01",
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x09",
    b"\x09\x92\x26\x89\x93\xf2\x2c\x64\x04",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x06\x17",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x06\x12\x01",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x06\x12\x02",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x06\x0d\x03",
    b"\x2a\x86\x48\x86\xf7\x14\x01\x06\x0d\x04",
    b"\x2b\x06\x01\x01\x01\x01",
    b"\x2b\x06\x01\x01\x01\x02",
];

impl PrefixTable {
    /// Builds a table from `(ndx, prefix bytes)` pairs. Entries whose bytes start with `0xFF`
    /// (the schemaInfo pseudo-entry, MS-DRSR §5.16.4) are kept aside, not mapped.
    pub fn from_entries<I, B>(entries: I) -> PrefixTable
    where
        I: IntoIterator<Item = (u32, B)>,
        B: Into<Vec<u8>>,
    {
        let mut t = PrefixTable::default();
        for (ndx, bytes) in entries {
            let prefix = bytes.into();
            if prefix.first() == Some(&0xff) {
                t.schema_info = Some(prefix);
                t.schema_info_at = (ndx, t.entries.len());
            } else if let std::collections::hash_map::Entry::Vacant(slot) = t.index.entry(ndx) {
                slot.insert(t.entries.len());
                t.entries.push(PrefixEntry { ndx, prefix });
            }
        }
        t
    }

    /// The built-in table, indices 0–38 (MS-DRSR §5.16.4). For tests and for building requests;
    /// replies are never mapped with it.
    pub fn builtin() -> PrefixTable {
        PrefixTable::from_entries(BUILTIN.iter().enumerate().map(|(i, b)| (i as u32, *b)))
    }

    /// The entries, in wire order, without the schemaInfo entry.
    pub fn entries(&self) -> &[PrefixEntry] {
        &self.entries
    }

    /// Every entry as `(ndx, prefix bytes)` in wire order, the schemaInfo pseudo-entry included
    /// where the table carried it: what a request sends back as `PrefixTableDest`
    /// (MS-DRSR §4.1.10.4.1; Samba refuses a partial attribute set whose table lacks the
    /// schemaInfo entry).
    pub fn wire_entries(&self) -> Vec<(u32, Vec<u8>)> {
        let mut out: Vec<(u32, Vec<u8>)> = Vec::with_capacity(self.entries.len() + 1);
        for (i, e) in self.entries.iter().enumerate() {
            if i == self.schema_info_at.1 {
                out.extend(self.schema_info_entry());
            }
            out.push((e.ndx, e.prefix.clone()));
        }
        if self.schema_info_at.1 >= self.entries.len() {
            out.extend(self.schema_info_entry());
        }
        out
    }

    fn schema_info_entry(&self) -> Option<(u32, Vec<u8>)> {
        self.schema_info
            .as_ref()
            .map(|s| (self.schema_info_at.0, s.clone()))
    }

    /// The schemaInfo pseudo-entry (`0xFF` ‖ revision ‖ invocation id), if present.
    pub fn schema_info(&self) -> Option<&[u8]> {
        self.schema_info.as_deref()
    }

    fn prefix(&self, ndx: u32) -> Option<&[u8]> {
        self.index
            .get(&ndx)
            .map(|&i| self.entries[i].prefix.as_slice())
    }

    /// The BER contents octets of the OID an ATTRTYP stands for (`OidFromAttid`, MS-DRSR §5.16.4).
    pub fn oid_bytes(&self, attrtyp: u32) -> Result<Vec<u8>, PrefixError> {
        check_range(attrtyp)?;
        let prefix = self
            .prefix(attrtyp >> 16)
            .ok_or(PrefixError::UnknownIndex(attrtyp))?;
        let mut lower = attrtyp & 0xffff;
        let mut bin = Vec::with_capacity(prefix.len() + 2);
        bin.extend_from_slice(prefix);
        if lower < 128 {
            bin.push(lower as u8);
        } else {
            if lower >= 32768 {
                lower -= 32768;
            }
            bin.push(0x80 | ((lower >> 7) & 0x7f) as u8);
            bin.push((lower & 0x7f) as u8);
        }
        Ok(bin)
    }

    /// The dotted OID an ATTRTYP stands for.
    pub fn oid(&self, attrtyp: u32) -> Result<String, PrefixError> {
        ber_to_oid(&self.oid_bytes(attrtyp)?).ok_or(PrefixError::BadOid)
    }

    /// Maps an ATTRTYP to an [`AttrId`]: msDS-IntIds are reported as such, others through the
    /// table.
    pub fn resolve(&self, attrtyp: u32) -> Result<AttrId, PrefixError> {
        match check_range(attrtyp) {
            Err(PrefixError::IntId(v)) => return Ok(AttrId::IntId(v)),
            Err(e) => return Err(e),
            Ok(()) => {}
        }
        let oid = self.oid(attrtyp)?;
        Ok(match Attr::from_oid(&oid) {
            Some(a) => AttrId::Known(a),
            None => AttrId::Oid(oid.into()),
        })
    }

    /// The ATTRTYP of an OID in this table (`MakeAttid`, MS-DRSR §5.16.4), without adding entries.
    pub fn attrtyp(&self, oid: &str) -> Result<u32, PrefixError> {
        let bin = oid_to_ber(oid).ok_or(PrefixError::BadOid)?;
        // The last sub-identifier as encoded: for a two-arc OID that is 40·a + b (or 80 + b),
        // not the last arc of the dotted string.
        let start = bin[..bin.len() - 1]
            .iter()
            .rposition(|b| b & 0x80 == 0)
            .map_or(0, |i| i + 1);
        let last: u64 = bin[start..]
            .iter()
            .fold(0, |v, b| (v << 7) | u64::from(b & 0x7f));
        let cut = if last < 128 { 1 } else { 2 };
        if bin.len() <= cut {
            return Err(PrefixError::BadOid);
        }
        let prefix = &bin[..bin.len() - cut];
        let ndx = self
            .entries
            .iter()
            // Only indices an ATTRTYP can carry (below the msDS-IntId range).
            .find(|e| e.prefix == prefix && e.ndx < 0x8000)
            .map(|e| e.ndx)
            .ok_or(PrefixError::UnknownIndex(0))?;
        let mut lower = (last % 16384) as u32;
        if last >= 16384 {
            lower += 32768;
        }
        Ok((ndx << 16) | lower)
    }
}

fn check_range(attrtyp: u32) -> Result<(), PrefixError> {
    match attrtyp {
        0x8000_0000..=0xbfff_ffff => Err(PrefixError::IntId(attrtyp)),
        0xc000_0000.. => Err(PrefixError::Reserved(attrtyp)),
        _ => Ok(()),
    }
}

/// A per-reply cache of ATTRTYP resolutions (a reply uses few distinct ATTRTYPs).
#[derive(Default)]
pub(crate) struct Resolver {
    cache: HashMap<u32, Result<AttrId, PrefixError>>,
    classes: HashMap<u32, Option<Arc<str>>>,
}

impl Resolver {
    pub(crate) fn resolve(
        &mut self,
        table: &PrefixTable,
        attrtyp: u32,
    ) -> Result<AttrId, PrefixError> {
        self.cache
            .entry(attrtyp)
            .or_insert_with(|| table.resolve(attrtyp))
            .clone()
    }

    /// An objectClass value (a class ATTRTYP) → lDAPDisplayName of a well-known class, else
    /// the dotted OID; `None` if it does not map.
    pub(crate) fn class(&mut self, table: &PrefixTable, attrtyp: u32) -> Option<Arc<str>> {
        self.classes
            .entry(attrtyp)
            .or_insert_with(|| {
                table.oid(attrtyp).ok().map(|oid| match class_name(&oid) {
                    Some(n) => Arc::from(n),
                    None => Arc::from(oid),
                })
            })
            .clone()
    }
}

/// BER contents octets → dotted OID. `None` if a sub-identifier is unterminated or overflows.
pub fn ber_to_oid(bin: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::with_capacity(bin.len() * 3);
    let mut v: u64 = 0;
    let mut first = true;
    let mut in_arc = false;
    for &b in bin {
        if v > (u64::MAX >> 7) {
            return None;
        }
        v = (v << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if first {
                let (a, b) = match v {
                    0..=39 => (0, v),
                    40..=79 => (1, v - 40),
                    _ => (2, v - 80),
                };
                let _ = write!(out, "{a}.{b}");
                first = false;
            } else {
                let _ = write!(out, ".{v}");
            }
            v = 0;
            in_arc = false;
        }
    }
    if in_arc || first {
        return None;
    }
    Some(out)
}

/// Dotted OID → BER contents octets.
pub fn oid_to_ber(oid: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = oid
        .split('.')
        .map(|s| s.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
        return None;
    }
    let mut out = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = [0u8; 10];
        let mut n = 0;
        loop {
            tmp[n] = (v & 0x7f) as u8;
            n += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
        }
    };
    push(arcs[0].checked_mul(40)?.checked_add(arcs[1])?);
    for &a in &arcs[2..] {
        push(a);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_arc_oids_and_unaddressable_indices() {
        // Fuzz regression (prefix_table): for "2.x" the last sub-identifier is 80 + x.
        let t = PrefixTable::from_entries([(1u32, vec![0x81]), (2, vec![0x86])]);
        // One sub-identifier of one or two bytes leaves no prefix: not mappable.
        for oid in ["2.96", "2.47"] {
            assert_eq!(t.attrtyp(oid), Err(PrefixError::BadOid), "{oid}");
        }
        let a = t.attrtyp("2.106424").unwrap();
        assert_eq!(t.oid(a).as_deref(), Ok("2.106424"));
        // "2.48" is the single sub-identifier 128 (two bytes): no prefix is left. It used to
        // map to 0x10030, which reads back as "2.96".
        assert_eq!(t.attrtyp("2.48"), Err(PrefixError::BadOid));
        // "2.106424" is 106504 = 0x86 0xc0 0x08: prefix 0x86, lower word 8200 + 32768.
        assert_eq!(t.attrtyp("2.106424"), Ok(0x0002_a008));
        // An entry whose index no ATTRTYP can carry is never chosen.
        let t = PrefixTable::from_entries([(0x1_0000u32, vec![0x55]), (0x8000, vec![0x55])]);
        assert!(t.attrtyp("2.5.4").is_err());
    }

    #[test]
    fn wire_entries_keep_schema_info_in_place() {
        let info = [0xffu8, 0, 0, 0, 1];
        for at in 0..3 {
            let mut entries = vec![(0u32, vec![0x55u8, 4]), (1, vec![0x55, 6])];
            entries.insert(at, (0, info.to_vec()));
            let t = PrefixTable::from_entries(entries.clone());
            assert_eq!(t.wire_entries(), entries);
            assert_eq!(t.entries().len(), 2);
        }
        let plain = PrefixTable::from_entries([(7u32, vec![0x55u8, 4])]);
        assert_eq!(plain.wire_entries(), vec![(7, vec![0x55, 4])]);
    }

    #[test]
    fn builtin_round_trips() {
        let t = PrefixTable::builtin();
        assert_eq!(t.oid(0x0009_005a).unwrap(), "1.2.840.113556.1.4.90");
        assert_eq!(t.attrtyp("1.2.840.113556.1.4.90").unwrap(), 0x0009_005a);
        assert_eq!(t.resolve(0x8000_0001).unwrap(), AttrId::IntId(0x8000_0001));
        assert_eq!(
            t.oid(0x0100_0000),
            Err(PrefixError::UnknownIndex(0x0100_0000))
        );
    }
}
