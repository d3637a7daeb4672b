//! [`Watermark`]: where replication of a naming context got to, and what the next
//! `IDL_DRSGetNCChanges` request sends back to continue from there (MS-DRSR §4.1.10.2.1:
//! `usnvecFrom` = the last `usnvecTo`, `uuidInvocIdSrc`, `pUpToDateVecDest`).

use crate::drs::{Guid, Reply, UpToDateCursor, UsnVector};

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

impl Watermark {
    /// The watermark after `reply`, keeping `previous`'s up-to-date vector when the reply
    /// carries none (only the last reply of a cycle does).
    pub fn after(reply: &Reply, previous: Option<&Watermark>) -> Watermark {
        Watermark {
            naming_context: reply.naming_context().and_then(|nc| nc.guid()),
            source_dsa_invocation_id: reply.source_dsa_invocation_id(),
            usn_vec_to: reply.usn_vec_to(),
            up_to_date_vector: match reply.up_to_date_vector() {
                Some(v) => v.iter().map(Cursor::from).collect(),
                None => previous
                    .map(|p| p.up_to_date_vector.clone())
                    .unwrap_or_default(),
            },
            complete: !reply.more_data(),
        }
    }
}

impl From<&UpToDateCursor> for Cursor {
    fn from(c: &UpToDateCursor) -> Cursor {
        Cursor {
            dsa_invocation_id: c.dsa_invocation_id,
            usn_high_prop_update: c.usn_high_prop_update,
            time_last_sync_success: c.time_last_sync_success.0,
        }
    }
}
