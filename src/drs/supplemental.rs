//! `supplementalCredentials` plaintext: USER_PROPERTIES and its packages
//! (MS-SAMR §2.2.10).
//!
//! Everything here is secret-bearing: the types zeroize on drop, print `<redacted>` for key
//! material, and implement no `Serialize`.

use std::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::DecryptError;

fn bad(offset: usize, reason: &'static str) -> DecryptError {
    DecryptError::SupplementalMalformed { offset, reason }
}

/// One Kerberos key (`KERB_KEY_DATA` / `KERB_KEY_DATA_NEW`). Compared in constant time over
/// the key bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KerberosKey {
    key_type: u32,
    iteration_count: u32,
    key: Vec<u8>,
}

impl KerberosKey {
    /// The key type (1 DES-CBC-CRC, 3 DES-CBC-MD5, 17 AES128, 18 AES256, …, RFC 3961/3962 etypes).
    pub fn key_type(&self) -> u32 {
        self.key_type
    }

    /// The iteration count (`KERB_KEY_DATA_NEW` only; 0 for revision-3 keys).
    pub fn iteration_count(&self) -> u32 {
        self.iteration_count
    }

    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for KerberosKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosKey")
            .field("key_type", &self.key_type)
            .field("iteration_count", &self.iteration_count)
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

/// `Primary:Kerberos-Newer-Keys` (revision 4) or `Primary:Kerberos` (revision 3). Compared in
/// constant time over every key of every list (`subtle`), whatever the other fields give.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KerberosCredentials {
    revision: u16,
    default_salt: String,
    default_iteration_count: u32,
    credentials: Vec<KerberosKey>,
    service_credentials: Vec<KerberosKey>,
    old_credentials: Vec<KerberosKey>,
    older_credentials: Vec<KerberosKey>,
}

impl KerberosCredentials {
    /// 4 for Kerberos-Newer-Keys, 3 for Kerberos.
    pub fn revision(&self) -> u16 {
        self.revision
    }

    /// The default salt (e.g. `ADATUM.COMuser02`).
    pub fn default_salt(&self) -> &str {
        &self.default_salt
    }

    /// `DefaultIterationCount` (revision 4; 0 for revision 3).
    pub fn default_iteration_count(&self) -> u32 {
        self.default_iteration_count
    }

    /// Current keys.
    pub fn credentials(&self) -> &[KerberosKey] {
        &self.credentials
    }

    /// Service keys (revision 4, normally none).
    pub fn service_credentials(&self) -> &[KerberosKey] {
        &self.service_credentials
    }

    /// Keys of the previous password.
    pub fn old_credentials(&self) -> &[KerberosKey] {
        &self.old_credentials
    }

    /// Keys of the password before that (revision 4).
    pub fn older_credentials(&self) -> &[KerberosKey] {
        &self.older_credentials
    }

    /// The current key of a given type.
    pub fn key(&self, key_type: u32) -> Option<&KerberosKey> {
        self.credentials.iter().find(|k| k.key_type == key_type)
    }
}

impl fmt::Debug for KerberosCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosCredentials")
            .field("revision", &self.revision)
            .field("default_salt", &self.default_salt)
            .field("credentials", &self.credentials)
            .field("old_credentials", &self.old_credentials)
            .field("older_credentials", &self.older_credentials)
            .finish_non_exhaustive()
    }
}

/// A decoded USER_PROPERTIES blob (MS-SAMR §2.2.10.1). Compared in constant time over the secret
/// parts (keys, hashes, cleartext, unknown packages' values).
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SupplementalCredentials {
    kerberos_newer_keys: Option<KerberosCredentials>,
    kerberos: Option<KerberosCredentials>,
    wdigest: Vec<[u8; 16]>,
    cleartext: Option<Vec<u16>>,
    ntlm_strong_ntowf: Option<[u8; 16]>,
    packages: Vec<String>,
    other: Vec<(String, Vec<u8>)>,
}

impl SupplementalCredentials {
    /// `Primary:Kerberos-Newer-Keys` (AES keys).
    pub fn kerberos_newer_keys(&self) -> Option<&KerberosCredentials> {
        self.kerberos_newer_keys.as_ref()
    }

    /// `Primary:Kerberos` (DES keys).
    pub fn kerberos(&self) -> Option<&KerberosCredentials> {
        self.kerberos.as_ref()
    }

    /// `Primary:WDigest`: the 29 MD5 hashes (empty if absent).
    pub fn wdigest(&self) -> &[[u8; 16]] {
        &self.wdigest
    }

    /// `Primary:CLEARTEXT` as UTF-16 code units (may hold unpaired surrogates).
    pub fn cleartext_utf16(&self) -> Option<&[u16]> {
        self.cleartext.as_deref()
    }

    /// `Primary:CLEARTEXT` as a string; `None` if absent or not valid UTF-16. Zeroized on drop.
    ///
    /// Decoded into a buffer of exactly the final size (the UTF-8 length is computed first),
    /// so no reallocation leaves an unwiped copy of the password behind (`String::from_utf16`
    /// grows its buffer for non-ASCII text).
    pub fn cleartext(&self) -> Option<Zeroizing<String>> {
        let units = self.cleartext.as_deref()?;
        let mut len = 0usize;
        for c in char::decode_utf16(units.iter().copied()) {
            len += c.ok()?.len_utf8();
        }
        let mut out = Zeroizing::new(String::with_capacity(len));
        for c in char::decode_utf16(units.iter().copied()).flatten() {
            out.push(c);
        }
        debug_assert_eq!(out.len(), len);
        Some(out)
    }

    /// `Primary:NTLM-Strong-NTOWF` (16 random bytes, Windows Server 2016+).
    pub fn ntlm_strong_ntowf(&self) -> Option<&[u8; 16]> {
        self.ntlm_strong_ntowf.as_ref()
    }

    /// `Packages`: the package names.
    pub fn packages(&self) -> &[String] {
        &self.packages
    }

    /// Properties with other names, hex-decoded (`Primary:userPassword`, `Primary:SambaGPG`, …).
    pub fn other(&self) -> &[(String, Vec<u8>)] {
        &self.other
    }

    /// Parses the USER_PROPERTIES plaintext. The 13-byte all-zero form and the 111-byte
    /// header-only form are empty credentials.
    ///
    /// # Errors
    /// [`DecryptError::SupplementalMalformed`] with the offset in the plaintext.
    pub fn parse(b: &[u8]) -> Result<SupplementalCredentials, DecryptError> {
        let mut out = SupplementalCredentials::default();
        if b.len() < 111 {
            if b.len() == 13 && b.iter().all(|&x| x == 0) {
                return Ok(out);
            }
            return Err(bad(0, "shorter than the 111-byte header"));
        }
        let length = u32le(b, 4) as usize;
        if length.checked_add(12).is_none_or(|end| end > b.len()) {
            return Err(bad(4, "Length exceeds the blob"));
        }
        if u16le(b, 108) != 0x50 {
            return Err(bad(108, "PropertySignature is not 0x0050"));
        }
        if b.len() < 112 || length < 100 {
            return Ok(out);
        }
        let count = u16le(b, 110) as usize;
        let end = 12 + length;
        let mut pos = 112;
        for _ in 0..count {
            if pos + 6 > end {
                return Err(bad(pos, "property header past the end"));
            }
            let name_len = u16le(b, pos) as usize;
            let value_len = u16le(b, pos + 2) as usize;
            let name_at = pos + 6;
            let value_at = name_at + name_len;
            let next = value_at + value_len;
            if next > end || !name_len.is_multiple_of(2) {
                return Err(bad(pos, "property past the end"));
            }
            let name = utf16(&b[name_at..value_at]).ok_or(bad(name_at, "property name"))?;
            // Zeroizing: wiped on every path, including the early error returns below.
            let mut value =
                unhex(&b[value_at..next]).ok_or(bad(value_at, "property value is not hex"))?;
            match name.as_str() {
                "Primary:Kerberos-Newer-Keys" => {
                    out.kerberos_newer_keys =
                        Some(kerberos(&value, 4).map_err(|(o, r)| bad(value_at + 2 * o, r))?);
                }
                "Primary:Kerberos" => {
                    out.kerberos =
                        Some(kerberos(&value, 3).map_err(|(o, r)| bad(value_at + 2 * o, r))?);
                }
                "Primary:WDigest" => {
                    if value.len() < 16 {
                        return Err(bad(value_at, "WDigest header"));
                    }
                    let n = value[3] as usize;
                    if value.len() < 16 + 16 * n {
                        return Err(bad(value_at, "WDigest hash count"));
                    }
                    out.wdigest = value[16..16 + 16 * n]
                        .chunks_exact(16)
                        .map(|c| c.try_into().expect("16 bytes"))
                        .collect();
                }
                "Primary:CLEARTEXT" => {
                    if !value.len().is_multiple_of(2) {
                        return Err(bad(value_at, "CLEARTEXT is not UTF-16"));
                    }
                    out.cleartext = Some(
                        value
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .collect(),
                    );
                }
                "Primary:NTLM-Strong-NTOWF" => {
                    out.ntlm_strong_ntowf = Some(
                        value
                            .as_slice()
                            .try_into()
                            .map_err(|_| bad(value_at, "NTLM-Strong-NTOWF is not 16 bytes"))?,
                    );
                }
                "Packages" => {
                    let s = utf16(&value).ok_or(bad(value_at, "Packages is not UTF-16"))?;
                    out.packages = s
                        .split('\0')
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {
                    out.other.push((name, std::mem::take(&mut *value)));
                }
            }
            value.zeroize();
            pos = next;
        }
        Ok(out)
    }
}

impl PartialEq for KerberosKey {
    /// Constant time over the key bytes ([`ConstantTimeEq`]).
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for KerberosKey {}

impl ConstantTimeEq for KerberosKey {
    /// Constant time over the key bytes (type, iteration count and length are not secret).
    fn ct_eq(&self, other: &Self) -> Choice {
        Choice::from(u8::from(
            self.key_type == other.key_type && self.iteration_count == other.iteration_count,
        )) & self.key.ct_eq(&other.key)
    }
}

/// Two key lists: equal length (not secret), then every pair compared, no early exit.
fn ct_keys(a: &[KerberosKey], b: &[KerberosKey]) -> Choice {
    a.iter()
        .zip(b)
        .fold(Choice::from(u8::from(a.len() == b.len())), |acc, (x, y)| {
            acc & x.ct_eq(y)
        })
}

impl ConstantTimeEq for KerberosCredentials {
    /// Constant time over the keys; revision, salt and iteration count are not secret.
    fn ct_eq(&self, other: &Self) -> Choice {
        let public = self.revision == other.revision
            && self.default_salt == other.default_salt
            && self.default_iteration_count == other.default_iteration_count;
        Choice::from(u8::from(public))
            & ct_keys(&self.credentials, &other.credentials)
            & ct_keys(&self.service_credentials, &other.service_credentials)
            & ct_keys(&self.old_credentials, &other.old_credentials)
            & ct_keys(&self.older_credentials, &other.older_credentials)
    }
}

impl PartialEq for KerberosCredentials {
    /// Constant time over the keys ([`ConstantTimeEq`]).
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for KerberosCredentials {}

fn ct_option<T: ConstantTimeEq + ?Sized, U: std::ops::Deref<Target = T>>(
    a: &Option<U>,
    b: &Option<U>,
) -> Choice {
    match (a, b) {
        (Some(a), Some(b)) => (**a).ct_eq(&**b),
        (None, None) => Choice::from(1),
        _ => Choice::from(0),
    }
}

impl PartialEq for SupplementalCredentials {
    /// Constant time over the secret parts; every part is compared whatever the others give.
    fn eq(&self, other: &Self) -> bool {
        let other_values = self.other.len() == other.other.len()
            && self
                .other
                .iter()
                .zip(&other.other)
                .fold(Choice::from(1), |acc, ((na, va), (nb, vb))| {
                    acc & Choice::from(u8::from(na == nb)) & va.ct_eq(vb)
                })
                .into();
        let secret = self
            .wdigest
            .as_flattened()
            .ct_eq(other.wdigest.as_flattened())
            & ct_option(&self.cleartext, &other.cleartext)
            & ct_option(
                &self.ntlm_strong_ntowf.as_ref().map(|h| &h[..]),
                &other.ntlm_strong_ntowf.as_ref().map(|h| &h[..]),
            );
        // Both Kerberos parts are compared whatever the other gives, in constant time.
        let kerberos = ct_option(
            &self.kerberos_newer_keys.as_ref(),
            &other.kerberos_newer_keys.as_ref(),
        ) & ct_option(&self.kerberos.as_ref(), &other.kerberos.as_ref());
        bool::from(secret & kerberos) & other_values & (self.packages == other.packages)
    }
}

impl Eq for SupplementalCredentials {}

impl fmt::Debug for SupplementalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupplementalCredentials")
            .field("packages", &self.packages)
            .field("kerberos_newer_keys", &self.kerberos_newer_keys)
            .field("kerberos", &self.kerberos)
            .field(
                "wdigest",
                &format_args!("<redacted> ({} hashes)", self.wdigest.len()),
            )
            .field(
                "cleartext",
                &self.cleartext.as_ref().map(|_| format_args!("<redacted>")),
            )
            .field(
                "ntlm_strong_ntowf",
                &self
                    .ntlm_strong_ntowf
                    .as_ref()
                    .map(|_| format_args!("<redacted>")),
            )
            .finish_non_exhaustive()
    }
}

fn u16le(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn utf16(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// ASCII hex (any case) → bytes in a zeroizing buffer, through the crate's one branch-free
/// decoder; `None` on odd length or a non-hex byte.
fn unhex(t: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !t.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Zeroizing::new(vec![0u8; t.len() / 2]);
    crate::hex::decode_into(t, &mut out).ok()?;
    Some(out)
}

type KerbResult<T> = Result<T, (usize, &'static str)>;

/// KERB_STORED_CREDENTIAL (rev 3) / KERB_STORED_CREDENTIAL_NEW (rev 4), MS-SAMR §2.2.10.4 and
/// §2.2.10.6. Offsets in
/// errors are into the decoded property value.
fn kerberos(v: &[u8], revision: u16) -> KerbResult<KerberosCredentials> {
    let get16 = |i: usize| -> KerbResult<u16> {
        v.get(i..i + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]))
            .ok_or((i, "truncated"))
    };
    let get32 = |i: usize| -> KerbResult<u32> {
        v.get(i..i + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .ok_or((i, "truncated"))
    };
    let rev = get16(0)?;
    if rev != revision {
        return Err((0, "unexpected Kerberos credential revision"));
    }
    let (counts, salt_len, salt_off, iterations, keys_at, key_size) = if revision == 4 {
        (
            [get16(4)?, get16(6)?, get16(8)?, get16(10)?],
            get16(12)?,
            get32(16)?,
            get32(20)?,
            24usize,
            24usize,
        )
    } else {
        (
            [get16(4)?, 0, get16(6)?, 0],
            get16(8)?,
            get32(12)?,
            0,
            16usize,
            20usize,
        )
    };
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    if keys_at + total * key_size > v.len() {
        return Err((keys_at, "key data past the end"));
    }
    let salt_bytes = (salt_off as usize)
        .checked_add(salt_len as usize)
        .and_then(|end| v.get(salt_off as usize..end))
        .ok_or((16, "salt past the end"))?;
    let default_salt = utf16(salt_bytes).ok_or((salt_off as usize, "salt is not UTF-16"))?;
    let mut lists: [Vec<KerberosKey>; 4] = Default::default();
    let mut at = keys_at;
    for (list, &n) in lists.iter_mut().zip(counts.iter()) {
        for _ in 0..n {
            let (iteration_count, key_type, len, off) = if revision == 4 {
                (
                    get32(at + 8)?,
                    get32(at + 12)?,
                    get32(at + 16)?,
                    get32(at + 20)?,
                )
            } else {
                (0, get32(at + 8)?, get32(at + 12)?, get32(at + 16)?)
            };
            let key = v
                .get(off as usize..(off as usize).saturating_add(len as usize))
                .ok_or((at, "key past the end"))?
                .to_vec();
            list.push(KerberosKey {
                key_type,
                iteration_count,
                key,
            });
            at += key_size;
        }
    }
    let [
        credentials,
        service_credentials,
        old_credentials,
        older_credentials,
    ] = lists;
    Ok(KerberosCredentials {
        revision,
        default_salt,
        default_iteration_count: iterations,
        credentials,
        service_credentials,
        old_credentials,
        older_credentials,
    })
}
