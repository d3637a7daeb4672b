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
