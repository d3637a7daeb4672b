//! Resumable state a sync engine persists between runs (opaque to it, `serde` to us): the
//! password stamp of every account seen, for change detection.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::account::{Identity, PasswordStamp, SyncAccount};
use super::outcome::{Outcome, SkipReason};
use crate::drs::{Guid, Reply, UpToDateCursor, UsnVector};

/// What the previous run saw of one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    stamp: PasswordStamp,
    pwd_last_set: Option<i64>,
}

/// Per-account password stamps from earlier runs. Persist it with any serde format and hand
/// it to the next run: accounts whose unicodePwd version, originating time and pwdLastSet are
/// all unchanged are skipped as `unchanged` instead of being hashed again.
///
/// Keys are the account's source anchor (or objectGUID, SID, sAMAccountName, in that order
/// of preference). Accounts without a stamp (raw NT-hash input) are always re-hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    passwords: BTreeMap<String, Seen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replication: Option<ReplicationProgress>,
}

/// Where DRS replication of a naming context got to: what the next `IDL_DRSGetNCChanges`
/// request sends back (`usnvecFrom` = [`ReplicationProgress::usn_vec_to`], `uuidInvocIdSrc`,
/// and the up-to-date vector), so that the next run asks only for changes (`drs.md` §3.7).
///
/// A USN watermark is specific to the DC that issued it: when the source DC's invocation id
/// differs, start a full replication instead (`ecosystem.md` §8 item 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationProgress {
    /// The naming context's GUID, when the reply named it.
    pub naming_context: Option<Guid>,
    /// The source DC's invocation id.
    pub source_dsa_invocation_id: Guid,
    /// The watermark to resume from.
    pub usn_vec_to: UsnVector,
    /// The source's up-to-date vector, when the reply carried one.
    pub up_to_date_vector: Vec<UpToDateCursor>,
    /// Whether the cycle was complete (the last reply had `fMoreData` = 0).
    pub complete: bool,
}

fn key(identity: &Identity) -> Option<&str> {
    identity
        .source_anchor
        .as_deref()
        .or(identity.object_guid.as_deref())
        .or(identity.sid.as_deref())
        .or(identity.sam_account_name.as_deref())
}

impl SyncState {
    /// An empty state: every account counts as changed.
    pub fn new() -> SyncState {
        SyncState::default()
    }

    /// Number of accounts remembered.
    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }

    /// Records where replication got to after `reply` has been processed. Call it once per
    /// reply, after its outcomes were handled, so a resumed run never skips objects.
    pub fn record_reply(&mut self, reply: &Reply) {
        let previous_vector = self
            .replication
            .take()
            .map(|p| p.up_to_date_vector)
            .unwrap_or_default();
        self.replication = Some(ReplicationProgress {
            naming_context: reply.naming_context().and_then(|nc| nc.guid()),
            source_dsa_invocation_id: reply.source_dsa_invocation_id(),
            usn_vec_to: reply.usn_vec_to(),
            up_to_date_vector: reply
                .up_to_date_vector()
                .map_or(previous_vector, <[UpToDateCursor]>::to_vec),
            complete: !reply.more_data(),
        });
    }

    /// The replication progress recorded by [`SyncState::record_reply`].
    pub fn replication(&self) -> Option<&ReplicationProgress> {
        self.replication.as_ref()
    }

    /// Whether `account`'s password is the one this state remembers.
    pub fn is_unchanged(&self, account: &SyncAccount) -> bool {
        let (Some(k), Some(stamp)) = (key(&account.identity), account.password_stamp) else {
            return false;
        };
        self.passwords.get(k)
            == Some(&Seen {
                stamp,
                pwd_last_set: account.pwd_last_set,
            })
    }

    /// Records an outcome of this run: synced accounts are remembered with their stamp
    /// (unchanged ones stay remembered); accounts skipped for any other reason, or failed,
    /// are forgotten so that they are hashed again once back in scope.
    pub fn observe(&mut self, outcome: &Outcome) {
        let Some(k) = key(outcome.identity()) else {
            return;
        };
        match outcome {
            Outcome::Synced(record) => match record.password_stamp {
                Some(stamp) => {
                    self.passwords.insert(
                        k.to_owned(),
                        Seen {
                            stamp,
                            pwd_last_set: record.pwd_last_set,
                        },
                    );
                }
                None => {
                    self.passwords.remove(k);
                }
            },
            Outcome::Skipped {
                reason: SkipReason::Unchanged,
                ..
            } => {}
            Outcome::Skipped { .. } | Outcome::Failed { .. } => {
                self.passwords.remove(k);
            }
        }
    }
}
