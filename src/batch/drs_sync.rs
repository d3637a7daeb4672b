//! [`DrsSync`]: DRS replies in, one outcome per replicated object out, and the state store
//! kept in step — the one adapter between `drs` and the batch runner.
//!
//! Each object is read once, merged with its stored record (see `merge`), decided by the
//! policy and hashed by the [`Runner`]. A reply's records and the watermark it reached are
//! committed in one [`StateStore::commit`] only after every outcome of that reply reached the
//! sink. The watermark never moves past a reply that was not delivered whole: once a reply is
//! unreadable or one of its objects failed, later replies of the same run still get their
//! outcomes and records, but the watermark stays where it was, so the next run asks the DC
//! for those changes again (at-least-once, never skipped).
//!
//! An object merged again while its earlier copy of the same run is still in the pipeline
//! waits for that copy's outcome (the runner drains first, [`super::runner::Feed::Drain`]):
//! whether it synced decides the record the next copy is merged with, and the outcomes of a
//! run must not depend on how far the pipeline happened to be.

use std::cell::RefCell;
use std::fmt::Display;

use super::books::{Books, Mark, Pending, flush_and_commit, watermark_after};
use super::merge::{Prepared, merge};
use super::outcome::Outcome;
use super::read_ahead::{Queued, ReadAhead};
use super::runner::{Feed, Runner, Summary, join};
use crate::drs::{Reply, SessionKey};
use crate::state::{StateError, StateStore, Watermark};

/// Why the watermark was not advanced to the end of the input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeldBack {
    /// Reply `index` (0-based, in input order) could not be read or decoded.
    Unreadable {
        /// Its position in the input.
        index: usize,
        /// What went wrong.
        error: String,
    },
    /// Objects of reply `index` failed (decryption, unknown object, …).
    FailedObjects {
        /// Its position in the input.
        index: usize,
        /// How many of its objects failed.
        failed: u64,
    },
    /// The run stopped early (cancelled, or the state could not be written).
    Stopped,
}

/// What a [`DrsSync::run`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The runner's counts.
    pub summary: Summary,
    /// Replies in the input.
    pub replies: usize,
    /// Replies whose records were committed.
    pub committed: usize,
    /// Replies that could not be read or decoded, with the error.
    pub unreadable: Vec<(usize, String)>,
    /// The watermark committed last in this run, if any.
    pub watermark: Option<Watermark>,
    /// Why the watermark stopped short of the input's end, if it did.
    pub held_back: Option<HeldBack>,
    /// The watermark of the last reply whose outcomes were all delivered, committed or not:
    /// where the store would be had nothing held it back (a reply cut short by a cancel or an
    /// error does not count). Replies of extended operations (one object fetched out of band,
    /// `ulExtendedRet` ≠ 0) neither set nor move it.
    pub reached: Option<Watermark>,
}

/// Where [`DrsSync::run_to`] hands outcomes: implement it to make outcomes durable before
/// their reply's state is committed (e.g. flush a buffered writer). [`DrsSync::run`] takes a
/// closure instead, whose flush does nothing.
pub trait OutcomeSink {
    /// One outcome, in input order.
    fn outcome(&mut self, outcome: Outcome);

    /// Makes every outcome handed over so far durable. Called before each commit; an error
    /// stops the run with nothing more committed.
    ///
    /// # Errors
    /// Whatever kept the outcomes from their destination.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A closure as a sink.
pub(super) struct ClosureSink<F>(pub(super) F);

impl<F: FnMut(Outcome)> OutcomeSink for ClosureSink<F> {
    fn outcome(&mut self, outcome: Outcome) {
        (self.0)(outcome);
    }
}

/// DRS replies through the sync policy and the hashing runner, merged with and committed to a
/// [`StateStore`].
///
/// ```
/// use phsync::batch::{DrsSync, Runner, SyncPolicy};
/// use phsync::drs::{Reply, SessionKey};
/// use phsync::state::MemoryStore;
///
/// let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samba-a/bin/samba-krb5-nc");
/// let key = SessionKey::from_hex(
///     "47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3",
/// )?;
/// let replies = (0..3).map(|i| {
///     let bytes = std::fs::read(format!("{dir}/reply-{i:03}.bin")).map_err(|e| e.to_string())?;
///     Reply::decode(&bytes).map_err(|e| e.to_string())
/// });
/// let mut sync = DrsSync::new(MemoryStore::new(), vec![key]);
/// let runner = Runner::new(SyncPolicy::default());
/// let mut synced = 0;
/// let report = sync.run(&runner, replies, |o| synced += usize::from(o.verifier().is_some()))?;
/// assert_eq!(report.committed, 3);
/// assert!(report.watermark.is_some() && report.held_back.is_none());
/// assert_eq!(synced, 11);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DrsSync<S> {
    store: S,
    keys: Vec<SessionKey>,
}

impl<S: StateStore> DrsSync<S> {
    /// An adapter over `store`, decrypting with `keys` (newest first, for key rollover).
    pub fn new(store: S, keys: Vec<SessionKey>) -> DrsSync<S> {
        DrsSync { store, keys }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, giving up the adapter.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Runs `replies` (in order; an `Err` is a reply that could not be read or decoded, and
    /// holds the watermark back) through `runner`, handing every outcome to `sink` in input
    /// order, and commits the state reply by reply, after the reply's last outcome was handed
    /// to `sink`.
    ///
    /// # Errors
    /// The store could not be read or written; the run stops reading. Outcomes already handed
    /// to the sink stay delivered; what was not committed is asked for again by the next run.
    pub fn run<I, E, F>(
        &mut self,
        runner: &Runner<'_>,
        replies: I,
        sink: F,
    ) -> Result<SyncReport, StateError>
    where
        I: IntoIterator<Item = Result<Reply, E>>,
        E: Display,
        F: FnMut(Outcome),
    {
        self.run_to(runner, replies, ClosureSink(sink))
    }

    /// Like [`DrsSync::run`], with a sink that is flushed ([`OutcomeSink::flush`]) before each
    /// commit: a reply's state is committed only after its outcomes left the process.
    ///
    /// # Errors
    /// The store could not be read or written, or the sink's flush failed
    /// ([`StateError::Sink`]); the run stops reading. Outcomes already handed to the sink stay
    /// delivered; what was not committed is asked for again by the next run.
    pub fn run_to<I, E, K>(
        &mut self,
        runner: &Runner<'_>,
        replies: I,
        sink: K,
    ) -> Result<SyncReport, StateError>
    where
        I: IntoIterator<Item = Result<Reply, E>>,
        E: Display,
        K: OutcomeSink,
    {
        let replies = replies.into_iter().map(|r| {
            r.map(|reply| Queued::Decoded(Box::new(reply)))
                .map_err(|e| e.to_string())
        });
        self.run_queued(runner, replies, sink)
    }

    /// Like [`DrsSync::run_to`], with the replies still encoded: each item is the `[out]`
    /// stub of one `IDL_DRSGetNCChanges` call (what [`Reply::decode`] reads). Decoding then
    /// runs on the read-ahead workers beside decryption, so a reply's objects are allocated,
    /// read and freed on one thread; this is the faster way when the replies come as bytes
    /// (files, or the wire). A stub that does not decode is reported as unreadable
    /// ([`SyncReport::unreadable`]) and holds the watermark back, like an `Err` item. Each
    /// buffer (its secrets still under the session key) is taken without a copy
    /// ([`Reply::decode_owned`]) and wiped on the worker once its objects are prepared, or
    /// once it failed to decode.
    ///
    /// # Errors
    /// As [`DrsSync::run_to`].
    pub fn run_stubs_to<I, E, K>(
        &mut self,
        runner: &Runner<'_>,
        stubs: I,
        sink: K,
    ) -> Result<SyncReport, StateError>
    where
        I: IntoIterator<Item = Result<Vec<u8>, E>>,
        E: Display,
        K: OutcomeSink,
    {
        let stubs = stubs
            .into_iter()
            .map(|r| r.map(Queued::Encoded).map_err(|e| e.to_string()));
        self.run_queued(runner, stubs, sink)
    }

    /// Like [`DrsSync::run_stubs_to`], each stub got by a closure that runs on the read-ahead
    /// worker which then decodes it: reading a reply file there puts its bytes in the cache
    /// of the core that decodes them, and spares the caller a reader thread of its own
    /// (`phsync replay` does this; why: [`crate::manual`], the pipeline's stages). A load
    /// that fails is reported as unreadable ([`SyncReport::unreadable`], with the closure's
    /// error) and holds the watermark back, like an `Err` item of [`DrsSync::run_stubs_to`].
    /// Loads run in order of their items, ahead of the merge by the read-ahead's bound, and
    /// each at most once; one not yet run when the run stops is dropped unrun.
    ///
    /// # Errors
    /// As [`DrsSync::run_to`].
    pub fn run_loads_to<I, L, E, K>(
        &mut self,
        runner: &Runner<'_>,
        loads: I,
        sink: K,
    ) -> Result<SyncReport, StateError>
    where
        I: IntoIterator<Item = L>,
        L: FnOnce() -> Result<Vec<u8>, E> + Send + 'static,
        E: Display,
        K: OutcomeSink,
    {
        let loads = loads.into_iter().map(|load| {
            Ok(Queued::Load(Box::new(move || {
                load().map_err(|e| e.to_string())
            })))
        });
        self.run_queued(runner, loads, sink)
    }

    fn run_queued<K: OutcomeSink>(
        &mut self,
        runner: &Runner<'_>,
        replies: impl Iterator<Item = Result<Queued, String>>,
        mut sink: K,
    ) -> Result<SyncReport, StateError> {
        let previous = self.store.watermark()?;
        let books = RefCell::new(Books::new(&mut self.store, previous));
        let keys = &self.keys;
        let mut replies = replies.enumerate();
        // The current reply's objects, each merged in place (`merge` takes its values).
        let mut objects = Vec::<Prepared>::new();
        let mut next_object = 0;
        let mut current: Option<(usize, Mark)> = None;
        let summary = std::thread::scope(|scope| {
            // The next replies are decoded and decrypted in the background (`ReadAhead`);
            // only the merge with the store runs on this thread.
            let (mut ahead, workers) = ReadAhead::start(scope, keys);
            // Whether the pipeline was drained for the object at `next_object`.
            let mut drained = false;
            let items = std::iter::from_fn(|| -> Option<Feed> {
                loop {
                    if books.borrow().error.is_some() {
                        return None;
                    }
                    if let Some(object) = objects.get_mut(next_object) {
                        let mut b = books.borrow_mut();
                        let mut stored = None;
                        match b.lookup(object.guid(), drained, &mut stored) {
                            Ok(true) => {}
                            Ok(false) => {
                                drained = true;
                                return Some(Feed::Drain);
                            }
                            Err(e) => {
                                b.error = Some(e);
                                return None;
                            }
                        }
                        drained = false;
                        next_object += 1;
                        let b = &mut *b;
                        let Some(records) = b.records.back_mut() else {
                            unreachable!("a reply's vector is pushed when it is read");
                        };
                        let before = records.len();
                        let item = merge(object, stored, records);
                        let has_record = records.len() > before;
                        b.note_merge(object.guid(), has_record);
                        return Some(Feed::Item(item));
                    }
                    let mut b = books.borrow_mut();
                    if let Some((index, mark)) = current.take() {
                        let mark = Box::new(mark);
                        b.pending.push_back(Pending::ReplyEnd { index, mark });
                    }
                    while ahead.has_room() {
                        let Some((index, reply)) = replies.next() else {
                            break;
                        };
                        ahead.push(index, reply);
                    }
                    let (index, ready) = ahead.next()?;
                    b.report.replies += 1;
                    let objects_in_reply = ready.as_ref().map_or(0, |(_, p)| p.len());
                    b.records.push_back(Vec::with_capacity(objects_in_reply));
                    let (mark, prepared) = match ready {
                        Ok((reply, prepared)) if reply.extended_ret() != 0 => {
                            (Mark::Keep, prepared)
                        }
                        Ok((reply, prepared)) => {
                            // After this run's last reply, or else where the store was.
                            let before = b.read_to.as_ref().or(b.stored.as_ref());
                            let watermark = watermark_after(&reply, before);
                            b.read_to = Some(watermark.clone());
                            (Mark::To(watermark), prepared)
                        }
                        Err(error) => {
                            b.report.unreadable.push((index, error.clone()));
                            // No objects: the reply ends here.
                            let mark = Box::new(Mark::Unreadable(error));
                            b.pending.push_back(Pending::ReplyEnd { index, mark });
                            continue;
                        }
                    };
                    current = Some((index, mark));
                    objects = prepared;
                    next_object = 0;
                }
            });
            let summary = runner.run_feed(items, |done| {
                for outcome in done {
                    {
                        let mut b = books.borrow_mut();
                        if b.end_ready() {
                            flush_and_commit(&mut b, &mut sink);
                        }
                        b.take(&outcome);
                    }
                    sink.outcome(outcome);
                    let mut b = books.borrow_mut();
                    if b.end_ready() {
                        flush_and_commit(&mut b, &mut sink);
                    }
                }
            });
            drop(ahead);
            for worker in workers {
                join(worker);
            }
            summary
        });
        let mut b = books.into_inner();
        if b.end_ready() {
            flush_and_commit(&mut b, &mut sink);
        }
        if b.error.is_none() && (summary.cancelled || current.is_some()) {
            b.report.held_back.get_or_insert(HeldBack::Stopped);
        }
        b.report.summary = summary;
        match b.error {
            Some(e) => Err(e),
            None => Ok(b.report),
        }
    }
}
