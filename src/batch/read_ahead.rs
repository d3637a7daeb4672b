//! [`ReadAhead`]: the replies after the current one, decoded and prepared in the background.
//!
//! Preparing a reply's objects (attribute reads, RC4/MD5/CRC32/DES of the secrets, identity
//! strings: `super::merge::Prepared`) depends on no state, and neither does decoding a reply
//! that is still encoded, so neither need run on the caller's thread, which must do the merge
//! with the store. A few worker threads per run each take whole replies: reply *k* goes to
//! worker *k mod n*, and the results are taken back in the same turn, so order is kept
//! without any reordering buffer. A reply may also come as a load (a closure that reads a
//! file, say), run by the worker that decodes it; as its size is known only then, it counts
//! against the byte bound as the mean size of the replies taken so far.
//!
//! How far ahead: far enough that the caller never waits for a worker while the pool hashes
//! (the runner takes 4,096 objects per chunk; a DRS reply holds anywhere from a few objects to
//! thousands), and no further, for memory. So the bound is in bytes of wire data
//! ([`BYTES_AHEAD`]), with [`MIN_AHEAD`] replies per worker always allowed (however large) and
//! [`MAX_AHEAD`] per worker at most (however small). Measured on 2 vCPUs with the real Samba
//! capture (94 objects, ~58 KB per reply): 2 replies per worker left a core idle ~15 % of the
//! time; ~2 MB ahead took the two-core time down by 8-10 %.
//!
//! Why whole replies on plain threads, and not objects on the rayon pool: measured on a 2-vCPU
//! host (BENCHMARKS.md, "pipeline"), preparing on the pool cost ~25 % more CPU in all
//! (rayon's idle workers spin, and the small jobs queue behind the hashing), and handing a
//! decoded reply from one thread to another made both threads slower: the objects were
//! allocated on one core and read and freed on the other. A worker that decodes a reply also
//! prepares and frees its objects, so they never leave its core.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::merge::{Prepared, prepare_all};
use crate::drs::{Reply, SessionKey};

/// Replies in flight per worker that are always allowed, however large.
const MIN_AHEAD: usize = 2;
/// Replies in flight per worker at most, however small.
const MAX_AHEAD: usize = 16;
/// Wire bytes in flight (all workers) past which no reply is queued beyond [`MIN_AHEAD`] per
/// worker.
const BYTES_AHEAD: usize = 2 << 20;

/// What a reply still to be loaded counts for before any reply's size is known.
const FIRST_LOAD_GUESS: usize = 64 << 10;

/// At most this many workers, however many cores: past it the caller's merge is the limit.
const MAX_WORKERS: usize = 4;

/// A reply as it is queued.
pub(crate) enum Queued {
    /// Decoded by the caller.
    Decoded(Box<Reply>),
    /// Its `IDL_DRSGetNCChanges` `[out]` stub, decoded by the worker.
    Encoded(Vec<u8>),
    /// Its stub still to be read (from a file, say), by the worker that decodes it.
    Load(StubLoad),
}

/// How a read-ahead worker gets a reply's `[out]` stub: run on the worker, so the bytes land
/// in the cache of the core that decodes them.
pub(crate) type StubLoad = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

impl Queued {
    /// The reply's size on the wire, when it is known before the worker runs.
    fn wire_len(&self) -> Option<usize> {
        match self {
            Queued::Decoded(reply) => Some(reply.wire_len()),
            Queued::Encoded(stub) => Some(stub.len()),
            Queued::Load(_) => None,
        }
    }
}

/// A worker's result: the reply without its objects (the header: watermark, cursors, return
/// values) and its prepared objects; or why it could not be decoded.
pub(crate) type Ready = Result<(Reply, Vec<Prepared>), String>;

/// What a worker hands back: the reply's wire size (known only now for a [`Queued::Load`])
/// and its result.
type Done = (usize, Ready);

struct Worker {
    inbox: Sender<Queued>,
    outbox: Receiver<Done>,
}

/// Replies queued for decoding and preparation, each with the caller's index, handed back in
/// order.
pub(crate) struct ReadAhead {
    /// Indexes in reply order, with the wire size of a queued reply or the error of one that
    /// failed before it was queued.
    queue: VecDeque<(usize, Result<usize, String>)>,
    /// The wire bytes of the queued replies (for a reply still to be loaded, the mean size of
    /// the replies taken so far).
    bytes: usize,
    /// Wire bytes of the replies taken back so far (`taken` counts them), for that mean.
    taken_bytes: usize,
    workers: Vec<Worker>,
    /// Replies sent to workers so far (the next goes to `sent % workers`).
    sent: usize,
    /// Replies taken back so far.
    taken: usize,
}

impl ReadAhead {
    /// Starts the workers in `scope`: one per core this process may run on, at most
    /// [`MAX_WORKERS`]. Join the handles after dropping the `ReadAhead`: a join re-raises a
    /// worker's panic.
    pub(crate) fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        keys: &'env [SessionKey],
    ) -> (ReadAhead, Vec<ScopedJoinHandle<'scope, ()>>) {
        let n = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_WORKERS);
        let mut workers = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            // Unbounded channels: `has_room` bounds what is in flight, so a worker never
            // waits to hand a result back while the caller waits to queue a reply.
            let (inbox, queued) = channel::<Queued>();
            let (ready, outbox) = channel::<Done>();
            handles.push(scope.spawn(move || {
                for reply in queued {
                    if ready.send(prepare(reply, keys)).is_err() {
                        break;
                    }
                }
            }));
            workers.push(Worker { inbox, outbox });
        }
        let ahead = ReadAhead {
            queue: VecDeque::new(),
            bytes: 0,
            taken_bytes: 0,
            workers,
            sent: 0,
            taken: 0,
        };
        (ahead, handles)
    }

    /// Whether another reply may be queued.
    pub(crate) fn has_room(&self) -> bool {
        let n = self.queue.len();
        n < MIN_AHEAD * self.workers.len()
            || (n < MAX_AHEAD * self.workers.len() && self.bytes < BYTES_AHEAD)
    }

    /// Queues reply `index`, or the error that kept it from being read.
    pub(crate) fn push(&mut self, index: usize, reply: Result<Queued, String>) {
        let queued = reply.map(|reply| {
            let len = reply.wire_len().unwrap_or_else(|| self.mean_len());
            let worker = &self.workers[self.sent % self.workers.len()];
            self.sent += 1;
            // Fails only if the worker died: `next` then ends the run when it gets to this
            // reply, and the join re-raises the worker's panic.
            let _ = worker.inbox.send(reply);
            len
        });
        self.bytes += queued.as_ref().map_or(0, |len| *len);
        self.queue.push_back((index, queued));
    }

    /// The oldest queued reply's index and result, waiting for it if needed; `None` when
    /// nothing is queued or its worker died.
    pub(crate) fn next(&mut self) -> Option<(usize, Ready)> {
        let (index, queued) = self.queue.pop_front()?;
        let len = match queued {
            Ok(len) => len,
            Err(error) => return Some((index, Err(error))),
        };
        self.bytes -= len;
        let worker = &self.workers[self.taken % self.workers.len()];
        let (wire, ready) = worker.outbox.recv().ok()?;
        self.taken += 1;
        self.taken_bytes = self.taken_bytes.saturating_add(wire);
        Some((index, ready))
    }

    /// What a reply still to be loaded is charged against [`BYTES_AHEAD`]: the mean wire size
    /// of the replies taken so far, or [`FIRST_LOAD_GUESS`] before the first.
    fn mean_len(&self) -> usize {
        self.taken_bytes
            .checked_div(self.taken)
            .unwrap_or(FIRST_LOAD_GUESS)
    }
}

/// A worker's job: load and decode if needed, then prepare every object, in order.
fn prepare(reply: Queued, keys: &[SessionKey]) -> Done {
    let known = reply.wire_len();
    let stub = match reply {
        Queued::Decoded(reply) => return (known.unwrap_or(0), Ok(prepare_reply(*reply, keys))),
        Queued::Encoded(stub) => stub,
        Queued::Load(load) => match load() {
            Ok(stub) => stub,
            Err(error) => return (0, Err(error)),
        },
    };
    let wire = stub.len();
    let ready = Reply::decode_owned(stub)
        .map_err(|e| format!("not a GetNCChanges reply: {e}"))
        .map(|reply| prepare_reply(reply, keys));
    (wire, ready)
}

fn prepare_reply(mut reply: Reply, keys: &[SessionKey]) -> (Reply, Vec<Prepared>) {
    let objects = reply.take_objects();
    (reply, prepare_all(objects, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/samba-a/bin/samba-krb5-nc/reply-00"
    );

    fn load(i: usize) -> Queued {
        Queued::Load(Box::new(move || {
            std::fs::read(format!("{CAPTURE}{i}.bin")).map_err(|e| e.to_string())
        }))
    }

    #[test]
    fn loads_are_charged_the_mean_size_of_the_replies_taken_so_far() {
        std::thread::scope(|scope| {
            let (mut ahead, workers) = ReadAhead::start(scope, &[]);
            let n = ahead.workers.len();
            // Nothing taken yet: each load counts as the first guess.
            let mut queued = 0;
            while ahead.has_room() {
                ahead.push(queued, Ok(load(queued % 3)));
                queued += 1;
            }
            let guessed = (BYTES_AHEAD / FIRST_LOAD_GUESS).clamp(MIN_AHEAD * n, MAX_AHEAD * n);
            assert_eq!(queued, guessed);
            assert_eq!(ahead.bytes, queued * FIRST_LOAD_GUESS);
            // Each reply comes back in order, decoded (no keys: its secrets stay unread),
            // and the real sizes replace the guess.
            let mut sizes = 0;
            for i in 0..3 {
                let (index, ready) = ahead.next().unwrap();
                assert_eq!(index, i);
                assert!(!ready.unwrap().1.is_empty());
                sizes += std::fs::read(format!("{CAPTURE}{i}.bin")).unwrap().len();
            }
            assert_eq!(ahead.mean_len(), sizes / 3);
            ahead.push(queued, Ok(load(0)));
            assert_eq!(
                ahead.bytes,
                (queued - 3) * FIRST_LOAD_GUESS + sizes / 3,
                "a new load is charged the mean"
            );
            // A load that fails comes back as its error, in its turn.
            ahead.push(
                queued + 1,
                Ok(Queued::Load(Box::new(|| Err("gone".into())))),
            );
            while let Some((index, ready)) = ahead.next() {
                if index == queued + 1 {
                    assert_eq!(ready.err().as_deref(), Some("gone"));
                }
            }
            assert_eq!(ahead.bytes, 0);
            drop(ahead);
            for w in workers {
                super::super::runner::join(w);
            }
        });
    }
}
