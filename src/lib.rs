//! # phsync — password hash synchronization from Active Directory to Entra ID
//!
//! Active Directory keeps each user's NT hash (`MD4(UTF-16LE(password))`). Password hash
//! sync (PHS) reads it by DRS replication, re-salts and stretches it with
//! `PBKDF2-HMAC-SHA256(UTF-16LE(UPPERCASE hex(NT hash)), 10 random bytes, 1000, 32)` and
//! ships the result as `v1;PPH1_MD4,<salt>,<iterations>,<hash>;` — the cleartext password is
//! never needed.
//!
//! The crate is layered like its data path (see [`manual`] for the reasons behind each choice):
//!
//! | part | what it holds |
//! |---|---|
//! | [`ad`] | Active Directory primitives, one copy each: GUID, SID, Windows times |
//! | [`NtHash`], [`Salt`], [`Iterations`], [`CloudVerifier`] | the hashes and the verifier string format |
//! | [`drs`] | DRS replication input: decode `IDL_DRSGetNCChanges` replies, decrypt secrets into [`drs::Account`] |
//! | [`batch`] | the sync policy and the parallel streaming runner: one [`batch::Outcome`] per account, in order; [`batch::DrsSync`] merges incremental replies with the stored state |
//! | [`state`] | the state store of incremental sync: per-object facts and the replication watermark ([`state::StateStore`]; SQLite with feature `sqlite`) |
//! | [`kdf`] | the fixed-shape multi-lane PBKDF2-HMAC-SHA256 kernels, chosen per CPU at run time |
//! | `ldap` (feature `ldap`) | LDAP sources: Samba-schema `sambaNTPassword` directories and AD DirSync change detection |
//!
//! Errors are enums per part ([`ParseError`], [`drs::DecodeError`], [`drs::DecryptError`], …),
//! joined in [`Error`].
//!
//! ```
//! use phsync::{CloudVerifier, Iterations, NtHash, Salt};
//!
//! let nt = NtHash::from_hex("92937945b518814341de3f726500d4ff")?; // "Pa$$w0rd"
//! let salt = Salt::from_bytes([0xa4, 0x2b, 0x92, 0x06, 0x7e, 0x4b, 0x81, 0x23, 0x10, 0x1a]);
//! let v = CloudVerifier::derive(&nt, salt, Iterations::DEFAULT);
//! assert_eq!(
//!     v.to_string(),
//!     "v1;PPH1_MD4,a42b92067e4b8123101a,1000,\
//!      f0fc762ea9051ef754652becd83ee5e54c1c857c1c0965abac5d85de9c143911;"
//! );
//! assert!(v.verify_password("Pa$$w0rd"));
//! # Ok::<(), phsync::ParseError>(())
//! ```
//!
//! NT hashes, fresh verifiers and the string format:
//!
//! ```
//! use phsync::{CloudVerifier, Iterations, NtHash, Salt};
//!
//! let nt = NtHash::from_password("Pa$$w0rd");
//! assert_eq!(nt, NtHash::from_hex("92937945B518814341DE3F726500D4FF")?);
//!
//! // What a sync engine sends: a fresh 10-byte salt, 1000 iterations.
//! let verifier = CloudVerifier::generate(&nt);
//! assert!(verifier.verify_password("Pa$$w0rd"));
//!
//! // The string format round-trips (any hex case in, canonical lowercase out).
//! let parsed: CloudVerifier = verifier.to_string().parse()?;
//! assert_eq!(parsed, verifier);
//! let known = CloudVerifier::derive(&nt, Salt::from_bytes([0x18; 10]), Iterations::DEFAULT);
//! assert!(known.verify_nt_hash(&nt));
//! # Ok::<(), phsync::ParseError>(())
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod ad;
pub mod batch;
#[cfg(feature = "dc")]
pub mod dc;
pub mod drs;
mod error;
mod hex;
pub mod kdf;
#[cfg(feature = "ldap")]
pub mod ldap;
pub mod manual;
mod nt;
mod params;
mod parse_error;
pub mod state;
mod verifier;

pub use error::Error;
pub use nt::NtHash;
pub use params::{Iterations, Salt};
pub use parse_error::{Field, ParseError};
pub use verifier::{CloudVerifier, PREFIX};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
