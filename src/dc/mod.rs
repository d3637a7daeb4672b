//! Replication straight from a domain controller (feature `dc`).
//!
//! The stack, bottom to top, one file each:
//!
//! | layer | file | specification |
//! |---|---|---|
//! | connection-oriented DCE/RPC PDUs | `pdu.rs` | C706 §12.6, MS-RPCE §2.2.2 |
//! | endpoint mapper (`ept_map`) | `epm.rs` | C706 Appendix L, MS-RPCE §2.2.1.2 |
//! | security contexts (NTLM, Kerberos) and PDU sealing | `auth.rs` | MS-RPCE §2.2.2.11–§3.3.1.5.2, MS-NLMP, RFC 4121 |
//! | DRSUAPI calls (`IDL_DRSBind`, `IDL_DRSUnbind`) | `drsuapi.rs` | MS-DRSR §4.1.3, §4.1.25 |
//!
//! The `IDL_DRSGetNCChanges` request encoder and reply decoder live in [`crate::drs`]: decoding
//! and encoding know nothing of the transport.

pub mod auth;
pub mod conn;
pub mod drsuapi;
pub mod epm;
pub mod error;
pub mod pdu;
pub mod replication;
pub mod session;

pub use auth::{Identity, Mechanism};
pub use error::DcError;
pub use replication::{CycleOptions, PHS_ATTRIBUTES, Position, Replication, Schema, fetch_object};
pub use session::{DcConfig, Session};
