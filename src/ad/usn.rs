//! [`UsnVector`]: a replication watermark (MS-DRSR §5.210 `USN_VECTOR`), the one replication
//! value that outlives a reply: the state store keeps it, the next request sends it back.

use serde::{Deserialize, Serialize};

/// `USN_VECTOR` (MS-DRSR §5.210): the replication watermark. Send `usn_vec_to` back as the next
/// request's `usnvecFrom` while `fMoreData` is true (MS-DRSR §4.1.10.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UsnVector {
    /// `usnHighObjUpdate`.
    pub usn_high_obj_update: i64,
    /// `usnReserved`.
    pub usn_reserved: i64,
    /// `usnHighPropUpdate`.
    pub usn_high_prop_update: i64,
}
