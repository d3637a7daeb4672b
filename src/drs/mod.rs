//! DRS replication input (`drs.md` §1–§5): decode `IDL_DRSGetNCChanges` replies (NDR20) and
//! decrypt the secret attributes into a typed [`Account`].
//!
//! | file | what it holds | spec |
//! |---|---|---|
//! | `ndr` | bounds-checked NDR20 reader | §3.2 |
//! | [`reply`] | [`Reply`], [`ReplicatedObject`], attributes, metadata, USN vectors, cursors | §3.3–§3.6 |
//! | [`prefix`] | ATTRTYP ↔ OID through the reply's own prefix table | §1.1–§1.2 |
//! | [`attr`] | well-known attribute and class OIDs | §1.3–§1.4 |
//! | [`crypto`] | [`SessionKey`], MD5/RC4/CRC32 layer, RID DES layer | §2 |
//! | [`account`] | [`Account`], the decrypted typed view | §1.4, §2.5 |
//! | [`supplemental`] | USER_PROPERTIES (Kerberos keys, WDigest, cleartext) | §4 |
//! | [`error`] | [`DecodeError`], [`DecryptError`] | |
//!
//! ```no_run
//! use phsync::drs::{Reply, SessionKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bytes = std::fs::read("reply-000.bin")?;
//! let key = SessionKey::from_hex("6a4c67356b4978683662387464324f73")?;
//! let reply = Reply::decode(&bytes)?;
//! for object in reply.objects() {
//!     let account = object.decrypt(&key)?;
//!     if let Some(nt) = account.nt_hash() {
//!         println!("{:?} {}", account.sam_account_name(), nt.to_hex().as_str());
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod account;
pub mod attr;
pub mod crypto;
mod decode;
pub mod error;
mod object_decrypt;
mod ndr;
pub mod prefix;
pub mod reply;
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
pub use sid::Sid;
pub use supplemental::{KerberosCredentials, KerberosKey, SupplementalCredentials};
pub use time::DsTime;
