//! The parallel, streaming batch runner: any iterator of accounts in, exactly one
//! [`Outcome`] per account out, in input order, with bounded memory.
//!
//! Inputs are read in chunks on the caller's thread, where the policy decides each account.
//! The accounts to hash are split into sub-batches of a few dozen and spread over the rayon
//! pool, where each sub-batch goes through the multi-lane core in one call. While chunk *k*
//! is being hashed (one helper thread per run hands it to the pool) the caller's thread
//! already reads chunk *k+1*, and *k+2* while *k+1* waits, so decoding overlaps hashing. At
//! most three chunks are alive at any time.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::account::{FailReason, SourceItem, SyncAccount};
use super::outcome::{Failure, Outcome, Record, SkipReason};
use super::policy::{Decision, SyncPolicy, UF_SMARTCARD_REQUIRED};
use super::state::SyncState;
use hashing::Hashed;

mod hashing;

/// Accounts read per chunk unless configured otherwise.
pub const DEFAULT_CHUNK_SIZE: usize = 4096;
/// Accounts per call into the multi-lane core.
pub const DEFAULT_SUB_BATCH: usize = 64;
/// Slots reserved up front for a chunk at most (a larger chunk grows as it is read).
const MAX_RESERVED_CHUNK: usize = 1 << 16;
/// Chunks read and not yet emitted, beyond the one being read, before the caller's thread
/// waits for the pool (see [`Runner::run`]).
///
/// With one, the caller's thread read a chunk, then waited for the pool, then emitted: a
/// pipeline in lock step, where a core sat idle whenever one stage ran late (18 % of the
/// time through `phsync replay` on 2 vCPUs: the input's decoding stopped as soon as its
/// read-ahead filled, while this thread waited for the pool). Two let either side run a
/// chunk ahead (with the shared hash parts of `hash_all`, idle fell to 7-11 %); three or
/// four gained nothing more there.
const CHUNKS_AHEAD: usize = 2;

/// What a source hands [`Runner::run_feed`]: an item, or a request to drain the pipeline.
///
/// A source whose next item depends on the outcomes of items it handed over earlier (the DRS
/// adapter, when an object comes again while its earlier copy is still being hashed: whether
/// that one synced decides what the next one is) asks for a drain instead of guessing, so
/// that an outcome never depends on how far the pipeline happened to be.
#[expect(
    clippy::large_enum_variant,
    reason = "an item is moved once, into its chunk; boxing it would allocate per item"
)]
pub(super) enum Feed {
    /// The next input.
    Item(SourceItem),
    /// Hand the outcome of every item read so far to the sink before reading on.
    Drain,
}

/// A cloneable flag that stops a run between sub-batches. Accounts already read but not yet
/// hashed are reported as failed with reason `cancelled`; nothing is read after it is set.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counts so far, for progress reporting and the final summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Accounts read from the input (= outcomes emitted, once the run returns).
    pub total: u64,
    /// Synced accounts.
    pub synced: u64,
    /// Skipped accounts.
    pub skipped: u64,
    /// Failed accounts.
    pub failed: u64,
    /// Counts per skip or failure reason.
    pub reasons: BTreeMap<&'static str, u64>,
    /// Whether the run stopped early because of a [`CancelToken`].
    pub cancelled: bool,
}

impl Summary {
    /// Adds another run's counts to these (a sync that reconnected ran several times).
    pub fn absorb(&mut self, other: &Summary) {
        self.total += other.total;
        self.synced += other.synced;
        self.skipped += other.skipped;
        self.failed += other.failed;
        for (reason, n) in &other.reasons {
            *self.reasons.entry(reason).or_default() += n;
        }
        self.cancelled |= other.cancelled;
    }

    fn count(&mut self, outcome: &Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Synced(_) => self.synced += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
        if let Some(reason) = outcome.reason() {
            *self.reasons.entry(reason).or_default() += 1;
        }
    }
}

/// A progress callback: called on the caller's thread after each chunk is emitted.
pub type ProgressFn<'a> = &'a (dyn Fn(&Summary) + Sync);

/// Runs a [`SyncPolicy`] over accounts. Cheap to build; reusable.
///
/// ```
/// use phsync::NtHash;
/// use phsync::batch::{Runner, SyncAccount, SyncPolicy};
///
/// let inputs = vec![
///     Ok(SyncAccount::from_nt_hash("alice", NtHash::from_password("Pa$$w0rd"))),
///     Ok(SyncAccount::from_nt_hash("bob", NtHash::from_password("hunter2"))),
/// ];
/// let mut outcomes = Vec::new();
/// let summary = Runner::new(SyncPolicy::default()).run(inputs, |o| outcomes.push(o));
/// assert_eq!(summary.synced, 2);
/// assert!(outcomes[0].verifier().unwrap().verify_password("Pa$$w0rd"));
/// ```
pub struct Runner<'a> {
    policy: SyncPolicy,
    previous: Option<&'a SyncState>,
    chunk_size: usize,
    sub_batch: usize,
    progress: Option<ProgressFn<'a>>,
    cancel: CancelToken,
    pool: Option<&'a rayon::ThreadPool>,
}

/// An input read and decided, waiting for its verifier and its outcome. The outcome is built
/// when the chunk is finished, on the runner's helper thread: built while reading, on the
/// caller's thread (the pipeline's serial stage), it cost two more moves of every item.
struct Slot {
    item: SourceItem,
    verdict: Verdict,
}

/// What the policy decided for a [`Slot`]'s item.
#[derive(Clone, Copy)]
enum Verdict {
    /// The source could not read it (the item is an `Err`).
    SourceFailed,
    Skip(SkipReason),
    Fail(FailReason),
    Hash {
        must_change_password: bool,
    },
}

impl<'a> Runner<'a> {
    /// A runner with `policy`, the global rayon pool, default chunk sizes, no previous state.
    pub fn new(policy: SyncPolicy) -> Runner<'a> {
        Runner {
            policy,
            previous: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            sub_batch: DEFAULT_SUB_BATCH,
            progress: None,
            cancel: CancelToken::new(),
            pool: None,
        }
    }

    /// Change detection: skip accounts whose password stamp equals the one in `state`.
    pub fn previous_state(mut self, state: &'a SyncState) -> Self {
        self.previous = Some(state);
        self
    }

    /// Accounts read per chunk (at least 1). Memory is at most three chunks of accounts: one
    /// being read, and two hashed, waiting to be hashed, or being emitted.
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n.max(1);
        self
    }

    /// Accounts per call into the hashing core at most (at least 1). A chunk with fewer
    /// accounts to hash than the pool's threads could share at this size (a DRS reply's
    /// chunk, where most objects are not users) is split finer, into parts no narrower than
    /// the selected kernel's lanes, so that no thread waits while another hashes.
    pub fn sub_batch(mut self, n: usize) -> Self {
        self.sub_batch = n.max(1);
        self
    }

    /// Called after every chunk with the counts so far.
    pub fn on_progress(mut self, f: ProgressFn<'a>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stops the run when `token` is cancelled.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Hash on this pool instead of rayon's global one.
    pub fn thread_pool(mut self, pool: &'a rayon::ThreadPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &SyncPolicy {
        &self.policy
    }

    /// Runs `job` on this runner's pool (rayon's global one unless configured).
    fn install<R: Send>(&self, job: impl FnOnce() -> R + Send) -> R {
        match self.pool {
            Some(pool) => pool.install(job),
            None => job(),
        }
    }

    /// Runs over `inputs`, handing every outcome to `sink` in input order, and returns the
    /// counts. Reading the next chunk, and handing the last one's outcomes to `sink`, overlap
    /// hashing the current one; the input iterator and `sink` stay on the caller's thread, so
    /// neither need be `Send`.
    pub fn run<I, F>(&self, inputs: I, mut sink: F) -> Summary
    where
        I: IntoIterator<Item = SourceItem>,
        F: FnMut(Outcome),
    {
        self.run_feed(inputs.into_iter().map(Feed::Item), |done| {
            done.into_iter().for_each(&mut sink);
        })
    }

    /// [`Runner::run`] over a source that may ask for a [`Feed::Drain`]: every outcome of the
    /// items before it is handed to `sink` before the next item is read. `sink` takes a chunk's
    /// outcomes at a time, in order (each outcome handed on by value from there is one move
    /// fewer than through a per-outcome closure).
    pub(super) fn run_feed<I, F>(&self, mut iter: I, mut sink: F) -> Summary
    where
        I: Iterator<Item = Feed>,
        F: FnMut(Vec<Outcome>),
    {
        let mut summary = Summary::default();
        std::thread::scope(|scope| {
            // One helper thread for the whole run (not one per chunk): it hands each chunk to
            // the pool and returns its outcomes, while this thread reads the next chunk.
            // The helper's queue: the chunk it hashes, and up to `CHUNKS_AHEAD - 1` waiting.
            let (to_hash, chunks) = std::sync::mpsc::sync_channel::<Vec<Slot>>(CHUNKS_AHEAD - 1);
            // Unbounded, but `inflight` below bounds what it holds.
            let (to_emit, hashed) = std::sync::mpsc::channel::<Vec<Outcome>>();
            let helper = scope.spawn(move || {
                for chunk in chunks {
                    if to_emit.send(self.finish_chunk(chunk)).is_err() {
                        break;
                    }
                }
            });
            // Chunks sent to the helper and not emitted yet.
            let mut inflight = 0usize;
            loop {
                let (chunk, drain) = self.read_chunk(&mut iter);
                if chunk.is_empty() && !drain {
                    break;
                }
                // A chunk goes to the pool before this thread emits the ones before it, so
                // the pool hashes while the sink runs.
                // An error means the helper panicked; the join below re-raises the panic.
                if !chunk.is_empty() {
                    if to_hash.send(chunk).is_err() {
                        break;
                    }
                    inflight += 1;
                }
                if drain {
                    // Everything read so far reaches the sink before the source goes on.
                    while inflight > 0 {
                        let Ok(done) = hashed.recv() else { break };
                        inflight -= 1;
                        self.emit(done, &mut sink, &mut summary);
                    }
                    continue;
                }
                // Emit what is hashed already. Wait for the oldest chunk only when more than
                // `CHUNKS_AHEAD` are out: until then, this thread keeps reading, so the
                // decoding behind the input keeps going while the pool hashes.
                while inflight > 0 {
                    let done = if inflight > CHUNKS_AHEAD {
                        hashed.recv().ok()
                    } else {
                        hashed.try_recv().ok()
                    };
                    let Some(done) = done else { break };
                    inflight -= 1;
                    self.emit(done, &mut sink, &mut summary);
                }
            }
            drop(to_hash);
            // The rest, in order; the channel ends when the helper does.
            for done in hashed {
                self.emit(done, &mut sink, &mut summary);
            }
            join(helper);
        });
        summary.cancelled = self.cancel.is_cancelled();
        summary
    }

    /// Pull-style: an iterator of outcomes, one per input, in order. Each chunk is read, then
    /// hashed in parallel, then yielded (no read/hash overlap; use [`Runner::run`] for that).
    pub fn outcomes<I>(&'a self, inputs: I) -> Outcomes<'a, I::IntoIter>
    where
        I: IntoIterator<Item = SourceItem>,
    {
        Outcomes {
            runner: self,
            inputs: inputs.into_iter(),
            ready: VecDeque::new(),
        }
    }

    /// The next chunk: up to `chunk_size` items, fewer where the source asks for a drain
    /// (then `true`) or ends.
    fn read_chunk(&self, iter: &mut impl Iterator<Item = Feed>) -> (Vec<Slot>, bool) {
        if self.cancel.is_cancelled() {
            return (Vec::new(), false);
        }
        // Sized up front: the source (an iterator of unknown length) would otherwise grow the
        // chunk by doubling, copying every slot read so far each time (-4 to -6 % of the DRS
        // pipeline's time). Capped, so that a huge configured chunk is not allocated before
        // anything is read.
        let mut chunk = Vec::with_capacity(self.chunk_size.min(MAX_RESERVED_CHUNK));
        for feed in iter {
            match feed {
                Feed::Item(item) => {
                    // Pushed first and decided in place: one move of the item fewer.
                    chunk.push(Slot {
                        item,
                        verdict: Verdict::SourceFailed,
                    });
                    if let Some(slot) = chunk.last_mut() {
                        slot.verdict = self.decide(&slot.item);
                    }
                }
                Feed::Drain => return (chunk, true),
            }
            if chunk.len() == self.chunk_size {
                break;
            }
        }
        (chunk, false)
    }

    fn decide(&self, item: &SourceItem) -> Verdict {
        let Ok(account) = item else {
            return Verdict::SourceFailed;
        };
        match self.policy.decide(account, self.previous) {
            Decision::Skip(reason) => Verdict::Skip(reason),
            Decision::Sync {
                must_change_password,
            } => Verdict::Hash {
                must_change_password,
            },
            Decision::Fail(reason) => Verdict::Fail(reason),
        }
    }

    /// Hashes every slot to hash of the chunk in parallel and returns the outcomes in order.
    fn finish_chunk(&self, chunk: Vec<Slot>) -> Vec<Outcome> {
        let work: Vec<usize> = (0..chunk.len())
            .filter(|&i| matches!(chunk[i].verdict, Verdict::Hash { .. }))
            .collect();
        // `work` lists the slots to hash in order, so the results line up with them.
        let mut results = self.hash_all(&chunk, &work).into_iter();
        chunk
            .into_iter()
            .map(|Slot { item, verdict }| match (item, verdict) {
                (Err(failure), _) => {
                    let failure = *failure;
                    Outcome::Failed {
                        identity: failure.identity,
                        failure: Failure {
                            reason: failure.reason,
                            detail: failure.detail,
                        },
                    }
                }
                (Ok(account), Verdict::Skip(reason)) => skipped(account, reason),
                (Ok(account), Verdict::Fail(reason)) => Outcome::Failed {
                    identity: account.identity,
                    failure: Failure {
                        reason,
                        detail: failure_detail(reason).into(),
                    },
                },
                (Ok(_), Verdict::SourceFailed) => {
                    unreachable!("only an Err item is decided SourceFailed")
                }
                (
                    Ok(account),
                    Verdict::Hash {
                        must_change_password,
                    },
                ) => match results.next() {
                    Some(Hashed::New(verifier)) => Outcome::Synced(Record {
                        smart_card_required: account.user_account_control.unwrap_or(0)
                            & UF_SMARTCARD_REQUIRED
                            != 0,
                        pwd_last_set: account.pwd_last_set,
                        password_stamp: account.password_stamp,
                        identity: account.identity,
                        verifier,
                        must_change_password,
                    }),
                    Some(Hashed::Unchanged) => skipped(account, SkipReason::Unchanged),
                    Some(Hashed::Failed(failure)) => Outcome::Failed {
                        identity: account.identity,
                        failure,
                    },
                    None => unreachable!("hash_all yields one result per slot to hash"),
                },
            })
            .collect()
    }

    fn emit<F: FnMut(Vec<Outcome>)>(
        &self,
        done: Vec<Outcome>,
        sink: &mut F,
        summary: &mut Summary,
    ) {
        for outcome in &done {
            summary.count(outcome);
        }
        sink(done);
        if let Some(progress) = self.progress {
            progress(summary);
        }
    }
}

/// The outcome of an account skipped for `reason`.
fn skipped(account: SyncAccount, reason: SkipReason) -> Outcome {
    Outcome::Skipped {
        must_change_password: account.pwd_last_set == Some(0),
        identity: account.identity,
        reason,
    }
}

/// What a policy failure means, for people.
fn failure_detail(reason: FailReason) -> &'static str {
    match reason {
        FailReason::PasswordNotReplicated => {
            "the account is in scope and its password was never synced, but this input does \
             not carry the password (it did not change): replicate the account's secrets \
             (EXOP_REPL_SECRET) or run a full sync"
        }
        _ => "the sync policy could not process this account",
    }
}

pub(super) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// The iterator returned by [`Runner::outcomes`].
pub struct Outcomes<'a, I> {
    runner: &'a Runner<'a>,
    inputs: I,
    ready: VecDeque<Outcome>,
}

impl<I: Iterator<Item = SourceItem>> Iterator for Outcomes<'_, I> {
    type Item = Outcome;

    fn next(&mut self) -> Option<Outcome> {
        if self.ready.is_empty() {
            let (chunk, _) = self
                .runner
                .read_chunk(&mut self.inputs.by_ref().map(Feed::Item));
            if chunk.is_empty() {
                return None;
            }
            self.ready.extend(self.runner.finish_chunk(chunk));
        }
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::{Feed, Runner};
    use crate::batch::{SyncAccount, SyncPolicy};
    use crate::{Iterations, NtHash};

    #[test]
    fn a_drain_hands_every_outcome_read_before_it_to_the_sink_first() {
        let policy = SyncPolicy {
            iterations: Iterations::new(1).unwrap(),
            ..SyncPolicy::default()
        };
        // 40 accounts, a drain after every seventh: the item after a drain is read only once
        // the sink has had every outcome before it, whatever the chunk size.
        for chunk in [1, 3, 16, 4096] {
            let (read, emitted) = (Cell::new(0usize), Cell::new(0usize));
            let mut drains = 0;
            let mut pending_drain = false;
            let source = std::iter::from_fn(|| {
                if read.get() == 40 {
                    return None;
                }
                if read.get() % 7 == 6 && !pending_drain {
                    pending_drain = true;
                    return Some(Feed::Drain);
                }
                if pending_drain {
                    assert_eq!(emitted.get(), read.get(), "chunk {chunk}");
                    pending_drain = false;
                    drains += 1;
                }
                read.set(read.get() + 1);
                let name = format!("user{}", read.get());
                Some(Feed::Item(Ok(SyncAccount::from_nt_hash(
                    &name,
                    NtHash::from_password(&name),
                ))))
            });
            let mut names = Vec::new();
            let summary = Runner::new(policy.clone())
                .chunk_size(chunk)
                .run_feed(source, |done| {
                    for o in done {
                        emitted.set(emitted.get() + 1);
                        names.push(o.identity().sam_account_name.clone().unwrap());
                    }
                });
            assert_eq!(summary.synced, 40);
            assert_eq!(drains, 5, "chunk {chunk}");
            let want: Vec<String> = (1..=40).map(|i| format!("user{i}")).collect();
            assert_eq!(names, want, "chunk {chunk}");
        }
    }

    #[test]
    fn a_huge_chunk_size_is_not_reserved_up_front() {
        let policy = SyncPolicy {
            iterations: Iterations::new(1).unwrap(),
            ..SyncPolicy::default()
        };
        let inputs = vec![Ok(SyncAccount::from_nt_hash(
            "a",
            NtHash::from_password("x"),
        ))];
        let summary = Runner::new(policy)
            .chunk_size(usize::MAX)
            .run(inputs, |_| {});
        assert_eq!(summary.synced, 1);
    }
}
