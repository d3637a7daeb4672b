//! The runner's hashing stage: a chunk's accounts to hash, spread over the pool in parts, each
//! part through the multi-lane core in one call ([`CloudVerifier::derive_many`]).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Runner, Slot, Verdict};
use crate::batch::account::FailReason;
use crate::batch::outcome::Failure;
use crate::kdf::Backend;
use crate::{CloudVerifier, NtHash, Salt};

/// What hashing one account gave.
#[derive(Clone)]
pub(super) enum Hashed {
    /// A verifier with a fresh salt.
    New(CloudVerifier),
    /// The account's `last_verifier` is the verifier of its NT hash: nothing to sync.
    Unchanged,
    /// No verifier (cancelled, or no random salt).
    Failed(Failure),
}

impl Runner<'_> {
    /// One result per index in `work`, in order.
    ///
    /// The parts are handed out from a shared counter to one job per pool thread, each
    /// taking the next part until none is left. A parallel iterator over the parts split them
    /// lazily instead: seen with `perf sched` on 2 vCPUs, the second pool thread, woken by the
    /// first split, often found nothing to steal yet, went back to sleep, and one thread
    /// hashed the whole chunk while the other core sat idle. A spawned job stays queued until
    /// a thread runs it, so a thread that wakes late still finds one.
    pub(super) fn hash_all(&self, chunk: &[Slot], work: &[usize]) -> Vec<Hashed> {
        self.install(|| {
            let threads = rayon::current_num_threads();
            let size = part_size(
                work.len(),
                threads,
                Backend::selected().lanes(),
                self.sub_batch,
            );
            let parts: Vec<&[usize]> = work.chunks(size).collect();
            let hashed: Vec<OnceLock<Vec<Hashed>>> =
                parts.iter().map(|_| OnceLock::new()).collect();
            let next = AtomicUsize::new(0);
            let take_parts = || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(part) = parts.get(k) else { break };
                if hashed[k].set(self.hash_part(chunk, part)).is_err() {
                    unreachable!("part {k} was taken twice");
                }
            };
            rayon::scope(|scope| {
                for _ in 1..threads.min(parts.len()) {
                    scope.spawn(|_| take_parts());
                }
                take_parts();
            });
            hashed
                .into_iter()
                .flat_map(|h| {
                    h.into_inner()
                        .expect("the scope ends after every part is hashed")
                })
                .collect()
        })
    }

    /// One sub-batch through the multi-lane core. Accounts with a `last_verifier` of the
    /// policy's iteration count are derived with its salt, in the same call as the others;
    /// those whose key differs (a new password) are derived once more with a fresh salt.
    fn hash_part(&self, chunk: &[Slot], part: &[usize]) -> Vec<Hashed> {
        let n = part.len();
        if self.cancel.is_cancelled() {
            let failure = Failure {
                reason: FailReason::Cancelled,
                detail: "the run was cancelled before this account was hashed".into(),
            };
            return vec![Hashed::Failed(failure); n];
        }
        let fresh = match random_salts(n) {
            Ok(salts) => salts,
            Err(failure) => return vec![Hashed::Failed(failure); n],
        };
        let iterations = self.policy.iterations;
        // Each account's NT hash, and the stored verifier to check it against (one of the
        // policy's iteration count).
        let (nts, check): (Vec<&NtHash>, Vec<Option<&CloudVerifier>>) = part
            .iter()
            .map(|&i| match &chunk[i] {
                Slot {
                    item: Ok(account),
                    verdict: Verdict::Hash { .. },
                } => (
                    account
                        .password
                        .nt_hash()
                        .expect("the policy syncs only accounts with a hash"),
                    account
                        .last_verifier
                        .as_ref()
                        .filter(|v| v.iterations() == iterations),
                ),
                _ => unreachable!("work holds the slots to hash only"),
            })
            .unzip();
        let salts: Vec<Salt> = check
            .iter()
            .zip(&fresh)
            .map(|(last, new)| last.map_or(*new, |v| *v.salt()))
            .collect();
        // `None`: a new password, derived again below.
        let mut out: Vec<Option<Hashed>> = CloudVerifier::derive_many(&nts, &salts, iterations)
            .into_iter()
            .zip(&check)
            .map(|(v, last)| match last {
                // Constant time over the derived key (`CloudVerifier: PartialEq`).
                Some(last) if v == **last => Some(Hashed::Unchanged),
                Some(_) => None,
                None => Some(Hashed::New(v)),
            })
            .collect();
        let changed: Vec<usize> = (0..n).filter(|&k| out[k].is_none()).collect();
        if !changed.is_empty() {
            let nts: Vec<&NtHash> = changed.iter().map(|&k| nts[k]).collect();
            let salts: Vec<Salt> = changed.iter().map(|&k| fresh[k]).collect();
            for (&k, v) in changed
                .iter()
                .zip(CloudVerifier::derive_many(&nts, &salts, iterations))
            {
                out[k] = Some(Hashed::New(v));
            }
        }
        out.into_iter()
            .map(|h| h.expect("every changed account was derived again"))
            .collect()
    }
}

/// Accounts per call into the hashing core for `n` accounts on `threads` threads: about 8
/// parts per thread (so the last parts even out), rounded up to whole kernel groups of
/// `lanes`, and at most `max` (the runner's sub-batch).
fn part_size(n: usize, threads: usize, lanes: usize, max: usize) -> usize {
    n.div_ceil(threads.max(1) * 8)
        .next_multiple_of(lanes.max(1))
        .min(max)
        .max(1)
}

/// Salts for one sub-batch, from one call to the OS CSPRNG (`docs/kdf.md`, technique 7: not one
/// system call per verifier).
fn random_salts(n: usize) -> Result<Vec<Salt>, Failure> {
    let mut bytes = vec![0u8; n * 10];
    getrandom::fill(&mut bytes).map_err(|e| Failure {
        reason: FailReason::RandomFailed,
        detail: format!("the OS random number generator failed: {e}"),
    })?;
    Ok(bytes
        .chunks_exact(10)
        .map(|c| {
            let mut s = [0u8; 10];
            s.copy_from_slice(c);
            Salt::from_bytes(s)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::part_size;

    #[test]
    fn parts_share_a_small_chunk_and_keep_whole_kernel_groups() {
        // A DRS chunk with 160 accounts to hash on 2 threads, 16-lane kernel: 10 parts of 16,
        // not 64 + 64 + 32 (one thread idle for a third of the time).
        assert_eq!(part_size(160, 2, 16, 64), 16);
        // NT-hash input, every account hashed: the configured sub-batch.
        assert_eq!(part_size(4096, 2, 16, 64), 64);
        assert_eq!(part_size(4096, 64, 16, 64), 16);
        // Never narrower than the kernel, unless the configured sub-batch is.
        assert_eq!(part_size(3, 2, 32, 64), 32);
        assert_eq!(part_size(3, 2, 32, 1), 1);
        assert_eq!(part_size(0, 0, 0, 0), 1);
    }
}
