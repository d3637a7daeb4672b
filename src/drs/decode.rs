//! The NDR20 walk of one `IDL_DRSGetNCChanges` output (MS-DRSR §4.1.10, NDR per C706 §14):
//! [`Reply::decode`]
//! and the flat `DSNAME` attribute value parser.
//!
//! The model it fills in lives in [`super::reply`]; this file only reads bytes.

use std::sync::Arc;

use super::attr::Attr;
use super::error::{DecodeError, DecodeErrorKind, Structure};
use super::guid::Guid;
use super::ndr::Reader;
use super::prefix::{AttrId, PrefixError, PrefixTable, Resolver};
use super::reply::{
    AttrEntry, AttributeMetadata, DsName, LinkedValue, ReplicatedObject, Reply, UpToDateCursor,
    UsnVector, WireBytes, utf16_strict,
};
use super::sid::Sid;
use super::time::DsTime;

struct Flat {
    p_name: u32,
    flags: u32,
    attr_count: u32,
    p_attr: u32,
    is_nc_prefix: bool,
    p_parent: u32,
    p_meta: u32,
}

impl Reply {
    /// Decodes the whole output of `IDL_DRSGetNCChanges` as NDR20 little-endian:
    /// `[u32 pdwOutVersion][u32 union discriminant][DRS_MSG_GETCHGREPLY_V6 or _V9][u32 return
    /// value]`
    /// (MS-DRSR §4.1.10.2.12 for V6; pointees in NDR deferral order, C706 §14.3.12).
    ///
    /// # Errors
    /// A [`DecodeError`] with the byte offset and structure: truncation, counts larger than the
    /// input, MaxCount/count disagreements, versions other than 6 and 9 (compressed V2/V7 →
    /// [`DecodeErrorKind::Unsupported`]), ATTRTYPs missing from `PrefixTableSrc`, a non-zero
    /// return value or `dwDRSError` ([`DecodeErrorKind::ServerError`]), or bytes left over.
    pub fn decode(bytes: &[u8]) -> Result<Reply, DecodeError> {
        Reply::decode_wire(Arc::new(WireBytes::new(bytes)))
    }

    /// Like [`Reply::decode`], taking the buffer instead of copying it: the objects' values
    /// are ranges into it, and it is wiped when the reply and its last object are dropped (or
    /// at once, when decoding fails).
    ///
    /// # Errors
    /// As [`Reply::decode`].
    pub fn decode_owned(bytes: Vec<u8>) -> Result<Reply, DecodeError> {
        Reply::decode_wire(Arc::new(WireBytes::from_vec(bytes)))
    }

    fn decode_wire(data: Arc<WireBytes>) -> Result<Reply, DecodeError> {
        Decoder {
            r: Reader::new(&data),
            data: data.clone(),
            heads: Vec::new(),
        }
        .reply()
    }
}

struct Decoder<'a> {
    r: Reader<'a>,
    data: Arc<WireBytes>,
    /// Scratch for [`Decoder::attr_block`]'s ATTR heads, reused by every object of the reply
    /// (no allocation per object).
    heads: Vec<(u32, AttrId, u32, u32)>,
}

fn prefix_err(e: PrefixError, attrtyp: u32) -> DecodeErrorKind {
    match e {
        PrefixError::BadOid => DecodeErrorKind::BadString,
        PrefixError::Reserved(_) => DecodeErrorKind::ReservedAttrtyp { attrtyp },
        _ => DecodeErrorKind::UnknownPrefixIndex { attrtyp },
    }
}

impl Decoder<'_> {
    fn reply(mut self) -> Result<Reply, DecodeError> {
        let len = self.data.len();
        // The return value sits in the last 4 bytes, whatever the body holds (as the Samba captures
        // in `tests/fixtures/` show).
        if len < 12 {
            return Err(self.r.err(DecodeErrorKind::Truncated {
                needed: 12,
                remaining: len,
            }));
        }
        if u32::try_from(len).is_err() {
            return Err(self.r.err(DecodeErrorKind::InputTooLarge { len }));
        }
        let rv_at = len - 4;
        let d = &self.data;
        let return_value = u32::from_le_bytes([d[rv_at], d[rv_at + 1], d[rv_at + 2], d[rv_at + 3]]);

        let version = self.r.u32()?;
        let tag = self.r.u32()?;
        if version != tag {
            return Err(self.r.err_at(
                0,
                DecodeErrorKind::VersionMismatch {
                    out_version: version,
                    tag,
                },
            ));
        }
        match version {
            6 | 9 => {}
            1 | 2 | 7 => return Err(self.r.err_at(0, DecodeErrorKind::Unsupported { version })),
            _ => {
                return Err(self
                    .r
                    .err_at(0, DecodeErrorKind::UnknownVersion { version }));
            }
        }
        if return_value != 0 {
            let e = DecodeError {
                offset: rv_at,
                structure: Structure::ReturnValue,
                kind: DecodeErrorKind::ServerError { code: return_value },
            };
            return Err(e);
        }

        // Flat part (MS-DRSR §4.1.10.2.12, `DRS_MSG_GETCHGREPLY_V6`).
        self.r.enter(Structure::ReplyV6);
        self.r.align(8)?;
        let source_dsa_guid = Guid::from_bytes_le(self.r.guid()?);
        let source_dsa_invocation_id = Guid::from_bytes_le(self.r.guid()?);
        let p_nc = self.r.u32()?;
        let usn_vec_from = self.usn_vector()?;
        let usn_vec_to = self.usn_vector()?;
        let p_utd = self.r.u32()?;
        let prefix_count = self.r.u32()?;
        let p_prefix = self.r.u32()?;
        let extended_ret = self.r.u32()?;
        let num_objects = self.r.u32()?;
        let _num_bytes = self.r.u32()?;
        let p_objects = self.r.u32()?;
        let more_data = self.r.u32()? != 0;
        let nc_size_objects = self.r.u32()?;
        let nc_size_values = self.r.u32()?;
        let num_values = self.r.u32()?;
        let p_values = self.r.u32()?;
        let drs_error_at = self.r.pos();
        let drs_error = self.r.u32()?;
        if drs_error != 0 {
            return Err(self.r.err_at(
                drs_error_at,
                DecodeErrorKind::ServerError { code: drs_error },
            ));
        }

        let naming_context = if p_nc != 0 {
            Some(self.dsname()?)
        } else {
            None
        };
        let up_to_date_vector = if p_utd != 0 {
            Some(self.utd_vector()?)
        } else {
            None
        };
        let prefix = Arc::new(if p_prefix != 0 {
            self.prefix_table(prefix_count)?
        } else {
            PrefixTable::default()
        });
        let objects = if p_objects != 0 {
            self.objects(num_objects, &prefix)?
        } else {
            if num_objects != 0 {
                return Err(self.r.err(DecodeErrorKind::ObjectCountMismatch {
                    found: 0,
                    declared: num_objects,
                }));
            }
            Vec::new()
        };
        let linked_values = if p_values != 0 {
            self.linked_values(num_values, version)?
        } else {
            Vec::new()
        };

        self.r.enter(Structure::ReturnValue);
        self.r.align(4)?;
        if self.r.pos() != rv_at {
            return Err(self.r.err(DecodeErrorKind::TrailingBytes {
                walk_end: self.r.pos(),
                return_value_at: rv_at,
            }));
        }
        Ok(Reply {
            version,
            source_dsa_guid,
            source_dsa_invocation_id,
            naming_context,
            usn_vec_from,
            usn_vec_to,
            up_to_date_vector,
            prefix,
            extended_ret,
            nc_size_objects,
            nc_size_values,
            more_data,
            objects,
            linked_values,
            drs_error,
            return_value,
        })
    }

    fn usn_vector(&mut self) -> Result<UsnVector, DecodeError> {
        Ok(UsnVector {
            usn_high_obj_update: self.r.i64()?,
            usn_reserved: self.r.i64()?,
            usn_high_prop_update: self.r.i64()?,
        })
    }

    /// NDR conformant DSNAME (MS-DRSR §5.50).
    fn dsname(&mut self) -> Result<DsName, DecodeError> {
        let prev = self.r.enter(Structure::Dsname);
        self.r.align(4)?;
        let at = self.r.pos();
        let mc = self.r.u32()?;
        self.r.check_count(at, mc, 2)?;
        let struct_len = self.r.u32()?;
        let sid_len = self.r.u32()?;
        let guid = Guid::from_bytes_le(self.r.guid()?);
        let sid_bytes = self.r.take(28)?;
        let name_len = self.r.u32()?;
        if name_len.checked_add(1) != Some(mc) {
            return Err(self.r.err_at(
                at,
                DecodeErrorKind::CountMismatch {
                    max_count: mc,
                    expected: name_len.wrapping_add(1),
                },
            ));
        }
        let name = self.r.take(mc as usize * 2)?;
        let _ = struct_len;
        let dn = dsname_fields(guid, sid_len, sid_bytes, name_len, name)
            .map_err(|k| self.r.err_at(at, k))?;
        self.r.leave(prev);
        Ok(dn)
    }

    fn utd_vector(&mut self) -> Result<Vec<UpToDateCursor>, DecodeError> {
        let prev = self.r.enter(Structure::UpToDateVector);
        self.r.align(4)?;
        let mc_at = self.r.pos();
        let mc = self.r.u32()?;
        self.r.align(8)?;
        let _version = self.r.u32()?;
        let _res1 = self.r.u32()?;
        let n = self.r.u32()?;
        let _res2 = self.r.u32()?;
        self.r.expect_count(mc_at, mc, n)?;
        self.r.check_count(mc_at, n, 32)?;
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            self.r.align(8)?;
            out.push(UpToDateCursor {
                dsa_invocation_id: Guid::from_bytes_le(self.r.guid()?),
                usn_high_prop_update: self.r.i64()?,
                time_last_sync_success: DsTime(self.r.i64()?),
            });
        }
        self.r.leave(prev);
        Ok(out)
    }

    fn prefix_table(&mut self, count: u32) -> Result<PrefixTable, DecodeError> {
        let prev = self.r.enter(Structure::PrefixTable);
        self.r.max_count(count, 12)?;
        let mut heads = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let ndx = self.r.u32()?;
            let len = self.r.u32()?;
            let p = self.r.u32()?;
            heads.push((ndx, len, p));
        }
        let mut entries = Vec::with_capacity(heads.len());
        let mut seen = std::collections::HashSet::with_capacity(heads.len());
        for (ndx, len, p) in heads {
            if p == 0 {
                if len != 0 {
                    return Err(self.r.err(DecodeErrorKind::NullWithLength { len }));
                }
                continue;
            }
            self.r.max_count(len, 1)?;
            let bytes = self.r.take(len as usize)?;
            if bytes.is_empty() {
                return Err(self.r.err(DecodeErrorKind::BadPrefix { ndx }));
            }
            // The schemaInfo entry (first byte 0xFF, MS-DRSR §5.16.4) is not a prefix and may
            // share an index with one.
            if bytes[0] != 0xff && !seen.insert(ndx) {
                return Err(self.r.err(DecodeErrorKind::BadPrefix { ndx }));
            }
            entries.push((ndx, bytes.to_vec()));
        }
        self.r.leave(prev);
        Ok(PrefixTable::from_entries(entries))
    }

    fn objects(
        &mut self,
        declared: u32,
        prefix: &Arc<PrefixTable>,
    ) -> Result<Vec<ReplicatedObject>, DecodeError> {
        let prev = self.r.enter(Structure::ReplEntInfList);
        // Pass 1: flat parts in list order (each element is 32 bytes, so the loop is bounded).
        let mut flats = Vec::with_capacity((declared as usize).min(self.r.remaining() / 32));
        loop {
            self.r.align(4)?;
            let p_next = self.r.u32()?;
            let f = Flat {
                p_name: self.r.u32()?,
                flags: self.r.u32()?,
                attr_count: self.r.u32()?,
                p_attr: self.r.u32()?,
                is_nc_prefix: self.r.u32()? != 0,
                p_parent: self.r.u32()?,
                p_meta: self.r.u32()?,
            };
            flats.push(f);
            if p_next == 0 {
                break;
            }
        }
        if flats.len() != declared as usize {
            return Err(self.r.err(DecodeErrorKind::ObjectCountMismatch {
                found: flats.len(),
                declared,
            }));
        }
        // Pass 2: pointees in reverse list order (C706 §14.3.12: an embedded pointer's
        // pointee follows the flat part, and `pNextEntInf` comes first in each element).
        let mut resolver = Resolver::default();
        let mut objects = Vec::with_capacity(flats.len());
        for f in flats.iter().rev() {
            objects.push(self.object(f, prefix, &mut resolver)?);
        }
        objects.reverse();
        self.r.leave(prev);
        Ok(objects)
    }

    fn object(
        &mut self,
        f: &Flat,
        prefix: &Arc<PrefixTable>,
        resolver: &mut Resolver,
    ) -> Result<ReplicatedObject, DecodeError> {
        let name = if f.p_name != 0 {
            Some(self.dsname()?)
        } else {
            None
        };
        let mut attrs = Vec::new();
        let mut values = Vec::new();
        if f.p_attr != 0 {
            self.attr_block(f.attr_count, prefix, resolver, &mut attrs, &mut values)?;
        } else if f.attr_count != 0 {
            return Err(self.r.err(DecodeErrorKind::CountMismatch {
                max_count: 0,
                expected: f.attr_count,
            }));
        }
        let parent_guid = if f.p_parent != 0 {
            let prev = self.r.enter(Structure::ParentGuid);
            let g = Guid::from_bytes_le(self.r.guid()?);
            self.r.leave(prev);
            Some(g)
        } else {
            None
        };
        if f.p_meta != 0 {
            let prev = self.r.enter(Structure::MetaDataVector);
            self.r.align(4)?;
            let mc_at = self.r.pos();
            let mc = self.r.u32()?;
            self.r.align(8)?;
            let n = self.r.u32()?;
            self.r.expect_count(mc_at, mc, n)?;
            if n as usize != attrs.len() {
                return Err(self.r.err_at(
                    mc_at,
                    DecodeErrorKind::MetadataCountMismatch {
                        attributes: attrs.len() as u32,
                        metadata: n,
                    },
                ));
            }
            self.r.check_count(mc_at, n, 40)?;
            for a in attrs.iter_mut() {
                a.meta = Some(self.metadata()?);
            }
            self.r.leave(prev);
        }
        let classes = attrs
            .iter()
            .find(|e| e.id == AttrId::Known(Attr::ObjectClass))
            .map(|e| {
                values[e.first as usize..(e.first + e.count) as usize]
                    .iter()
                    .filter_map(|&(off, len)| {
                        let v = &self.data[off as usize..(off + len) as usize];
                        let b = <[u8; 4]>::try_from(v).ok()?;
                        resolver.class(prefix, u32::from_le_bytes(b))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ReplicatedObject {
            data: self.data.clone(),
            prefix: prefix.clone(),
            classes,
            name,
            flags: f.flags,
            is_nc_prefix: f.is_nc_prefix,
            parent_guid,
            attrs,
            values,
        })
    }

    /// `PROPERTY_META_DATA_EXT` (40 bytes, alignment 8).
    fn metadata(&mut self) -> Result<AttributeMetadata, DecodeError> {
        self.r.align(8)?;
        let version = self.r.u32()?;
        let time = self.r.i64()?;
        let inv = self.r.guid()?;
        let usn = self.r.i64()?;
        Ok(AttributeMetadata::new(
            version,
            DsTime(time),
            Guid::from_bytes_le(inv),
            usn,
        ))
    }

    fn attr_block(
        &mut self,
        count: u32,
        prefix: &PrefixTable,
        resolver: &mut Resolver,
        attrs: &mut Vec<AttrEntry>,
        values: &mut Vec<(u32, u32)>,
    ) -> Result<(), DecodeError> {
        let prev = self.r.enter(Structure::AttrBlock);
        self.r.max_count(count, 12)?;
        let mut heads = std::mem::take(&mut self.heads);
        heads.clear();
        heads.reserve(count as usize);
        for _ in 0..count {
            let at = self.r.pos();
            let attrtyp = self.r.u32()?;
            let val_count = self.r.u32()?;
            let p = self.r.u32()?;
            let id = resolver
                .resolve(prefix, attrtyp)
                .map_err(|e| self.r.err_at(at, prefix_err(e, attrtyp)))?;
            heads.push((attrtyp, id, val_count, p));
        }
        attrs.reserve(heads.len());
        // Every value's ATTRVAL is 8 bytes, so what is left bounds the reservation.
        let declared: u64 = heads
            .iter()
            .filter(|h| h.3 != 0)
            .map(|h| u64::from(h.2))
            .sum();
        values.reserve(declared.min(self.r.remaining() as u64 / 8) as usize);
        for (attrtyp, id, val_count, p) in heads.drain(..) {
            let first = values.len() as u32;
            let mut n = 0;
            if p != 0 {
                self.r.enter(Structure::AttrValBlock);
                self.r.max_count(val_count, 8)?;
                let start = values.len();
                for _ in 0..val_count {
                    let len = self.r.u32()?;
                    let pv = self.r.u32()?;
                    values.push((len, pv));
                }
                self.r.enter(Structure::AttrVal);
                for v in &mut values[start..] {
                    let (len, pv) = *v;
                    if pv == 0 {
                        if len != 0 {
                            return Err(self.r.err(DecodeErrorKind::NullWithLength { len }));
                        }
                        *v = (0, 0);
                        continue;
                    }
                    self.r.max_count(len, 1)?;
                    let off = self.r.pos();
                    self.r.take(len as usize)?;
                    *v = (off as u32, len);
                }
                self.r.enter(Structure::AttrBlock);
                n = val_count;
            } else if val_count != 0 {
                return Err(self.r.err(DecodeErrorKind::CountMismatch {
                    max_count: 0,
                    expected: val_count,
                }));
            }
            attrs.push(AttrEntry {
                attrtyp,
                id,
                first,
                count: n,
                meta: None,
            });
        }
        self.heads = heads;
        self.r.leave(prev);
        Ok(())
    }

    fn linked_values(&mut self, count: u32, version: u32) -> Result<Vec<LinkedValue>, DecodeError> {
        let prev = self.r.enter(Structure::LinkedValues);
        let size = if version == 9 { 96 } else { 72 };
        self.r.max_count(count, size)?;
        if count == 0 {
            // A non-NULL pointer to an empty array: only the MaxCount (as in the Samba captures).
            self.r.leave(prev);
            return Ok(Vec::new());
        }
        self.r.align(8)?;
        struct Head {
            p_object: u32,
            attrtyp: u32,
            val_len: u32,
            p_val: u32,
            is_present: bool,
            time_created: DsTime,
            meta: AttributeMetadata,
            time_expired: Option<DsTime>,
        }
        let mut heads = Vec::with_capacity(count as usize);
        for _ in 0..count {
            self.r.align(8)?;
            let p_object = self.r.u32()?;
            let attrtyp = self.r.u32()?;
            let val_len = self.r.u32()?;
            let p_val = self.r.u32()?;
            let is_present = self.r.u32()? != 0;
            let time_created = DsTime(self.r.i64()?);
            let meta = self.metadata()?;
            let time_expired = if version == 9 {
                let _u1 = self.r.u32()?;
                let _u2 = self.r.u32()?;
                let _u3 = self.r.u32()?;
                Some(DsTime(self.r.i64()?))
            } else {
                None
            };
            heads.push(Head {
                p_object,
                attrtyp,
                val_len,
                p_val,
                is_present,
                time_created,
                meta,
                time_expired,
            });
        }
        let mut out = Vec::with_capacity(heads.len());
        for h in heads {
            let object = if h.p_object != 0 {
                Some(self.dsname()?)
            } else {
                None
            };
            let value = if h.p_val != 0 {
                self.r.max_count(h.val_len, 1)?;
                self.r.take(h.val_len as usize)?.to_vec()
            } else {
                Vec::new()
            };
            out.push(LinkedValue {
                object,
                attrtyp: h.attrtyp,
                value,
                is_present: h.is_present,
                time_created: h.time_created,
                metadata: h.meta,
                time_expired: h.time_expired,
            });
        }
        self.r.leave(prev);
        Ok(out)
    }
}

fn dsname_fields(
    guid: Guid,
    sid_len: u32,
    sid_bytes: &[u8],
    name_len: u32,
    name: &[u8],
) -> Result<DsName, DecodeErrorKind> {
    let sid = match sid_len {
        0 => None,
        1..=28 => {
            Some(Sid::from_bytes(&sid_bytes[..sid_len as usize]).ok_or(DecodeErrorKind::BadSid)?)
        }
        _ => return Err(DecodeErrorKind::BadSid),
    };
    let dn = if name_len == 0 {
        None
    } else {
        let n = (name_len as usize).saturating_mul(2);
        let name = name.get(..n).ok_or(DecodeErrorKind::BadDsname)?;
        Some(utf16_strict(name).ok_or(DecodeErrorKind::BadString)?)
    };
    Ok(DsName {
        guid: (!guid.is_nil()).then_some(guid),
        sid,
        dn,
    })
}

/// Parses a flat (non-NDR) DSNAME attribute value (MS-DRSR §5.50, as Object(DS-DN) values hold it):
/// 56-byte header, then the
/// UTF-16 name; `structLen` governs, the value may be longer (padding).
pub fn parse_dsname_value(v: &[u8]) -> Result<DsName, DecodeErrorKind> {
    if v.len() < 56 {
        return Err(DecodeErrorKind::BadDsname);
    }
    let u = |i: usize| u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
    let struct_len = u(0) as usize;
    let sid_len = u(4);
    let mut g = [0u8; 16];
    g.copy_from_slice(&v[8..24]);
    let name_len = u(52);
    // In u64: `NameLen` is the wire's, and `2 × NameLen` overflows a 32-bit usize.
    let name_bytes = u64::from(name_len) * 2;
    let need = 56 + name_bytes + 2;
    if struct_len > v.len()
        || need > struct_len.max(v.len()) as u64
        || 56 + name_bytes > v.len() as u64
    {
        return Err(DecodeErrorKind::BadDsname);
    }
    dsname_fields(
        Guid::from_bytes_le(g),
        sid_len,
        &v[24..52],
        name_len,
        // In bounds: `56 + name_bytes ≤ v.len()` was just checked.
        &v[56..56 + name_bytes as usize],
    )
}
