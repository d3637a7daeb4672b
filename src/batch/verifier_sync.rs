//! [`VerifierSync`]: sources without replication stamps (NT-hash files, raw `(name, hash)`
//! pairs) through the runner, with change detection by the verifier last delivered per account
//! (`crate::state::VerifierStore`; why the verifier: see that module).
//!
//! The bookkeeping mirrors [`super::DrsSync`]: each account's stored verifier is looked up on
//! the caller's thread as the runner reads it, and the new verifiers are committed in batches,
//! each only after the sink has flushed the outcomes it records. A crash therefore loses at most
//! the uncommitted batch, whose accounts the next run syncs again (at-least-once).
//!
//! An account that comes again in the same input is checked against what its earlier line
//! delivered, committed or not; while that line is still being hashed the runner drains first
//! ([`super::runner::Feed::Drain`]), so the outcome never depends on how far the pipeline got.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use super::account::{Identity, SourceItem};
use super::drs_sync::{ClosureSink, OutcomeSink};
use super::outcome::{Outcome, SkipReason};
use super::runner::{Feed, Runner, Summary};
use crate::CloudVerifier;
use crate::state::{StateError, VerifierStore, VerifierUpdate};

/// Updates committed per transaction unless configured otherwise.
pub const DEFAULT_COMMIT_EVERY: usize = 4096;

/// The key an account's verifier is remembered under: the first of the identity's source
/// anchor (`anchor:…`), objectGUID (`guid:…`), SID (`sid:…`) and sAMAccountName (`sam:…`,
/// lowercased: AD compares account names without case). `None` when the identity has none
/// of them (a bare NT hash): such an account cannot be recognised again and is always synced.
///
/// One store holds one domain's accounts: sAMAccountNames are unique within a domain only.
pub fn verifier_key(identity: &Identity) -> Option<String> {
    let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(a) = nonempty(&identity.source_anchor) {
        Some(format!("anchor:{a}"))
    } else if let Some(g) = nonempty(&identity.object_guid) {
        Some(format!("guid:{}", g.to_ascii_lowercase()))
    } else if let Some(s) = nonempty(&identity.sid) {
        Some(format!("sid:{}", s.to_ascii_uppercase()))
    } else {
        nonempty(&identity.sam_account_name).map(|n| format!("sam:{}", n.to_lowercase()))
    }
}

/// One item handed to the runner: its key and whether the store had a verifier for it.
type Claim = Option<(String, bool)>;

/// What this run has of one account's key and not committed yet.
struct Claimed {
    /// The verifier its latest delivered outcome left (`Some(None)`: forgotten); `None`: no
    /// outcome of this run changed it yet, the store's is current.
    latest: Option<Option<CloudVerifier>>,
    /// Items with this key whose outcome has not reached the sink yet.
    unresolved: usize,
    /// Unresolved items and uncommitted updates: the entry goes when none is left.
    refs: usize,
}

struct Books<'s, S> {
    store: &'s mut S,
    pending: VecDeque<Claim>,
    /// Keys of items in the pipeline or of updates not committed yet.
    claimed: HashMap<String, Claimed>,
    updates: Vec<VerifierUpdate>,
    error: Option<StateError>,
}

impl<S: VerifierStore> Books<'_, S> {
    /// The input side: looks up the item's verifier (this run's latest, else the store's) and
    /// remembers its key. `Ok(false)`: an earlier item with the same key is still in the
    /// pipeline and `drained` is not set; drain, then claim again.
    fn claim(&mut self, item: &mut SourceItem, drained: bool) -> Result<bool, StateError> {
        let key = match item {
            Ok(account) => verifier_key(&account.identity),
            Err(failure) => verifier_key(&failure.identity),
        };
        let Some(key) = key else {
            self.pending.push_back(None);
            return Ok(true);
        };
        let latest = match self.claimed.get(&key) {
            Some(c) if c.unresolved > 0 && !drained => return Ok(false),
            Some(c) => c.latest.clone(),
            None => None,
        };
        let had = match item {
            Ok(account) => {
                account.last_verifier = match latest {
                    Some(latest) => latest,
                    None => self.store.last_verifier(&key)?,
                };
                account.last_verifier.is_some()
            }
            // Whatever was remembered is forgotten: the account is synced once it is readable.
            Err(_) => true,
        };
        let c = self.claimed.entry(key.clone()).or_insert(Claimed {
            latest: None,
            unresolved: 0,
            refs: 0,
        });
        c.unresolved += 1;
        c.refs += 1;
        self.pending.push_back(Some((key, had)));
        Ok(true)
    }

    /// The sink side: what `outcome` changes in the store.
    fn take(&mut self, outcome: &Outcome) {
        let claim = self
            .pending
            .pop_front()
            .expect("the runner yields one outcome per item, in order");
        let Some((key, had)) = claim else { return };
        let verifier = match outcome {
            Outcome::Synced(record) => Some(Some(record.verifier.clone())),
            Outcome::Skipped {
                reason: SkipReason::Unchanged,
                ..
            } => None,
            // Skipped or failed: forget it, so it is synced once back in scope.
            _ if had => Some(None),
            _ => None,
        };
        if let Some(c) = self.claimed.get_mut(&key) {
            c.unresolved -= 1;
            if verifier.is_some() {
                c.latest.clone_from(&verifier);
                c.refs += 1;
            }
        }
        self.release(&key);
        if let Some(verifier) = verifier {
            self.updates.push(VerifierUpdate { key, verifier });
        }
    }

    /// Drops one reference to `key`'s entry (an item resolved, an update committed).
    fn release(&mut self, key: &str) {
        if let Some(c) = self.claimed.get_mut(key) {
            c.refs -= 1;
            if c.refs == 0 {
                self.claimed.remove(key);
            }
        }
    }

    /// Flushes the sink, then commits the updates it has delivered.
    fn flush_and_commit<K: OutcomeSink>(&mut self, sink: &mut K) {
        if self.error.is_some() || self.updates.is_empty() {
            return;
        }
        if let Err(e) = sink.flush() {
            self.error = Some(StateError::Sink(e));
            return;
        }
        match self.store.commit_verifiers(&self.updates) {
            Ok(()) => {
                let updates = std::mem::take(&mut self.updates);
                for u in &updates {
                    self.release(&u.key);
                }
                self.updates = updates;
                self.updates.clear();
            }
            Err(e) => self.error = Some(e),
        }
    }
}

/// Accounts through the sync policy and the hashing runner, with change detection by the
/// verifier last delivered, remembered in a [`VerifierStore`].
///
/// ```
/// use phsync::NtHash;
/// use phsync::batch::{Runner, SyncAccount, SyncPolicy, VerifierSync};
/// use phsync::state::MemoryStore;
///
/// let accounts = |bob: &str| {
///     vec![
///         Ok(SyncAccount::from_nt_hash("alice", NtHash::from_password("Pa$$w0rd"))),
///         Ok(SyncAccount::from_nt_hash("bob", NtHash::from_password(bob))),
///     ]
/// };
/// let runner = Runner::new(SyncPolicy::default());
/// let mut sync = VerifierSync::new(MemoryStore::new());
/// let first = sync.run(&runner, accounts("hunter2"), |_| {})?;
/// assert_eq!(first.synced, 2);
/// // bob changed his password; alice did not.
/// let mut synced = Vec::new();
/// let second = sync.run(&runner, accounts("correct horse"), |o| {
///     synced.extend(o.identity().sam_account_name.clone().filter(|_| o.verifier().is_some()))
/// })?;
/// assert_eq!((second.synced, second.reasons["unchanged"]), (1, 1));
/// assert_eq!(synced, ["bob"]);
/// # Ok::<(), phsync::state::StateError>(())
/// ```
#[derive(Debug)]
pub struct VerifierSync<S> {
    store: S,
    commit_every: usize,
}

impl<S: VerifierStore> VerifierSync<S> {
    /// An adapter over `store`.
    pub fn new(store: S) -> VerifierSync<S> {
        VerifierSync {
            store,
            commit_every: DEFAULT_COMMIT_EVERY,
        }
    }

    /// Commits after this many updates (at least 1; default [`DEFAULT_COMMIT_EVERY`]). Smaller
    /// batches lose less work to a crash and cost more transactions.
    pub fn commit_every(mut self, n: usize) -> VerifierSync<S> {
        self.commit_every = n.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, giving up the adapter.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Runs `items` through `runner`, handing every outcome to `sink` in input order, and
    /// commits the verifiers delivered.
    ///
    /// # Errors
    /// The store could not be read or written; the run stops reading. Outcomes already handed
    /// to the sink stay delivered; their accounts are synced again by the next run.
    pub fn run<I, F>(
        &mut self,
        runner: &Runner<'_>,
        items: I,
        sink: F,
    ) -> Result<Summary, StateError>
    where
        I: IntoIterator<Item = SourceItem>,
        F: FnMut(Outcome),
    {
        self.run_to(runner, items, ClosureSink(sink))
    }

    /// Like [`VerifierSync::run`], with a sink that is flushed ([`OutcomeSink::flush`]) before
    /// each commit: a verifier is remembered only after its outcome left the process.
    ///
    /// # Errors
    /// As [`VerifierSync::run`], and [`StateError::Sink`] when the sink's flush failed.
    pub fn run_to<I, K>(
        &mut self,
        runner: &Runner<'_>,
        items: I,
        mut sink: K,
    ) -> Result<Summary, StateError>
    where
        I: IntoIterator<Item = SourceItem>,
        K: OutcomeSink,
    {
        let commit_every = self.commit_every;
        let books = RefCell::new(Books {
            store: &mut self.store,
            pending: VecDeque::new(),
            claimed: HashMap::new(),
            updates: Vec::new(),
            error: None,
        });
        let mut items = items.into_iter();
        // An item read but not claimed yet: it waits for a drain.
        let mut held: Option<SourceItem> = None;
        let source = std::iter::from_fn(|| {
            let mut b = books.borrow_mut();
            if b.error.is_some() {
                return None;
            }
            let drained = held.is_some();
            let mut item = match held.take() {
                Some(item) => item,
                None => items.next()?,
            };
            match b.claim(&mut item, drained) {
                Ok(true) => Some(Feed::Item(item)),
                Ok(false) => {
                    held = Some(item);
                    Some(Feed::Drain)
                }
                Err(e) => {
                    b.error = Some(e);
                    None
                }
            }
        });
        let summary = runner.run_feed(source, |done| {
            for outcome in done {
                books.borrow_mut().take(&outcome);
                sink.outcome(outcome);
                let mut b = books.borrow_mut();
                if b.updates.len() >= commit_every {
                    b.flush_and_commit(&mut sink);
                }
            }
        });
        let mut b = books.into_inner();
        b.flush_and_commit(&mut sink);
        match b.error {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}
