//! [`Watermark`]: where replication of a naming context got to, and what the next
//! `IDL_DRSGetNCChanges` request sends back to continue from there (MS-DRSR §4.1.10.2.1:
//! `usnvecFrom` = the last `usnvecTo`, `uuidInvocIdSrc`, `pUpToDateVecDest`).

use crate::ad::{Guid, UsnVector};

/// One entry of the source's up-to-date vector (`UPTODATE_CURSOR_V2`, MS-DRSR §5.208).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The invocation id of the DC the cursor is about.
    pub dsa_invocation_id: Guid,
    /// The highest USN of that DC's changes already seen.
    pub usn_high_prop_update: i64,
    /// `timeLastSyncSuccess`, seconds since 1601 (DSTIME).
    pub time_last_sync_success: i64,
}

/// The replication watermark of one naming context.
///
/// A USN watermark is specific to the DC that issued it: when the source DC's invocation id
/// differs, start a full replication instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// The naming context's GUID, when the reply named it.
    pub naming_context: Option<Guid>,
    /// The source DC's invocation id (`uuidInvocIdSrc`).
    pub source_dsa_invocation_id: Guid,
    /// `usnvecTo` of the last committed reply: the next request's `usnvecFrom`.
    pub usn_vec_to: UsnVector,
    /// The source's up-to-date vector, from the last reply that carried one.
    pub up_to_date_vector: Vec<Cursor>,
    /// Whether the cycle was complete (the last reply had `fMoreData` = 0).
    pub complete: bool,
}
