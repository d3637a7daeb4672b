//! LDAP sources on the `ldap3` crate (feature `ldap`).
//!
//! - **Samba-schema directories** ([`SambaSource`]): OpenLDAP (or any server with Samba's
//!   schema) holding `sambaNTPassword` on `sambaSamAccount` entries. A paged search yields one
//!   [`SourceItem`](crate::batch::SourceItem) per entry, ready for
//!   [`Runner::run`](crate::batch::Runner::run), just like DRS accounts. The attribute
//!   mapping (identity, disabled flag, "must change", change-detection stamp, placeholder
//!   hashes) is documented in [`samba_attrs`].
//! - **AD DirSync change detection** ([`DirSyncSearch`]): the
//!   `LDAP_SERVER_DIRSYNC_OID` control, typed, with a non-panicking parser and a serde-able
//!   [`DirSyncCookie`], to learn which accounts changed before asking DRS for their secrets.
//!
//! Connections ([`ConnectOptions`]) support `ldap://`, `ldaps://` (rustls, system trust
//! store), StartTLS, and `ldapi://` Unix sockets; simple bind or SASL EXTERNAL. Errors are
//! typed ([`LdapSourceError`]): an unreachable server, bad credentials, a size limit or a
//! referral are distinct variants, and a read stopped early still delivers every entry it
//! received first.
//!
//! The `ldap3` crate is re-exported as [`ldap3`] for callers that need its own
//! settings (custom TLS configuration, GSSAPI); wrap such a connection with
//! [`Connection::from_ldap3`].

mod ber;
mod connect;
pub mod dirsync;
mod dirsync_control;

mod entry;
mod error;
pub mod repl_metadata;
mod samba;
pub mod samba_attrs;

pub use ldap3;

pub use ber::BerError;
pub use connect::{Bind, ConnectOptions, Connection, TlsOptions};
pub use dirsync::{
    ChangedObject, DIRSYNC_OID, DirSyncCookie, DirSyncFlags, DirSyncPage, DirSyncPages,
    DirSyncRequest, DirSyncResponse, DirSyncSearch,
};
pub use entry::Entry;
pub use error::{BoxError, LdapSourceError, rc};
pub use samba::{
    DEFAULT_FILTER, PAGED_RESULTS_OID, ReadSummary, SambaAccounts, SambaConfig, SambaSource,
};
