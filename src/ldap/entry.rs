//! A directory entry as raw attribute values, decoded from `ldap3`'s BER tree without
//! panicking (ldap3's `SearchEntry::construct` panics on a malformed entry).

use std::fmt;

use ldap3::ResultEntry;
use ldap3::asn1::{PL, StructureTag};
use zeroize::Zeroize;

/// Attributes whose values are password material (compared without options such as
/// `;binary`, case-insensitively): never printed by `Debug`, wiped after use by the sources.
pub(crate) const SECRET_ATTRIBUTES: &[&str] = &[
    "sambaNTPassword",
    "sambaLMPassword",
    "sambaPasswordHistory",
    "userPassword",
    "unicodePwd",
    "dBCSPwd",
    "ntPwdHistory",
    "lmPwdHistory",
    "supplementalCredentials",
    "krb5Key",
];

/// Whether `name` (an attribute description) holds password material.
pub(crate) fn is_secret_attribute(name: &str) -> bool {
    let base = name.split(';').next().unwrap_or(name);
    SECRET_ATTRIBUTES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(base))
}

/// One search result entry: its DN and attributes with raw (byte) values, in server order.
///
/// `Debug` prints password attributes (`sambaNTPassword`, `userPassword`, …) as
/// `<redacted>` and other values as (lossy) UTF-8. Their values are wiped when the entry is
/// dropped — on every path: mapped, failed, a DirSync entry, a clone — and compared in
/// constant time (`subtle`) by `PartialEq`.
///
/// What is not wiped, because phsync does not own it: the BER bytes `ldap3` read from the
/// socket (its codec's buffer) and the TLS layer's record buffers. Decoding moves each value
/// out of `ldap3`'s parsed tree into the entry without a copy, and wipes what is left of the
/// tree (values of an entry that failed to decode).
#[derive(Clone, Default)]
pub struct Entry {
    /// The distinguished name.
    pub dn: String,
    /// `(attribute description, values)`, as the server sent them.
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl Entry {
    /// The values of `name` (case-insensitive; an attribute with options such as
    /// `;binary` or `;range=…` does not match the bare name).
    pub fn values(&self, name: &str) -> Option<&[Vec<u8>]> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name` as UTF-8, if present and valid.
    pub fn first_str(&self, name: &str) -> Option<&str> {
        self.values(name)
            .and_then(|v| v.first())
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The attribute names present (without their values).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attrs.iter().map(|(n, _)| n.as_str())
    }

    /// Overwrites the values of password attributes with zeros (once the entry was mapped).
    pub(crate) fn wipe_secrets(&mut self) {
        for (name, values) in &mut self.attrs {
            if is_secret_attribute(name) {
                values.iter_mut().for_each(Zeroize::zeroize);
            }
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.wipe_secrets();
    }
}

impl zeroize::ZeroizeOnDrop for Entry {}

impl PartialEq for Entry {
    /// Names and non-secret values compared as usual; password attributes' values in
    /// constant time (their count and lengths are not secret).
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.dn == other.dn
            && self.attrs.len() == other.attrs.len()
            && self
                .attrs
                .iter()
                .zip(&other.attrs)
                .fold(true, |acc, ((na, va), (nb, vb))| {
                    let same = if is_secret_attribute(na) {
                        va.len() == vb.len()
                            && bool::from(
                                va.iter()
                                    .zip(vb)
                                    .fold(subtle::Choice::from(1), |c, (x, y)| c & x.ct_eq(y)),
                            )
                    } else {
                        va == vb
                    };
                    acc & (na == nb) & same
                })
    }
}

impl Eq for Entry {}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Values<'a>(&'a str, &'a [Vec<u8>]);
        impl fmt::Debug for Values<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if is_secret_attribute(self.0) {
                    return write!(f, "<redacted> ({} values)", self.1.len());
                }
                f.debug_list()
                    .entries(self.1.iter().map(|v| String::from_utf8_lossy(v)))
                    .finish()
            }
        }
        struct Attrs<'a>(&'a [(String, Vec<Vec<u8>>)]);
        impl fmt::Debug for Attrs<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(n, v)| (n, Values(n, v))))
                    .finish()
            }
        }
        f.debug_struct("Entry")
            .field("dn", &self.dn)
            .field("attrs", &Attrs(&self.attrs))
            .finish()
    }
}

/// Decodes one search result entry; on error, a description without values. The values are
/// moved out of `ldap3`'s tree (no copy); whatever is left in the tree is wiped, on success
/// and on error.
pub(crate) fn decode(re: ResultEntry) -> Result<Entry, &'static str> {
    let mut tag = re.0;
    let result = decode_tag(&mut tag);
    wipe_tag(&mut tag);
    result
}

fn decode_tag(tag: &mut StructureTag) -> Result<Entry, &'static str> {
    if tag.id != 4 {
        return Err("not a SearchResultEntry");
    }
    // Built in place: a partial entry dropped on an error path is wiped by `Entry`'s `Drop`.
    let mut entry = Entry::default();
    let mut parts = constructed(tag, "entry")?.iter_mut();
    let dn = parts.next().ok_or("entry without a DN")?;
    entry.dn = String::from_utf8(primitive(dn, "DN")?).map_err(|_| "DN is not UTF-8")?;
    let attrs = match parts.next() {
        Some(a) => constructed(a, "attribute list")?,
        None => return Ok(entry),
    };
    entry.attrs.reserve(attrs.len());
    for attr in attrs {
        let mut pa = constructed(attr, "attribute")?.iter_mut();
        let name = pa.next().ok_or("attribute without a type")?;
        let name = String::from_utf8(primitive(name, "attribute type")?)
            .map_err(|_| "attribute type is not UTF-8")?;
        entry.attrs.push((name, Vec::new()));
        if let Some(v) = pa.next() {
            let values = constructed(v, "attribute values")?;
            let slot = &mut entry.attrs.last_mut().expect("just pushed").1;
            slot.reserve(values.len());
            for v in values {
                slot.push(primitive(v, "attribute value")?);
            }
        }
    }
    Ok(entry)
}

/// Zeroes every primitive value left in a BER tree.
fn wipe_tag(tag: &mut StructureTag) {
    match &mut tag.payload {
        PL::P(v) => v.zeroize(),
        PL::C(children) => children.iter_mut().for_each(wipe_tag),
    }
}

fn constructed<'t>(
    tag: &'t mut StructureTag,
    what: &'static str,
) -> Result<&'t mut Vec<StructureTag>, &'static str> {
    match &mut tag.payload {
        PL::C(v) => Ok(v),
        PL::P(_) => Err(match what {
            "entry" => "entry is not constructed",
            "attribute list" => "attribute list is not constructed",
            "attribute" => "attribute is not constructed",
            _ => "attribute values are not constructed",
        }),
    }
}

/// Moves a primitive value out of the tree (leaving an empty one).
fn primitive(tag: &mut StructureTag, what: &'static str) -> Result<Vec<u8>, &'static str> {
    match &mut tag.payload {
        PL::P(v) => Ok(std::mem::take(v)),
        PL::C(_) => Err(match what {
            "DN" => "DN is not a primitive value",
            "attribute type" => "attribute type is not a primitive value",
            _ => "attribute value is not a primitive value",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::TagClass;

    fn p(id: u64, v: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(v.to_vec()),
        }
    }
    fn c(id: u64, v: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::C(v),
        }
    }

    #[test]
    fn decodes_and_rejects_without_panicking() {
        let good = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![
                p(4, b"uid=a,dc=x"),
                c(
                    16,
                    vec![c(
                        16,
                        vec![p(4, b"UID"), c(17, vec![p(4, b"a"), p(4, b"b")])],
                    )],
                ),
            ]),
        };
        let e = decode(ResultEntry::new(good)).unwrap();
        assert_eq!(e.dn, "uid=a,dc=x");
        assert_eq!(e.first_str("uid"), Some("a"));
        assert_eq!(e.values("uid").unwrap().len(), 2);
        assert!(e.values("mail").is_none());

        let bad_dn = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![p(4, &[0xff, 0xfe])]),
        };
        assert_eq!(decode(ResultEntry::new(bad_dn)), Err("DN is not UTF-8"));
        let flat = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::P(vec![]),
        };
        assert!(decode(ResultEntry::new(flat)).is_err());
        let empty = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![]),
        };
        assert!(decode(ResultEntry::new(empty)).is_err());
    }
}
