//! Active Directory primitives shared by every part of the crate, one copy each: [`Guid`]
//! (MS-DTYP §2.3.4), [`Sid`] (MS-DTYP §2.4.2.2), Windows times ([`DsTime`], FILETIME) and the
//! replication watermark [`UsnVector`] (MS-DRSR §5.210).
//!
//! They depend on nothing else in the crate. The DRS part re-exports them under their historic
//! paths (`phsync::drs::Guid`, `phsync::drs::guid`, …).

pub mod guid;
pub(crate) mod guid_map;
pub mod sid;
pub mod time;
pub mod usn;

pub use guid::{Guid, GuidParseError};
pub(crate) use guid_map::{GuidMap, guid_map};
pub use sid::Sid;
pub use time::DsTime;
pub use usn::UsnVector;
