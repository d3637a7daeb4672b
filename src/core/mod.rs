//! The hashing core: PBKDF2-HMAC-SHA256 specialised for the cloud verifier's shape
//! (`perf.md` §3–§4): a 64-byte password (one SHA-256 block, used as the HMAC key as is),
//! a 10-byte salt, one 32-byte output block.
//!
//! Bytes in, bytes out: this module knows nothing of NT hashes, policies or input formats.
//!
//! # How it is fast
//! Per verifier the work is `2·iterations + 2` SHA-256 compressions (`perf.md` opening
//! section). The kernels (`perf.md` §4):
//! 1. compute the HMAC ipad/opad states once per key, build `salt || INT(1)` as one block,
//!    and treat words 8..16 of every later block as constants ([technique 1]);
//! 2. keep the hash state in the backend's native layout between iterations and feed the
//!    previous digest as message words without byte swaps ([technique 2]);
//! 3. run several independent verifiers in lock-step ([technique 3]): SHA-NI ×2/×4
//!    interleaved (×2 also as a hand-scheduled assembly loop), AVX2 8 / AVX-512 16 lanes
//!    transposed, ARMv8 SHA2 ×2/×4;
//! 4. pick the kernel at run time with `cpufeatures` ([technique 4]); no global
//!    `target-cpu`/`+avx2` flags are needed or wanted (`perf.md` §5).
//!
//! # Choosing a backend
//! [`Backend::selected`] is the best available kernel for this CPU, unless the environment
//! variable `PHSYNC_BACKEND` names another one (see [`Backend::from_name`]) — for tests and
//! benchmarks. [`derive_many_with`] runs one backend explicitly.
//!
//! # Secrets
//! Key blocks, ipad/opad states, intermediate digests and accumulators are zeroized after
//! use (`perf.md` §4.1): explicit `zeroize` on the named buffers, and a best-effort wipe of
//! the stack the kernels used ([`zeroize::zeroize_stack`]) after every call. Register
//! contents cannot be wiped from Rust. No kernel branches or indexes on secret data.
//!
//! [technique 1]: Backend#techniques
//! [technique 2]: Backend#techniques
//! [technique 3]: Backend#techniques
//! [technique 4]: Backend#techniques

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

#[cfg(target_arch = "aarch64")]
mod aarch64_sha2;
mod consts;
mod lanes;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86_avx2;
#[cfg(target_arch = "x86_64")]
mod x86_avx512;
#[cfg(target_arch = "x86_64")]
mod x86_shani;
#[cfg(target_arch = "x86_64")]
mod x86_shani_asm;

/// Length of the PBKDF2 password: UTF-16LE of 32 hex digits.
pub const KEY_LEN: usize = 64;
/// Length of the salt.
pub const SALT_LEN: usize = 10;
/// Length of the derived key.
pub const OUT_LEN: usize = 32;

/// Name of the environment variable that forces a backend (read once, by
/// [`Backend::selected`]).
pub const BACKEND_ENV: &str = "PHSYNC_BACKEND";

/// Bytes of stack wiped after each call into a kernel (the deepest kernel frame, SHA-NI ×4
/// or AVX2 ×8 with spills, is well under 4 KiB).
const STACK_WIPE: usize = 8 * 1024;

/// A PBKDF2 kernel family and its widest lane count.
///
/// A backend of width `N` runs full groups of `N` inputs in its `N`-lane kernel and the rest
/// in narrower kernels of the same family (SHA-NI ×4 → ×2 → ×1; AVX2 ×8 → portable), never
/// in padded dummy lanes (`perf.md` §4 technique 3, §4.1 "Lane mapping").
///
/// # Techniques
/// See `perf.md` §4, techniques 1–5: state precomputation and fixed padding, native state
/// layout, multi-lane interleaving, runtime dispatch, ARMv8 SHA2.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Scalar Rust, one lane, fastpbkdf2-style (`perf.md` §3, §4 technique 1). Runs anywhere.
    Portable,
    /// x86_64 SHA-NI, one lane (`perf.md` §4 technique 2; ≈ L1, the single-stream limit).
    ShaNiX1,
    /// x86_64 SHA-NI, two interleaved lanes (`perf.md` §1.3, §4: the contention-robust 3×).
    ShaNiX2,
    /// x86_64 SHA-NI + AVX, two lanes, the iteration loop in hand-scheduled assembly
    /// (`tools/gen_x86_shani_asm.py`): three-operand VEX.128 forms for everything but the SHA
    /// instructions, constants as memory operands. Where the SHA unit is the bound (AMD Zen 1:
    /// `sha256rnds2` every 2 cycles) it runs 5–10 % ahead of [`Backend::ShaNiX2`] (README).
    ShaNiX2Asm,
    /// x86_64 SHA-NI, four interleaved lanes (`perf.md` §1.3, §4: up to 3.8× when quiet).
    ShaNiX4,
    /// x86_64 AVX2, eight transposed lanes, for CPUs without SHA-NI (`perf.md` §1.4, §2.4).
    Avx2X8,
    /// x86_64 AVX-512F, sixteen transposed lanes: Intel Xeon servers and AMD Zen 5
    /// (`perf.md` §6). Not yet run on AVX-512 hardware by this project (see the README).
    Avx512X16,
    /// aarch64 SHA2 extensions, one lane (`perf.md` §4 technique 5).
    Aarch64Sha2X1,
    /// aarch64 SHA2 extensions, two interleaved lanes.
    Aarch64Sha2X2,
    /// aarch64 SHA2 extensions, four interleaved lanes (`perf.md` §4 technique 5).
    Aarch64Sha2X4,
}

/// A backend name that [`Backend::from_name`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown PBKDF2 backend {name:?} (known: {known})", known = Backend::known_names())]
pub struct UnknownBackend {
    /// The name as given.
    pub name: String,
}

/// A backend that this CPU (or this build's target architecture) cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("PBKDF2 backend {backend} is not available on this CPU")]
pub struct BackendUnavailable {
    /// The backend asked for.
    pub backend: Backend,
}

impl Backend {
    /// Every backend this crate knows, on any architecture, narrowest family first.
    pub const ALL: &'static [Backend] = &[
        Backend::Portable,
        Backend::ShaNiX1,
        Backend::ShaNiX2,
        Backend::ShaNiX2Asm,
        Backend::ShaNiX4,
        Backend::Avx2X8,
        Backend::Avx512X16,
        Backend::Aarch64Sha2X1,
        Backend::Aarch64Sha2X2,
        Backend::Aarch64Sha2X4,
    ];

    /// The name used by [`Backend::from_name`], `Display` and `PHSYNC_BACKEND`.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::ShaNiX1 => "shani-x1",
            Backend::ShaNiX2 => "shani-x2",
            Backend::ShaNiX2Asm => "shani-x2-asm",
            Backend::ShaNiX4 => "shani-x4",
            Backend::Avx2X8 => "avx2-x8",
            Backend::Avx512X16 => "avx512-x16",
            Backend::Aarch64Sha2X1 => "aarch64-sha2-x1",
            Backend::Aarch64Sha2X2 => "aarch64-sha2-x2",
            Backend::Aarch64Sha2X4 => "aarch64-sha2-x4",
        }
    }

    /// Parses a backend name (case-insensitive; `_` and `-` are interchangeable).
    ///
    /// # Errors
    /// [`UnknownBackend`] for a name not in [`Backend::ALL`]. Whether the backend can run on
    /// this CPU is a separate question: [`Backend::is_available`].
    pub fn from_name(name: &str) -> Result<Backend, UnknownBackend> {
        let norm = name.trim().to_ascii_lowercase().replace('_', "-");
        Backend::ALL
            .iter()
            .copied()
            .find(|b| b.name() == norm)
            .ok_or_else(|| UnknownBackend {
                name: name.to_owned(),
            })
    }

    fn known_names() -> String {
        Backend::ALL
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How many inputs the widest kernel of this backend processes at once.
    pub const fn lanes(self) -> usize {
        match self {
            Backend::Portable | Backend::ShaNiX1 | Backend::Aarch64Sha2X1 => 1,
            Backend::ShaNiX2 | Backend::ShaNiX2Asm | Backend::Aarch64Sha2X2 => 2,
            Backend::ShaNiX4 | Backend::Aarch64Sha2X4 => 4,
            Backend::Avx2X8 => 8,
            Backend::Avx512X16 => 16,
        }
    }

    /// Whether this CPU can run the backend (runtime detection via `cpufeatures`, cached).
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::ShaNiX1 | Backend::ShaNiX2 | Backend::ShaNiX4 => {
                x86_shani::ShaNi::detect().is_some()
            }
            #[cfg(target_arch = "x86_64")]
            Backend::ShaNiX2Asm => x86_shani::ShaNiAvx::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2X8 => x86_avx2::Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512X16 => x86_avx512::Avx512::detect().is_some(),
            #[cfg(target_arch = "aarch64")]
            Backend::Aarch64Sha2X1 | Backend::Aarch64Sha2X2 | Backend::Aarch64Sha2X4 => {
                aarch64_sha2::Sha2::detect().is_some()
            }
            #[allow(unreachable_patterns)] // all arms are reachable on some architecture
            _ => false,
        }
    }

    /// Every backend this CPU can run, in [`Backend::ALL`] order (always includes
    /// [`Backend::Portable`]).
    pub fn available() -> Vec<Backend> {
        Backend::ALL
            .iter()
            .copied()
            .filter(|b| b.is_available())
            .collect()
    }

    /// The backend chosen by CPU detection alone, ignoring `PHSYNC_BACKEND` (cached).
    ///
    /// x86_64: the two-lane SHA-NI kernels if the CPU has SHA-NI (`perf.md` §1.3, §4: the
    /// contention-robust choice; ×4 is faster only when the core is quiet) — compiled
    /// ([`Backend::ShaNiX2`]) and, with AVX, hand-scheduled ([`Backend::ShaNiX2Asm`]) — and
    /// AVX-512 ×16 if it has AVX-512F; **if more than one of these can run, a short
    /// calibration decides** (below); else AVX2 ×8, else portable. aarch64: SHA2 ×2, else
    /// portable. Other architectures: portable.
    ///
    /// Why calibrate rather than list CPU models: which one wins depends on the
    /// microarchitecture, not on the feature bits — SHA-NI on AMD Zen 3/4, AVX-512 on Intel
    /// Xeon and AMD Zen 5 (`perf.md` §6); the assembly loop's lead over the compiled one is
    /// largest where the SHA unit is the bound (Zen 1) — and model lists go stale (`perf.md`
    /// §4 technique 4). The calibration runs each candidate on the same 32 dummy inputs × 64 iterations,
    /// three rounds interleaved, and keeps the fastest (≈ 1–3 ms, once per process). Every
    /// backend computes the same bytes; only speed depends on the choice.
    ///
    /// Every candidate must first pass its known-answer self-test
    /// ([`Backend::passes_self_test`]); one that fails is reported once on standard error and
    /// never used, so a kernel that misbehaves on a CPU nobody here has tested on (the
    /// AVX-512 kernel has never run on real hardware in this project) costs speed, not
    /// correctness.
    pub fn detected() -> Backend {
        static DETECTED: OnceLock<Backend> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let usable = |b: &Backend| b.passes_self_test_or_report();
            let contenders: Vec<Backend> =
                [Backend::ShaNiX2, Backend::ShaNiX2Asm, Backend::Avx512X16]
                    .into_iter()
                    .filter(usable)
                    .collect();
            match contenders.as_slice() {
                [] => [Backend::Avx2X8, Backend::Aarch64Sha2X2]
                    .into_iter()
                    .find(usable)
                    .unwrap_or(Backend::Portable),
                [only] => *only,
                several => fastest(several),
            }
        })
    }

    /// The backend [`derive()`] and [`derive_many`] use, chosen once per process and cached.
    ///
    /// If `PHSYNC_BACKEND` is set it must name an available backend that passes its
    /// self-test ([`Backend::passes_self_test`]); an unknown or unavailable name, or a
    /// failed self-test, is reported once on standard error and the detected backend
    /// ([`Backend::detected`]) is used instead — never an unsupported kernel. Use
    /// [`Backend::from_env`] to see the problem as a value.
    pub fn selected() -> Backend {
        static SELECTED: OnceLock<Backend> = OnceLock::new();
        *SELECTED.get_or_init(|| match Backend::from_env() {
            Ok(Some(b)) if b.passes_self_test_or_report() => b,
            Ok(_) => Backend::detected(),
            Err(e) => {
                let fallback = Backend::detected();
                eprintln!("phsync: {BACKEND_ENV}: {e}; using {fallback}");
                fallback
            }
        })
    }

    /// Runs the backend's known-answer self-test: 19 inputs (a full 16-lane group, a pair
    /// and a single, so every kernel width and tail path of every backend runs) × 3
    /// iterations, compared with the `pbkdf2` crate. Takes microseconds (the
    /// `pbkdf2` crate's share dominates). [`Backend::detected`] and [`Backend::selected`]
    /// use no backend that fails it; [`derive_many_with`] does not run it (it is what the
    /// tests use to compare backends).
    ///
    /// `false` for a backend this CPU cannot run.
    pub fn passes_self_test(self) -> bool {
        self.is_available() && self_test_passes(|k, s, it, o| run(self, k, s, it, o))
    }

    /// [`Backend::passes_self_test`] (so `false` for an unavailable backend), saying on
    /// standard error when an available one fails.
    fn passes_self_test_or_report(self) -> bool {
        let ok = self.passes_self_test();
        if !ok && self.is_available() {
            eprintln!(
                "phsync: PBKDF2 backend {self} failed its known-answer self-test on this CPU; \
                 not used (please report: CPU model and this message)"
            );
        }
        ok
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

/// Whether `derive` computes the same bytes as the `pbkdf2` crate on the self-test inputs
/// (see [`Backend::passes_self_test`]). Inputs are fixed and not secret.
fn self_test_passes(
    derive: impl Fn(&[[u8; KEY_LEN]], &[[u8; SALT_LEN]], u32, &mut [[u8; OUT_LEN]]),
) -> bool {
    const ITEMS: usize = 16 + 2 + 1;
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

/// The fastest of `candidates` on this CPU, measured (see [`Backend::detected`]).
fn fastest(candidates: &[Backend]) -> Backend {
    const ITEMS: usize = 32;
    const ITERATIONS: u32 = 64;
    let keys: Vec<[u8; KEY_LEN]> = (0..ITEMS)
        .map(|i| [b'0' + (i % 10) as u8; KEY_LEN])
        .collect();
    let salts = vec![[0x5a; SALT_LEN]; ITEMS];
    let mut out = vec![[0u8; OUT_LEN]; ITEMS];
    let mut best = vec![std::time::Duration::MAX; candidates.len()];
    for _ in 0..3 {
        for (b, best) in candidates.iter().zip(best.iter_mut()) {
            let start = std::time::Instant::now();
            run(*b, &keys, &salts, ITERATIONS, &mut out);
            *best = (*best).min(start.elapsed());
        }
    }
    candidates
        .iter()
        .zip(&best)
        .min_by_key(|(_, t)| **t)
        .map_or(Backend::Portable, |(b, _)| *b)
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

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = UnknownBackend;
    fn from_str(s: &str) -> Result<Backend, UnknownBackend> {
        Backend::from_name(s)
    }
}

/// `PBKDF2-HMAC-SHA256(key, salt, iterations, 32)` for one input, on
/// [`Backend::selected`]'s one-lane kernel.
///
/// `iterations = 0` is outside the specialised shape and goes to the `pbkdf2` crate (which
/// treats it like 1).
pub fn derive(
    key: &[u8; KEY_LEN],
    salt: &[u8; SALT_LEN],
    iterations: u32,
    out: &mut [u8; OUT_LEN],
) {
    run(
        Backend::selected(),
        core::slice::from_ref(key),
        core::slice::from_ref(salt),
        iterations,
        core::slice::from_mut(out),
    );
}

/// [`derive()`] for many inputs: `out[i]` = derive(`keys[i]`, `salts[i]`), on
/// [`Backend::selected`]. Full lane groups run in the widest kernel, the tail in narrower
/// ones (`perf.md` §4 technique 3). Runs on the calling thread; split the slices across
/// threads for more cores (`perf.md` §4 technique 6).
///
/// # Panics
/// If the three slices differ in length (a caller bug, not an input error).
pub fn derive_many(
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    assert!(
        keys.len() == salts.len() && keys.len() == out.len(),
        "derive_many: slice lengths differ"
    );
    run(Backend::selected(), keys, salts, iterations, out);
}

/// [`derive_many`] on an explicitly chosen backend (for tests and benchmarks).
///
/// # Errors
/// [`BackendUnavailable`] if this CPU cannot run `backend`; nothing is written then.
///
/// # Panics
/// If the three slices differ in length.
pub fn derive_many_with(
    backend: Backend,
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) -> Result<(), BackendUnavailable> {
    assert!(
        keys.len() == salts.len() && keys.len() == out.len(),
        "derive_many_with: slice lengths differ"
    );
    if !backend.is_available() {
        return Err(BackendUnavailable { backend });
    }
    run(backend, keys, salts, iterations, out);
    Ok(())
}

/// Dispatch. The caller checked the lengths; `backend` was checked available, but every
/// SIMD arm re-derives its proof token anyway (cheap: a cached atomic load), so a wrong
/// `backend` can only fall back, never run an unsupported instruction.
fn run(
    backend: Backend,
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    if keys.is_empty() {
        return;
    }
    if iterations == 0 {
        // Outside the fixed shape (`perf.md` §4.1): the generic crate decides.
        for ((key, salt), out) in keys.iter().zip(salts).zip(out.iter_mut()) {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, salt, iterations, out);
        }
        return;
    }
    dispatch(backend, keys, salts, iterations, out);
    zeroize::zeroize_stack::<STACK_WIPE>();
}

/// The backend's kernels over all inputs (`iterations` ≥ 1), full lane groups first, the
/// tail in narrower kernels.
fn dispatch(
    backend: Backend,
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::ShaNiX1 | Backend::ShaNiX2 | Backend::ShaNiX4 => {
            match x86_shani::ShaNi::detect() {
                Some(k) => k.derive_many(backend.lanes(), keys, salts, iterations, out),
                None => run_portable(keys, salts, iterations, out),
            }
        }
        #[cfg(target_arch = "x86_64")]
        Backend::ShaNiX2Asm => match x86_shani::ShaNiAvx::detect() {
            Some(k) => k.derive_many(keys, salts, iterations, out),
            None => run_portable(keys, salts, iterations, out),
        },
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512X16 => match x86_avx512::Avx512::detect() {
            Some(k) => {
                let done = k.derive_many(keys, salts, iterations, out);
                // The tail (< 16): SHA-NI ×2 where the CPU has it (Intel Xeon since Ice Lake,
                // Zen 4/5; every AVX-512 CPU has AVX, so the assembly loop), else AVX2 ×8 and
                // portable.
                let tail = [Backend::ShaNiX2Asm, Backend::ShaNiX2]
                    .into_iter()
                    .find(|b| b.is_available())
                    .unwrap_or(Backend::Avx2X8);
                dispatch(
                    tail,
                    &keys[done..],
                    &salts[done..],
                    iterations,
                    &mut out[done..],
                );
            }
            None => run_portable(keys, salts, iterations, out),
        },
        #[cfg(target_arch = "x86_64")]
        Backend::Avx2X8 => match x86_avx2::Avx2::detect() {
            Some(k) => {
                let done = k.derive_many(keys, salts, iterations, out);
                run_portable(&keys[done..], &salts[done..], iterations, &mut out[done..]);
            }
            None => run_portable(keys, salts, iterations, out),
        },
        #[cfg(target_arch = "aarch64")]
        Backend::Aarch64Sha2X1 | Backend::Aarch64Sha2X2 | Backend::Aarch64Sha2X4 => {
            match aarch64_sha2::Sha2::detect() {
                Some(k) => k.derive_many(backend.lanes(), keys, salts, iterations, out),
                None => run_portable(keys, salts, iterations, out),
            }
        }
        _ => run_portable(keys, salts, iterations, out),
    }
}

/// Calls `f` on every full group of `N` consecutive inputs (as arrays, the kernels' shape)
/// and returns how many inputs that covered, a multiple of `N`; the tail is the caller's.
fn for_each_group<const N: usize>(
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    out: &mut [[u8; OUT_LEN]],
    mut f: impl FnMut(&[[u8; KEY_LEN]; N], &[[u8; SALT_LEN]; N], &mut [[u8; OUT_LEN]; N]),
) -> usize {
    let (k, _) = keys.as_chunks::<N>();
    let (s, _) = salts.as_chunks::<N>();
    let (o, _) = out.as_chunks_mut::<N>();
    for ((k, s), o) in k.iter().zip(s).zip(o) {
        f(k, s, o);
    }
    keys.len() / N * N
}

fn run_portable(
    keys: &[[u8; KEY_LEN]],
    salts: &[[u8; SALT_LEN]],
    iterations: u32,
    out: &mut [[u8; OUT_LEN]],
) {
    for ((key, salt), out) in keys.iter().zip(salts).zip(out.iter_mut()) {
        portable::derive(key, salt, iterations, out);
    }
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
            fastest(&[Backend::Portable, Backend::ShaNiX2]),
            Backend::ShaNiX2
        );
        assert_eq!(
            fastest(&[Backend::ShaNiX2, Backend::Portable]),
            Backend::ShaNiX2
        );
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

    #[test]
    fn groups_cover_full_lane_groups_and_leave_the_tail() {
        for n in 0..20 {
            let keys = vec![[0u8; KEY_LEN]; n];
            let salts = vec![[0u8; SALT_LEN]; n];
            let mut out = vec![[0u8; OUT_LEN]; n];
            let mut calls = 0;
            let done = for_each_group::<8>(&keys, &salts, &mut out, |_, _, o| {
                calls += 1;
                o[0][0] = 1;
            });
            assert_eq!((done, calls), (n / 8 * 8, n / 8));
            let marked: Vec<usize> = (0..n).filter(|&i| out[i][0] == 1).collect();
            assert_eq!(marked, (0..n / 8).map(|g| 8 * g).collect::<Vec<_>>());
        }
    }
}
