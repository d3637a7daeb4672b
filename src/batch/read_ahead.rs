//! [`ReadAhead`]: the replies after the current one, read and decrypted in the background.
//!
//! Preparing a reply's objects (attribute reads, RC4/MD5/CRC32/DES of the secrets, identity
//! strings: `super::merge::Prepared`) depends on no state, so it need not run on the caller's
//! thread, which must do the merge with the store. One helper thread per run prepares each
//! reply as soon as it is read, [`AHEAD`] replies before the caller gets to it: a pipeline
//! stage of its own, beside the caller's merge and the pool's hashing.
//!
//! Why a plain thread and not the rayon pool: measured on a 2-vCPU host (BENCHMARKS.md,
//! "pipeline"), preparing on the pool cost ~25 % more CPU in all (rayon's idle workers spin,
//! and the small per-reply jobs queue behind the hashing) and ran slower than one thread.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::merge::{Prepared, prepare_all};
use crate::drs::{ReplicatedObject, SessionKey};

/// Replies in flight beyond the one being merged (memory: this many replies' objects).
pub(crate) const AHEAD: usize = 2;

/// Where a queued reply's objects are.
enum Objects {
    /// With the helper.
    Sent,
    /// The reply had none to prepare.
    None,
    /// The helper died before taking them.
    Lost,
}

/// Replies queued for preparation, each with a caller's tag, handed back in order.
pub(crate) struct ReadAhead<T> {
    /// Tags in reply order, and where each reply's objects went.
    queue: VecDeque<(T, Objects)>,
    to_helper: SyncSender<Vec<ReplicatedObject>>,
    from_helper: Receiver<Vec<Prepared>>,
}

impl<T> ReadAhead<T> {
    /// Starts the helper thread in `scope`. Join the handle after dropping the `ReadAhead`: it
    /// re-raises a panic of the helper.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        keys: &'env [SessionKey],
    ) -> (ReadAhead<T>, ScopedJoinHandle<'scope, ()>) {
        let (to_helper, replies) = sync_channel::<Vec<ReplicatedObject>>(AHEAD);
        let (prepared, from_helper) = sync_channel::<Vec<Prepared>>(AHEAD);
        let helper = scope.spawn(move || {
            for objects in replies {
                if prepared.send(prepare_all(objects, keys)).is_err() {
                    break;
                }
            }
        });
        let ahead = ReadAhead {
            queue: VecDeque::new(),
            to_helper,
            from_helper,
        };
        (ahead, helper)
    }

    /// Replies queued and not yet taken.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Queues a reply: its objects to prepare, or `None` for a reply without objects to
    /// prepare (one that could not be read).
    pub(crate) fn push(&mut self, tag: T, objects: Option<Vec<ReplicatedObject>>) {
        let objects = match objects {
            Some(objects) => match self.to_helper.send(objects) {
                Ok(()) => Objects::Sent,
                // Only if the helper died: `next` then ends the run, and the join re-raises
                // the helper's panic.
                Err(_) => Objects::Lost,
            },
            None => Objects::None,
        };
        self.queue.push_back((tag, objects));
    }

    /// The oldest queued reply's tag and prepared objects, waiting for them if needed; `None`
    /// when nothing is queued or the helper died.
    pub(crate) fn next(&mut self) -> Option<(T, Vec<Prepared>)> {
        let (tag, objects) = self.queue.pop_front()?;
        match objects {
            Objects::Sent => self.from_helper.recv().ok().map(|prepared| (tag, prepared)),
            Objects::None => Some((tag, Vec::new())),
            Objects::Lost => None,
        }
    }
}
