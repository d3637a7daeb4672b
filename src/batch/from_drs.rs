//! DRS replication as a stand-alone batch source: every replicated object becomes one
//! [`SourceItem`], an account when it decrypts, a failure naming the object when it does not.
//! (With a state store, use [`super::DrsSync`].)

use super::account::{Identity, SourceItem};
use super::merge::{Prepared, merge};
use crate::drs::{ReplicatedObject, Reply, SessionKey};

/// Base64 (RFC 4648, with padding) of the objectGUID's 16 wire bytes: the Entra ID
/// `immutableId` / source anchor convention.
pub fn source_anchor(guid_wire_bytes: &[u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(24);
    for chunk in guid_wire_bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What can be read of an object without its secrets (for reporting failures).
pub fn object_identity(object: &ReplicatedObject) -> Identity {
    let guid = object.object_guid();
    Identity {
        source_anchor: guid.map(|g| source_anchor(g.as_bytes())),
        object_guid: guid.map(|g| g.to_string()),
        sid: object.sid().map(|s| s.to_string()),
        sam_account_name: object.sam_account_name(),
        user_principal_name: object.user_principal_name(),
        distinguished_name: object.dn().map(str::to_owned),
    }
}

/// Decrypts `object` with the candidate `keys` (newest first) into a source item, with no
/// stored state: the object stands alone, as in a full replication. Incremental replies need
/// [`super::DrsSync`] and a state store, which merge each partial object with what is stored.
///
/// Only the NT hash is decrypted ([`ReplicatedObject::decrypt_nt_hash`]): password hash sync
/// needs it, not the LM hash, the history or the Kerberos keys. Skipping the rest makes
/// decryption several times cheaper, and keeps a malformed attribute the sync does not use (a
/// Kerberos blob, dBCSPwd, accountExpires) from blocking an account's password sync.
pub fn drs_item(object: &ReplicatedObject, keys: &[SessionKey]) -> SourceItem {
    merge(&mut Prepared::read(object, keys), None, &mut Vec::new())
}

/// Every object of `reply`, in wire order, as stand-alone source items (see [`drs_item`]).
pub fn drs_items<'a>(
    reply: &'a Reply,
    keys: &'a [SessionKey],
) -> impl ExactSizeIterator<Item = SourceItem> + 'a {
    reply.objects().iter().map(move |o| drs_item(o, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_anchor() {
        // RFC 4648 test vectors, padded to 16 bytes' worth of shape by construction.
        let mut g = [0u8; 16];
        g[..3].copy_from_slice(b"foo");
        assert!(source_anchor(&g).starts_with("Zm9v"));
        assert_eq!(source_anchor(&[0xff; 16]), "/////////////////////w==");
        assert_eq!(source_anchor(&[0; 16]).len(), 24);
    }
}
