//! Choosing a [`Backend`] at run time: CPU detection, the `PHSYNC_BACKEND` override, the
//! known-answer self-test every candidate must pass, and the short calibration that decides
//! between contenders — reported as a [`Selection`] value (the library never prints).

use std::sync::OnceLock;
use std::time::Duration;

use super::dispatch::run;
use super::{BACKEND_ENV, Backend, BackendUnavailable, KEY_LEN, OUT_LEN, SALT_LEN, UnknownBackend};

/// How the process's PBKDF2 backend was chosen: the value behind [`Backend::selected`], from
/// [`selection()`]. The library never prints; a command shows what it needs of this (for
/// example [`Selection::override_problem`] and [`Selection::self_test_failures`] as warnings).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Selection {
    /// The backend [`derive()`](super::derive) and [`derive_many`](super::derive_many) use.
    pub backend: Backend,
    /// Why it was chosen.
    pub reason: SelectionReason,
    /// `PHSYNC_BACKEND` named a backend that cannot be used; the detected backend was used
    /// instead.
    pub override_problem: Option<OverrideProblem>,
    /// Backends this CPU can run that failed their known-answer self-test during detection
    /// ([`Backend::passes_self_test`]): never used. Please report them (CPU model and names).
    pub self_test_failures: Vec<Backend>,
    /// The calibration's best time per contender (32 inputs × 64 iterations), when more than
    /// one could run; empty otherwise.
    pub calibration: Vec<(Backend, Duration)>,
}

/// Why [`Selection::backend`] was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectionReason {
    /// `PHSYNC_BACKEND` named it, it can run here and it passed its self-test.
    Forced,
    /// Several contenders could run; it was the fastest in the calibration.
    Calibrated,
    /// CPU detection: the only contender that can run, or the best of the fallbacks (AVX2,
    /// ARMv8 SHA2, portable), in that order.
    Detected,
}

/// Why a `PHSYNC_BACKEND` override was not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OverrideProblem {
    /// Unknown name, or a backend this CPU cannot run.
    #[error("{BACKEND_ENV}: {0}")]
    Invalid(#[from] BackendChoiceError),
    /// The backend can run here but failed its known-answer self-test.
    #[error("{BACKEND_ENV}: backend {0} failed its known-answer self-test on this CPU")]
    FailedSelfTest(Backend),
}

/// What CPU detection found (cached): the backend, the calibration, the self-test failures.
struct Detection {
    backend: Backend,
    calibration: Vec<(Backend, Duration)>,
    self_test_failures: Vec<Backend>,
}

fn detection() -> &'static Detection {
    static DETECTED: OnceLock<Detection> = OnceLock::new();
    DETECTED.get_or_init(|| {
        let mut self_test_failures = Vec::new();
        let mut usable = |b: &Backend| {
            let ok = b.passes_self_test();
            if !ok && b.is_available() {
                self_test_failures.push(*b);
            }
            ok
        };
        let contenders: Vec<Backend> = CANDIDATES.iter().copied().filter(&mut usable).collect();
        let (backend, calibration) = match contenders.as_slice() {
            [] => (
                [Backend::Avx2X8, Backend::Aarch64Sha2X2]
                    .into_iter()
                    .find(&mut usable)
                    .unwrap_or(Backend::Portable),
                Vec::new(),
            ),
            [only] => (*only, Vec::new()),
            several => fastest(several),
        };
        Detection {
            backend,
            calibration,
            self_test_failures,
        }
    })
}

/// How this process's backend was chosen (computed once, cached; the same value
/// [`Backend::selected`] returns the backend of).
///
/// If `PHSYNC_BACKEND` is set it must name an available backend that passes its self-test;
/// otherwise [`Selection::override_problem`] says why not and the detected backend
/// ([`Backend::detected`]) is used — never an unsupported kernel. When the override is
/// used, detection (and its calibration) does not run: `calibration` and
/// `self_test_failures` are empty.
pub fn selection() -> &'static Selection {
    static SELECTED: OnceLock<Selection> = OnceLock::new();
    SELECTED.get_or_init(|| {
        let detected = |override_problem| {
            let d = detection();
            Selection {
                backend: d.backend,
                reason: if d.calibration.is_empty() {
                    SelectionReason::Detected
                } else {
                    SelectionReason::Calibrated
                },
                override_problem,
                self_test_failures: d.self_test_failures.clone(),
                calibration: d.calibration.clone(),
            }
        };
        match Backend::from_env() {
            Ok(Some(b)) if b.passes_self_test() => Selection {
                backend: b,
                reason: SelectionReason::Forced,
                override_problem: None,
                self_test_failures: Vec::new(),
                calibration: Vec::new(),
            },
            Ok(Some(b)) => detected(Some(OverrideProblem::FailedSelfTest(b))),
            Ok(None) => detected(None),
            Err(e) => detected(Some(OverrideProblem::Invalid(e))),
        }
    })
}

impl Backend {
    /// The backend chosen by CPU detection alone, ignoring `PHSYNC_BACKEND` (cached).
    ///
    /// The candidates are every kernel width of the fastest families: on x86_64 the SHA-NI
    /// kernels if the CPU has SHA-NI — ×1, ×2 compiled ([`Backend::ShaNiX2`]) and, with AVX,
    /// hand-scheduled ([`Backend::ShaNiX2Asm`]), ×4 — and both AVX-512 kernels (×16 and the
    /// interleaved ×32) if it has AVX-512F. **If more than one of these can run, a short
    /// calibration decides** (below); with none, AVX2 ×8, else portable. aarch64: SHA2 ×2,
    /// else portable. Other architectures: portable.
    ///
    /// Why calibrate rather than list CPU models: which one wins depends on the
    /// microarchitecture, not on the feature bits — SHA-NI on AMD Zen 3, a tie between SHA-NI
    /// ×4 and AVX-512 on Zen 4, AVX-512 on Intel Xeon and AMD Zen 5 (`BENCHMARKS.md`); SHA-NI
    /// ×4 beats ×2 on Zen 5 and loses on a busy Zen 3; the assembly loop's lead over the
    /// compiled one is largest where the SHA unit is
    /// the bound (Zen 1); two interleaved AVX-512 groups pay only where one group leaves
    /// vector ports idle — and model lists go stale (`docs/kdf.md`
    /// technique 4). The calibration runs each candidate on the same 32 dummy inputs × 64
    /// iterations, three rounds interleaved, and keeps the fastest (≈ 1–3 ms, once per
    /// process; the timings are in [`Selection::calibration`]). Every backend computes the
    /// same bytes; only speed depends on the choice.
    ///
    /// Every candidate must first pass its known-answer self-test
    /// ([`Backend::passes_self_test`]); one that fails is never used and is listed in
    /// [`Selection::self_test_failures`], so a kernel that misbehaves on a CPU nobody here has
    /// tested on costs speed, not correctness.
    pub fn detected() -> Backend {
        detection().backend
    }

    /// The backend [`derive()`](super::derive) and [`derive_many`](super::derive_many) use, chosen
    /// once per process and cached: [`selection()`]`.backend` (see there for `PHSYNC_BACKEND`
    /// and for why it was chosen).
    pub fn selected() -> Backend {
        selection().backend
    }

    /// Runs the backend's known-answer self-test: 51 inputs (a full 32-lane group, a 16-lane
    /// group, a pair and a single, so every kernel width and tail path of every backend runs) × 3
    /// iterations, compared with the `pbkdf2` crate. Takes microseconds (the
    /// `pbkdf2` crate's share dominates). [`Backend::detected`] and [`Backend::selected`]
    /// use no backend that fails it; [`derive_many_with`](super::derive_many_with) does not run it
    /// (it is what the
    /// tests use to compare backends).
    ///
    /// `false` for a backend this CPU cannot run.
    pub fn passes_self_test(self) -> bool {
        self.is_available()
            && self_test_passes(|k, s, it, o| run(self, k, s, it, o))
            // The kernel of another family that runs this one's tail must pass its own test
            // too: the tail of 3 above exercises it on only a few inputs.
            && super::dispatch::tail_backend(self).is_none_or(Backend::passes_self_test)
    }

    /// The backend `PHSYNC_BACKEND` asks for: `Ok(None)` if unset or empty.
    ///
    /// # Errors
    /// [`BackendChoiceError`] if the name is unknown or the backend cannot run here.
    pub fn from_env() -> Result<Option<Backend>, BackendChoiceError> {
        let Some(value) = std::env::var_os(BACKEND_ENV) else {
            return Ok(None);
        };
        let value = value.to_string_lossy();
        if value.trim().is_empty() {
            return Ok(None);
        }
        let b = Backend::from_name(&value)?;
        if b.is_available() {
            Ok(Some(b))
        } else {
            Err(BackendUnavailable { backend: b }.into())
        }
    }
}

/// The backends [`Backend::detected`] calibrates between, where available and self-tested:
/// every width of the SHA-NI and AVX-512 families (which width wins is a property of the core —
/// `BENCHMARKS.md` — so none is left out on a guess). aarch64 is not calibrated (SHA2 ×2,
/// below): no aarch64 core has been measured by this project.
const CANDIDATES: &[Backend] = &[
    Backend::ShaNiX1,
    Backend::ShaNiX2,
    Backend::ShaNiX2Asm,
    Backend::ShaNiX4,
    Backend::Avx512X16,
    Backend::Avx512X32,
];

/// Whether `derive` computes the same bytes as the `pbkdf2` crate on the self-test inputs
/// (see [`Backend::passes_self_test`]). Inputs are fixed and not secret.
fn self_test_passes(
    derive: impl Fn(&[[u8; KEY_LEN]], &[[u8; SALT_LEN]], u32, &mut [[u8; OUT_LEN]]),
) -> bool {
    const ITEMS: usize = 32 + 16 + 2 + 1;
    const ITERATIONS: u32 = 3;
    let hex = b"0123456789ABCDEF";
    let mut keys = [[0u8; KEY_LEN]; ITEMS];
    let mut salts = [[0u8; SALT_LEN]; ITEMS];
    for (i, (key, salt)) in keys.iter_mut().zip(&mut salts).enumerate() {
        for j in 0..KEY_LEN / 2 {
            key[2 * j] = hex[(i * 7 + j * 5) % 16];
        }
        for (j, b) in salt.iter_mut().enumerate() {
            *b = (i * 31 + j * 17) as u8;
        }
    }
    let mut got = [[0u8; OUT_LEN]; ITEMS];
    derive(&keys, &salts, ITERATIONS, &mut got);
    keys.iter().zip(&salts).zip(&got).all(|((key, salt), got)| {
        let mut want = [0u8; OUT_LEN];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, salt, ITERATIONS, &mut want);
        want == *got
    })
}

/// The fastest of `candidates` on this CPU, measured (see [`Backend::detected`]), and each
/// candidate's best time.
fn fastest(candidates: &[Backend]) -> (Backend, Vec<(Backend, Duration)>) {
    const ITEMS: usize = 32;
    const ITERATIONS: u32 = 64;
    let keys: Vec<[u8; KEY_LEN]> = (0..ITEMS)
        .map(|i| [b'0' + (i % 10) as u8; KEY_LEN])
        .collect();
    let salts = vec![[0x5a; SALT_LEN]; ITEMS];
    let mut out = vec![[0u8; OUT_LEN]; ITEMS];
    let mut best = vec![Duration::MAX; candidates.len()];
    for _ in 0..3 {
        for (b, best) in candidates.iter().zip(best.iter_mut()) {
            let start = std::time::Instant::now();
            run(*b, &keys, &salts, ITERATIONS, &mut out);
            *best = (*best).min(start.elapsed());
        }
    }
    let winner = candidates
        .iter()
        .zip(&best)
        .min_by_key(|(_, t)| **t)
        .map_or(Backend::Portable, |(b, _)| *b);
    (winner, candidates.iter().copied().zip(best).collect())
}

/// Why a forced backend (`PHSYNC_BACKEND`) cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendChoiceError {
    /// The name is not a backend.
    #[error(transparent)]
    Unknown(#[from] UnknownBackend),
    /// The backend exists but this CPU cannot run it.
    #[error(transparent)]
    Unavailable(#[from] BackendUnavailable),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calibration behind [`Backend::detected`] keeps the faster contender: between the
    /// portable kernel and SHA-NI ×2 (≈ 10× apart) it must pick SHA-NI, in either order.
    #[test]
    fn calibration_keeps_the_faster_backend() {
        if !Backend::ShaNiX2.is_available() {
            eprintln!("no SHA-NI on this CPU: skipped");
            return;
        }
        assert_eq!(
            fastest(&[Backend::Portable, Backend::ShaNiX2]).0,
            Backend::ShaNiX2
        );
        let (winner, timings) = fastest(&[Backend::ShaNiX2, Backend::Portable]);
        assert_eq!(winner, Backend::ShaNiX2);
        assert_eq!(timings.len(), 2);
        assert!(timings[0].1 < timings[1].1, "{timings:?}");
    }

    /// Every backend this CPU can run passes the self-test; a kernel wrong in one tail item,
    /// or one that writes nothing, fails it.
    #[test]
    fn self_test_accepts_correct_kernels_and_rejects_wrong_ones() {
        for b in Backend::available() {
            assert!(b.passes_self_test(), "{b}");
        }
        let correct = |k: &[[u8; KEY_LEN]], s: &[[u8; SALT_LEN]], it, o: &mut [[u8; OUT_LEN]]| {
            run(Backend::Portable, k, s, it, o)
        };
        assert!(self_test_passes(correct));
        assert!(!self_test_passes(|k, s, it, o| {
            correct(k, s, it, o);
            o[18][31] ^= 1;
        }));
        assert!(!self_test_passes(|_, _, _, _| {}));
        assert!(!self_test_passes(|k, s, it, o| correct(k, s, it + 1, o)));
        for b in Backend::ALL.iter().filter(|b| !b.is_available()) {
            assert!(!b.passes_self_test(), "{b} is not available here");
        }
    }
}
