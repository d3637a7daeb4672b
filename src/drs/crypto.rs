//! Secret-attribute decryption (MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.11.1): the session-key layer
//! `salt ‖ RC4(MD5(session key ‖ salt), CRC32(plain) ‖ plain)` and the RID-keyed DES layer.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;

use des::Des;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use md5::{Digest, Md5};
use rc4::{Rc4, StreamCipher};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::attr::Attr;
use super::error::{DecryptError, SessionKeyParseError};

/// The RPC security context's session key (MS-DRSR §4.1.10.2.20): 16 bytes under NTLM, 32 under
/// Kerberos AES256; any length is accepted and fed whole into MD5.
///
/// Zeroized on drop, `Debug` redacted, no `Serialize`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey(Vec<u8>);

impl SessionKey {
    /// Wraps the key bytes.
    pub fn new(bytes: &[u8]) -> SessionKey {
        SessionKey(bytes.to_vec())
    }

    /// Parses an even number (at least 2) of hex digits, any case, in constant time with
    /// respect to the digits' values.
    ///
    /// # Errors
    /// [`SessionKeyParseError`]; the message never contains the input.
    pub fn from_hex(hex: &str) -> Result<SessionKey, SessionKeyParseError> {
        let b = hex.as_bytes();
        if b.is_empty() || !b.len().is_multiple_of(2) {
            return Err(SessionKeyParseError::Length { found: b.len() });
        }
        // The branch-free decoder shared by every secret (`src/hex.rs`), into a zeroizing buffer
        // of the final size (wiped on the error path too), then moved out without a copy.
        let mut out = zeroize::Zeroizing::new(vec![0u8; b.len() / 2]);
        crate::hex::decode_into(b, &mut out)
            .map_err(|position| SessionKeyParseError::InvalidHex { position })?;
        Ok(SessionKey(std::mem::take(&mut *out)))
    }

    /// The key length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty (such a key never decrypts anything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({} bytes, <redacted>)", self.0.len())
    }
}

/// Decrypted secret bytes (a plaintext after all layers). Zeroized on drop, `Debug` redacted,
/// compared in constant time (for a given length).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl PartialEq for SecretBytes {
    /// Constant time over the contents (the length is not secret).
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretBytes {}

impl SecretBytes {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The length.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, <redacted>)", self.0.len())
    }
}

/// Minimum ENCRYPTED_PAYLOAD length: 16-byte salt + 4-byte CRC (Samba's bound, MS-DRSR
/// §4.1.10.2.20).
pub const MIN_PAYLOAD: usize = 20;

/// Layer 1 with one key: `Some(plaintext)` if the CRC matches. `value.len() >= 20` is checked by
/// the caller.
fn layer1(key: &SessionKey, value: &[u8]) -> Option<Vec<u8>> {
    let (salt, enc) = value.split_at(16);
    let mut md5 = Md5::new();
    md5.update(&key.0);
    md5.update(salt);
    let mut rc4_key = md5.finalize();
    let mut rc4 = Rc4::new_from_slice(&rc4_key).ok()?;
    rc4_key.as_mut_slice().zeroize();
    let mut buf = enc.to_vec();
    rc4.apply_keystream(&mut buf);
    let given = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if crc32fast::hash(&buf[4..]) != given {
        buf.zeroize();
        return None;
    }
    buf.copy_within(4.., 0);
    let n = buf.len() - 4;
    buf[n..].zeroize();
    buf.truncate(n);
    Some(buf)
}

/// Decrypts one secret attribute value (MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.11.1.3): layer 1 with
/// the first candidate key
/// whose CRC32 matches (key rollover, as DSInternals does — pass the newest key first), then, for
/// unicodePwd/dBCSPwd/ntPwdHistory/lmPwdHistory, the RID DES layer on every 16-byte block.
///
/// # Errors
/// [`DecryptError::NoKey`], [`DecryptError::PayloadTooShort`] (< 20 bytes),
/// [`DecryptError::CrcMismatch`], and for the hash attributes [`DecryptError::MissingRid`],
/// [`DecryptError::ZeroRid`] and [`DecryptError::BadHashLength`] (not a multiple of 16).
pub fn decrypt_value(
    attribute: Attr,
    rid: Option<u32>,
    keys: &[SessionKey],
    value: &[u8],
) -> Result<SecretBytes, DecryptError> {
    let layer = rid.map(RidLayer::new);
    decrypt_value_with(attribute, layer.as_ref(), keys, value)
}

/// The RID DES layer of one object: the RID and, once needed, its two DES key schedules
/// (shared by unicodePwd, ntPwdHistory, dBCSPwd and lmPwdHistory).
///
/// It also remembers the last block it decrypted: ntPwdHistory's entry 0 is the current hash,
/// whose DES ciphertext equals unicodePwd's (the layer is deterministic), so that entry costs a
/// constant-time compare instead of two DES blocks.
pub(crate) struct RidLayer {
    rid: u32,
    ciphers: OnceCell<(Des, Des)>,
    /// `cipher ‖ plain` of the last block, valid when `memo_valid`.
    memo: RefCell<[u8; 32]>,
    memo_valid: Cell<bool>,
}

impl RidLayer {
    pub(crate) fn new(rid: u32) -> RidLayer {
        RidLayer {
            rid,
            ciphers: OnceCell::new(),
            memo: RefCell::new([0; 32]),
            memo_valid: Cell::new(false),
        }
    }

    fn decrypt_block16(&self, chunk: &mut [u8]) {
        let mut memo = self.memo.borrow_mut();
        if self.memo_valid.get() && bool::from(memo[..16].ct_eq(chunk)) {
            chunk.copy_from_slice(&memo[16..]);
            return;
        }
        memo[..16].copy_from_slice(chunk);
        let (c1, c2) = self.ciphers.get_or_init(|| rid_ciphers(self.rid));
        let (a, b) = chunk.split_at_mut(8);
        c1.decrypt_block(a.try_into().expect("8 bytes"));
        c2.decrypt_block(b.try_into().expect("8 bytes"));
        memo[16..].copy_from_slice(chunk);
        self.memo_valid.set(true);
    }
}

impl Drop for RidLayer {
    fn drop(&mut self) {
        self.memo.get_mut().zeroize();
    }
}

/// [`decrypt_value`] with the object's RID layer (key schedules computed at most once).
pub(crate) fn decrypt_value_with(
    attribute: Attr,
    rid: Option<&RidLayer>,
    keys: &[SessionKey],
    value: &[u8],
) -> Result<SecretBytes, DecryptError> {
    if keys.is_empty() {
        return Err(DecryptError::NoKey);
    }
    if value.len() < MIN_PAYLOAD {
        return Err(DecryptError::PayloadTooShort {
            attribute,
            len: value.len(),
        });
    }
    let rid = if attribute.has_rid_layer() {
        match rid {
            None => return Err(DecryptError::MissingRid { attribute }),
            Some(l) if l.rid == 0 => return Err(DecryptError::ZeroRid { attribute }),
            Some(l) => Some(l),
        }
    } else {
        None
    };
    let mut plain = keys
        .iter()
        .find_map(|k| layer1(k, value))
        .map(SecretBytes)
        .ok_or(DecryptError::CrcMismatch {
            attribute,
            keys_tried: keys.len(),
        })?;
    if let Some(layer) = rid {
        if !plain.0.len().is_multiple_of(16) {
            return Err(DecryptError::BadHashLength {
                attribute,
                len: plain.0.len(),
            });
        }
        for chunk in plain.0.chunks_exact_mut(16) {
            layer.decrypt_block16(chunk);
        }
    }
    Ok(plain)
}

/// MS-SAMR §2.2.11.1.2: spreads 7 key bytes over 8 (bit 0 of each output byte left 0; DES ignores
/// parity).
pub fn expand_des_key(k: &[u8; 7]) -> [u8; 8] {
    let o = [
        k[0] >> 1,
        ((k[0] & 0x01) << 6) | (k[1] >> 2),
        ((k[1] & 0x03) << 5) | (k[2] >> 3),
        ((k[2] & 0x07) << 4) | (k[3] >> 4),
        ((k[3] & 0x0f) << 3) | (k[4] >> 5),
        ((k[4] & 0x1f) << 2) | (k[5] >> 6),
        ((k[5] & 0x3f) << 1) | (k[6] >> 7),
        k[6] & 0x7f,
    ];
    o.map(|b| (b << 1) & 0xfe)
}

/// The two 7-byte keys derived from a RID (MS-SAMR §2.2.11.1.3).
pub fn rid_keys(rid: u32) -> ([u8; 7], [u8; 7]) {
    let i = rid.to_le_bytes();
    (
        [i[0], i[1], i[2], i[3], i[0], i[1], i[2]],
        [i[3], i[0], i[1], i[2], i[3], i[0], i[1]],
    )
}

fn des(k7: &[u8; 7]) -> Des {
    Des::new(&expand_des_key(k7).into())
}

fn rid_ciphers(rid: u32) -> (Des, Des) {
    let (k1, k2) = rid_keys(rid);
    (des(&k1), des(&k2))
}

fn des_pair(k1: &[u8; 7], k2: &[u8; 7], block: &[u8; 16], encrypt: bool) -> [u8; 16] {
    let mut out = *block;
    let (a, b) = out.split_at_mut(8);
    let (c1, c2) = (des(k1), des(k2));
    if encrypt {
        c1.encrypt_block(a.try_into().expect("8 bytes"));
        c2.encrypt_block(b.try_into().expect("8 bytes"));
    } else {
        c1.decrypt_block(a.try_into().expect("8 bytes"));
        c2.decrypt_block(b.try_into().expect("8 bytes"));
    }
    out
}

/// Removes the RID DES layer from one 16-byte hash (MS-SAMR §2.2.11.1.3).
pub fn rid_decrypt_hash(rid: u32, block: &[u8; 16]) -> [u8; 16] {
    let (k1, k2) = rid_keys(rid);
    des_pair(&k1, &k2, block, false)
}

#[doc(hidden)] // a test helper (builds server-side fixtures), not part of the API
/// Applies the RID DES layer to one 16-byte hash (the server side; for tests and fixtures).
pub fn rid_encrypt_hash(rid: u32, block: &[u8; 16]) -> [u8; 16] {
    let (k1, k2) = rid_keys(rid);
    des_pair(&k1, &k2, block, true)
}

#[doc(hidden)] // a test helper (builds server-side fixtures), not part of the API
/// MS-SAMR §2.2.11.1.4 "DES-ECB-LM" with a 16-byte key: Key1 = key\[0..7\], Key2 = key\[7..14\]
/// (example keys: MS-SAMR §4.3).
pub fn des_ecb_lm_encrypt(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let mut k1 = [0u8; 7];
    let mut k2 = [0u8; 7];
    k1.copy_from_slice(&key[0..7]);
    k2.copy_from_slice(&key[7..14]);
    let out = des_pair(&k1, &k2, block, true);
    k1.zeroize();
    k2.zeroize();
    out
}

#[doc(hidden)] // a test helper (builds server-side fixtures), not part of the API
/// Encrypts like the server (MS-DRSR §4.1.10.2.20, mirror of [`decrypt_value`]'s layer 1) with a
/// given
/// salt; used to build test replies.
pub fn encrypt_payload(key: &SessionKey, salt: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let mut md5 = Md5::new();
    md5.update(&key.0);
    md5.update(salt);
    let mut rc4_key = md5.finalize();
    let mut rc4 = Rc4::new_from_slice(&rc4_key).expect("16-byte key");
    rc4_key.as_mut_slice().zeroize();
    let mut buf = Vec::with_capacity(20 + plain.len());
    buf.extend_from_slice(salt);
    buf.extend_from_slice(&crc32fast::hash(plain).to_le_bytes());
    buf.extend_from_slice(plain);
    rc4.apply_keystream(&mut buf[16..]);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rid_500_example() {
        let c: [u8; 16] = h("b9c493e4a12818eed2fc0d2d731595cb").try_into().unwrap();
        assert_eq!(
            rid_decrypt_hash(500, &c).to_vec(),
            h("92937945b518814341de3f726500d4ff")
        );
        let e: [u8; 16] = h("31d6cfe0d16ae931b73c59d7e0c089c0").try_into().unwrap();
        assert_eq!(
            rid_encrypt_hash(500, &e).to_vec(),
            h("44e9410d70bfa47f7ea41c40946599d8")
        );
    }

    #[test]
    fn session_key_hex() {
        assert_eq!(SessionKey::from_hex("00ff").unwrap().len(), 2);
        assert!(SessionKey::from_hex("0").is_err());
        assert!(SessionKey::from_hex("").is_err());
        assert!(SessionKey::from_hex("0g").is_err());
        assert_eq!(
            format!("{:?}", SessionKey::new(&[1; 16])),
            "SessionKey(16 bytes, <redacted>)"
        );
    }
}
