//! DRS replication input (MS-DRSR §4.1.10 `IDL_DRSGetNCChanges`): decode `IDL_DRSGetNCChanges`
//! replies (NDR20) and
//! decrypt the secret attributes into a typed [`Account`].
//!
//! | file | what it holds | spec |
//! |---|---|---|
//! | [`reply`] | the wire model: [`Reply`], [`ReplicatedObject`], attributes, metadata, USN vectors, cursors, linked values | MS-DRSR §4.1.10.2.12, §5.50, §5.155, §5.162, §5.208 |
//! | `decode` | the NDR20 walk: [`Reply::decode`], flat DSNAME values | C706 §14, MS-DRSR §4.1.10 |
//! | `ndr` | bounds-checked NDR20 reader | C706 §14 |
//! | `ndr_write` | NDR20 writer for request stubs | C706 §14 |
//! | [`request`] | [`GetNcChangesRequest`]: the `IDL_DRSGetNCChanges` V8 request stub | MS-DRSR §4.1.10.2.5 |
//! | [`prefix`] | ATTRTYP ↔ OID through the reply's own prefix table | MS-DRSR §5.16.4 |
//! | [`attr`] | well-known attribute and class OIDs | MS-ADA1, MS-ADA3 |
//! | [`crypto`] | [`SessionKey`], MD5/RC4/CRC32 layer, RID DES layer | MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.11.1 |
//! | `object_decrypt` | [`ReplicatedObject::decrypt`] and friends | MS-DRSR §4.1.10.2.20 |
//! | [`account`] | [`Account`], the decrypted typed view | MS-ADA1, MS-ADA3 |
//! | [`supplemental`] | USER_PROPERTIES (Kerberos keys, WDigest, cleartext) | MS-SAMR §2.2.10 |
//! | [`error`] | [`DecodeError`], [`DecryptError`] | |
//!
//! [`Guid`], [`Sid`] and [`DsTime`] live in [`crate::ad`] and are re-exported here.
//!
//! Every read is bounds-checked and errors carry the byte offset and structure. Decryption takes
//! the RPC session key (16 bytes under NTLM, 32 under Kerberos AES256): CRC32 checked, the RID DES
//! layer removed, `supplementalCredentials` parsed; "no password" (`Absent`, `NoValue`) is kept
//! apart from the empty password.
//!
//! ```
//! use phsync::NtHash;
//! use phsync::drs::{HashState, Reply, SessionKey};
//!
//! // A real reply from a Samba AD DC (the last chunk of a full domain NC replication, Kerberos).
//! let bytes = include_bytes!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/fixtures/samba-a/bin/samba-krb5-nc/reply-002.bin"
//! ));
//! let key = SessionKey::from_hex("47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3")?;
//! let reply = Reply::decode(bytes)?;
//! assert!(!reply.more_data()); // the last chunk; reply.usn_vec_to() is the next watermark
//!
//! let object = reply
//!     .objects()
//!     .iter()
//!     .find(|o| o.sam_account_name().as_deref() == Some("plain.ljez")) // readable without the key
//!     .unwrap();
//! let account = object.decrypt(&key)?; // CRC32 checked, RID DES layer removed
//! assert_eq!(account.nt_hash(), Some(&NtHash::from_password("?Uj$Fz6VRA5?")));
//! assert!(matches!(account.nt_hash_state(), HashState::Present(_)));
//! assert_eq!(account.rid(), Some(1103));
//! assert_eq!(account.unicode_pwd_metadata().unwrap().version(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod account;
pub mod attr;
pub mod crypto;
mod decode;
pub mod error;
pub(crate) mod ndr;
pub(crate) mod ndr_write;
mod object_decrypt;
pub mod prefix;
pub mod reply;
pub mod request;
pub mod supplemental;

// The AD primitives live in `crate::ad`; their historic paths under `drs` stay.
pub use crate::ad::{guid, sid, time};

pub use account::{Account, HashState, LmHash, Secrets};
pub use attr::Attr;
pub use crypto::{SecretBytes, SessionKey};
pub use error::{DecodeError, DecodeErrorKind, DecryptError, SessionKeyParseError, Structure};
pub use guid::Guid;
pub use prefix::{AttrId, PrefixTable};
pub use reply::{
    Attribute, AttributeMetadata, DsName, LinkedValue, ReplicatedObject, Reply, UpToDateCursor,
    UsnVector,
};
pub use request::{GetNcChangesRequest, NamingContext, partial_attribute_set};
pub use sid::Sid;
pub use supplemental::{KerberosCredentials, KerberosKey, SupplementalCredentials};
pub use time::DsTime;
