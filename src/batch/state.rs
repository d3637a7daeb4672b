//! [`SyncState`]: change detection for sources that are not DRS replication (LDAP, raw NT
//! hashes): the password stamp of every account synced, persisted with any serde format.
//! DRS replication keeps its per-object state and watermark in a `crate::state::StateStore`
//! instead (see [`super::DrsSync`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::account::{Identity, PasswordStamp, SyncAccount};
use super::outcome::{Outcome, SkipReason};

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
/// of preference). Accounts without a stamp (raw NT-hash input) are always re-hashed here; for
/// them, use [`super::VerifierSync`], which remembers the verifier delivered instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(default)]
    passwords: BTreeMap<String, Seen>,
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
