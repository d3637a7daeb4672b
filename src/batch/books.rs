//! The bookkeeping of a [`super::DrsSync`] run between the merge (input side) and the commit
//! (sink side), both on the caller's thread: which objects are in flight, the records waiting
//! for their reply's commit, and what each reply's end does to the watermark.
//!
//! Objects leave the input side in order and their outcomes reach the sink in the same order,
//! so two counters say which are in flight (merged, not delivered); the table of objects
//! merged and not committed holds the sequence number of each one's latest merge. An object
//! merged again while its earlier copy is in flight makes the input side ask the runner to
//! drain ([`super::runner::Feed::Drain`]). Records are merged where they wait (one vector per
//! reply) and committed from there, less the objects that failed.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;

use super::drs_sync::{HeldBack, OutcomeSink, SyncReport};
use super::outcome::Outcome;
use crate::ad::{Guid, GuidMap, guid_map};
use crate::drs::Reply;
use crate::state::{
    Cursor, ObjectRecord, ObjectUpdate, StateError, StateStore, SyncedPassword, Watermark,
};

/// What the sink side meets next, in input order. Small, so that queueing costs nothing: the
/// records wait in [`Books::records`].
pub(super) enum Pending {
    /// An object handed to the runner; `true` when it has a record to store (the next one
    /// of its reply's in [`Books::records`]).
    Object(bool),
    /// The end of reply `index`, and what it does to the watermark.
    ReplyEnd { index: usize, mark: Box<Mark> },
}

/// What the end of a reply does to the watermark.
pub(super) enum Mark {
    /// Moves it here (a reply of the replication cycle).
    To(Watermark),
    /// Holds it where it is for the rest of the run: the reply was unreadable, and why.
    Unreadable(String),
    /// Leaves it alone: the reply of an extended operation (one object fetched out of band,
    /// `ulExtendedRet` ≠ 0, MS-DRSR §4.1.10.2.12) is not part of the cycle.
    Keep,
}

/// The record of the latest object `guid` whose outcome was delivered and was not a failure
/// among `records[..resolved]` (the reply being delivered), if any; `failed` holds the
/// positions of the failed ones, ascending. A linear search, from the end: it runs only for an
/// object merged again in the same run before the reply with its earlier copy was committed.
fn latest_kept<'r>(
    records: &'r [ObjectUpdate],
    resolved: usize,
    failed: &[usize],
    guid: Guid,
) -> Option<&'r ObjectRecord> {
    let resolved = records.get(..resolved)?;
    let (_, update) = resolved
        .iter()
        .enumerate()
        .rev()
        .find(|(at, u)| u.guid == guid && failed.binary_search(at).is_err())?;
    Some(&update.record)
}

/// The shared bookkeeping between the input side (merging) and the sink side (committing),
/// both on the caller's thread.
pub(super) struct Books<'s, S> {
    pub(super) store: &'s mut S,
    pub(super) pending: VecDeque<Pending>,
    /// Objects merged but not committed yet, each with the sequence number of its latest
    /// merge (see `merged`), so a later copy in the same run sees them. Looked up and written
    /// when an object is merged, and once more when its reply is committed; not when its
    /// outcome is delivered: whether it is in flight is its number against `delivered`.
    pub(super) overlay: GuidMap<u64>,
    /// Objects merged so far (the sequence number of the next one).
    pub(super) merged: u64,
    /// Objects whose outcome reached the sink so far.
    pub(super) delivered: u64,
    /// The records of every reply merged and not committed yet, one vector per reply in input
    /// order, each record where its merge put it (a reply's vector is what its commit
    /// stores, less the failed objects). The front one is the reply being delivered: its
    /// first `resolved` records have their outcome.
    pub(super) records: VecDeque<Vec<ObjectUpdate>>,
    pub(super) resolved: usize,
    /// Positions of the front reply's records whose object failed (not stored), ascending
    /// (pushed as the outcomes arrive, in order).
    pub(super) failed_records: Vec<usize>,
    pub(super) failed_in_reply: u64,
    /// The watermark the store had when the run began (the base of the first reply's).
    pub(super) stored: Option<Watermark>,
    /// The watermark after the last reply read (the base of the next one's), delivered or not;
    /// `report.reached` moves only at a reply's end.
    pub(super) read_to: Option<Watermark>,
    pub(super) report: SyncReport,
    pub(super) error: Option<StateError>,
}

impl<'s, S: StateStore> Books<'s, S> {
    /// Books for a run over `store`, whose watermark was `stored` when the run began.
    pub(super) fn new(store: &'s mut S, stored: Option<Watermark>) -> Books<'s, S> {
        Books {
            store,
            pending: VecDeque::new(),
            overlay: guid_map(),
            merged: 0,
            delivered: 0,
            records: VecDeque::new(),
            resolved: 0,
            failed_records: Vec::new(),
            failed_in_reply: 0,
            stored,
            read_to: None,
            report: SyncReport::default(),
            error: None,
        }
    }

    /// Sets `stored` to the record the next merge of `guid` starts from: this run's latest
    /// delivered one, or the store's. `Ok(false)` when an earlier copy of the object is still
    /// in the pipeline: its outcome decides the record (a sync sets
    /// [`ObjectRecord::synced`]), so the pipeline must drain first. With `drained`, it was
    /// drained for this object already, so every earlier copy's outcome is in (it does not
    /// ask twice). (An out parameter: a record returned by value was moved twice more per
    /// object.)
    pub(super) fn lookup(
        &mut self,
        guid: Option<Guid>,
        drained: bool,
        stored: &mut Option<ObjectRecord>,
    ) -> Result<bool, StateError> {
        let Some(guid) = guid else {
            *stored = None;
            return Ok(true);
        };
        if let Some(&last) = self.overlay.get(&guid) {
            if last >= self.delivered && !drained {
                return Ok(false);
            }
            // Not committed yet, so it is in the reply being delivered, if anywhere (a reply
            // that failed to commit is dropped; the run stops reading then).
            let delivering = self
                .records
                .front()
                .and_then(|r| latest_kept(r, self.resolved, &self.failed_records, guid));
            if let Some(record) = delivering {
                *stored = Some(record.clone());
                return Ok(true);
            }
        }
        *stored = self.store.get(&guid)?;
        Ok(true)
    }

    /// Notes the merge of an object about to be handed to the runner: `has_record` when the
    /// merge pushed its record onto the newest reply's vector.
    pub(super) fn note_merge(&mut self, guid: Option<Guid>, has_record: bool) {
        if let (Some(guid), true) = (guid, has_record) {
            self.overlay.insert(guid, self.merged);
        }
        self.merged += 1;
        self.pending.push_back(Pending::Object(has_record));
    }

    /// Commits every reply at the front of the queue whose outcomes were all delivered.
    pub(super) fn drain_ends(&mut self) {
        while let Some(Pending::ReplyEnd { .. }) = self.pending.front() {
            let Some(Pending::ReplyEnd { index, mark }) = self.pending.pop_front() else {
                unreachable!("front is a ReplyEnd");
            };
            self.end_reply(index, *mark);
        }
    }

    fn end_reply(&mut self, index: usize, mark: Mark) {
        if let Mark::To(w) = &mark {
            // Every outcome of this reply was delivered: this far the store could go.
            self.report.reached = Some(w.clone());
        }
        // Every reply read has its records' vector, pushed when it was read.
        let mut batch = self.records.pop_front().unwrap_or_default();
        self.resolved = 0;
        // Its objects leave the overlay unless merged again since (a later reply, not
        // delivered yet): the store's record is theirs now, or, for a failed one, still is.
        // (Should the commit fail, the run stops reading: the overlay is not asked again.)
        for u in &batch {
            if let Entry::Occupied(e) = self.overlay.entry(u.guid)
                && *e.get() < self.delivered
            {
                e.remove();
            }
        }
        if !self.failed_records.is_empty() {
            // Both in order: one pass.
            let mut failed = std::mem::take(&mut self.failed_records)
                .into_iter()
                .peekable();
            let mut at = 0;
            batch.retain(|_| {
                at += 1;
                failed.next_if_eq(&(at - 1)).is_none()
            });
        }
        if self.report.held_back.is_none() {
            if let Mark::Unreadable(error) = &mark {
                self.report.held_back = Some(HeldBack::Unreadable {
                    index,
                    error: error.clone(),
                });
            } else if self.failed_in_reply > 0 {
                self.report.held_back = Some(HeldBack::FailedObjects {
                    index,
                    failed: self.failed_in_reply,
                });
            }
        }
        self.failed_in_reply = 0;
        let advance = match (&mark, &self.report.held_back) {
            (Mark::To(w), None) => Some(w),
            _ => None,
        };
        if self.error.is_some() {
            return;
        }
        match self.store.commit(&batch, advance) {
            Ok(()) => {
                self.report.committed += 1;
                if let Some(w) = advance {
                    self.report.watermark = Some(w.clone());
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Whether a reply end waits at the front of the queue (its outcomes were all delivered).
    pub(super) fn end_ready(&self) -> bool {
        matches!(self.pending.front(), Some(Pending::ReplyEnd { .. }))
    }

    /// The sink side: one outcome, matched with the object it is about, before it is handed
    /// to the sink.
    pub(super) fn take(&mut self, outcome: &Outcome) {
        if self.error.is_some() {
            // Nothing is committed any more; reply ends left behind are dropped.
            self.drain_ends();
        }
        let Some(Pending::Object(has_record)) = self.pending.pop_front() else {
            unreachable!("the runner yields one outcome per object, in order");
        };
        self.delivered += 1;
        let failed = matches!(outcome, Outcome::Failed { .. });
        self.failed_in_reply += u64::from(failed);
        if !has_record {
            return;
        }
        let at = self.resolved;
        self.resolved += 1;
        let Some(update) = self.records.front_mut().and_then(|r| r.get_mut(at)) else {
            unreachable!("each object with a record put it in its reply's vector");
        };
        if let Outcome::Synced(record) = outcome {
            update.record.synced = record.password_stamp.map(|stamp| SyncedPassword {
                stamp,
                pwd_last_set: record.pwd_last_set,
            });
        }
        if failed {
            // A failure leaves the object's record as it was: this one is not stored.
            self.failed_records.push(at);
        }
    }
}

/// The watermark after `reply` (MS-DRSR §4.1.10.2.1: the next request's `usnvecFrom` is this
/// reply's `usnvecTo`), keeping `previous`'s up-to-date vector when the reply carries none (only
/// the last reply of a cycle does).
pub(super) fn watermark_after(reply: &Reply, previous: Option<&Watermark>) -> Watermark {
    Watermark {
        naming_context: reply.naming_context().and_then(|nc| nc.guid()),
        source_dsa_invocation_id: reply.source_dsa_invocation_id(),
        usn_vec_to: reply.usn_vec_to(),
        up_to_date_vector: match reply.up_to_date_vector() {
            Some(v) => v
                .iter()
                .map(|c| Cursor {
                    dsa_invocation_id: c.dsa_invocation_id,
                    usn_high_prop_update: c.usn_high_prop_update,
                    time_last_sync_success: c.time_last_sync_success.0,
                })
                .collect(),
            None => previous
                .map(|p| p.up_to_date_vector.clone())
                .unwrap_or_default(),
        },
        complete: !reply.more_data(),
    }
}

/// Flushes the sink, then commits every reply whose outcomes were all delivered.
pub(super) fn flush_and_commit<S: StateStore, K: OutcomeSink>(b: &mut Books<'_, S>, sink: &mut K) {
    if b.error.is_none() {
        match sink.flush() {
            Ok(()) => b.drain_ends(),
            Err(e) => b.error = Some(StateError::Sink(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::latest_kept;
    use crate::ad::Guid;
    use crate::state::{ObjectKind, ObjectRecord, ObjectUpdate};

    fn update(guid: u8, name: &str) -> ObjectUpdate {
        let mut record = ObjectRecord::new(ObjectKind::User);
        record.sam_account_name = Some(name.to_owned());
        ObjectUpdate {
            guid: Guid::from_bytes_le([guid; 16]),
            record,
        }
    }

    fn name(r: Option<&ObjectRecord>) -> Option<&str> {
        r.and_then(|r| r.sam_account_name.as_deref())
    }

    #[test]
    fn the_latest_delivered_record_that_did_not_fail_is_found() {
        // Object 1 three times in the reply being delivered: kept, kept, failed; then once
        // more, not delivered yet.
        let records = [
            update(1, "first"),
            update(2, "other"),
            update(1, "second"),
            update(1, "failed"),
            update(1, "in flight"),
        ];
        let g1 = Guid::from_bytes_le([1; 16]);
        assert_eq!(name(latest_kept(&records, 4, &[3], g1)), Some("second"));
        // Had the second failed too, the first is the record.
        assert_eq!(name(latest_kept(&records, 4, &[2, 3], g1)), Some("first"));
        // Only what was delivered counts.
        assert_eq!(name(latest_kept(&records, 2, &[], g1)), Some("first"));
        assert_eq!(name(latest_kept(&records, 0, &[], g1)), None);
        // Every copy failed: the store's record stands.
        assert_eq!(latest_kept(&records, 4, &[0, 2, 3], g1), None);
        let g3 = Guid::from_bytes_le([3; 16]);
        assert_eq!(latest_kept(&records, 5, &[], g3), None);
        // A count past the end (never passed) finds nothing rather than panicking.
        assert_eq!(latest_kept(&records, 9, &[], g1), None);
    }
}
