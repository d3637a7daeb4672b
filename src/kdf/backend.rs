//! [`Backend`]: the PBKDF2 kernel families, their names (what `PHSYNC_BACKEND` takes), lane
//! widths and whether this CPU can run them. Choosing one is [`super::select`]'s job; running
//! one is [`super::dispatch`]'s.

use std::fmt;
use std::str::FromStr;

#[cfg(target_arch = "aarch64")]
use super::aarch64_sha2;
#[cfg(target_arch = "x86_64")]
use super::{x86_avx2, x86_avx512, x86_shani};

/// A PBKDF2 kernel family and its widest lane count.
///
/// A backend of width `N` runs full groups of `N` inputs in its `N`-lane kernel and the rest
/// in narrower kernels of the same family (SHA-NI ×4 → ×2 → ×1; AVX2 ×8 → portable), never
/// in padded dummy lanes (`docs/kdf.md` technique 3).
///
/// # Techniques
/// See `docs/kdf.md`, "Techniques" 1–5: state precomputation and fixed padding, native state
/// layout, multi-lane interleaving, runtime dispatch, ARMv8 SHA2.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Scalar Rust, one lane, fastpbkdf2-style (`docs/kdf.md` technique 1). Runs anywhere.
    Portable,
    /// x86_64 SHA-NI, one lane (`docs/kdf.md` technique 2; near the single-stream limit).
    ShaNiX1,
    /// x86_64 SHA-NI, two interleaved lanes (`BENCHMARKS.md`: the contention-robust 3×).
    ShaNiX2,
    /// x86_64 SHA-NI + AVX, two lanes, the iteration loop in hand-scheduled assembly
    /// (`tools/gen_x86_shani_asm.py`): three-operand VEX.128 forms for everything but the SHA
    /// instructions, constants as memory operands. Where the SHA unit is the bound (AMD Zen 1:
    /// `sha256rnds2` every 2 cycles) it runs 5–10 % ahead of [`Backend::ShaNiX2`] (BENCHMARKS.md).
    ShaNiX2Asm,
    /// x86_64 SHA-NI, four interleaved lanes (`BENCHMARKS.md`: up to 3.8× when quiet).
    ShaNiX4,
    /// x86_64 AVX2, eight transposed lanes, for CPUs without SHA-NI (`BENCHMARKS.md`).
    Avx2X8,
    /// x86_64 AVX-512F, sixteen transposed lanes: Intel Xeon servers and AMD Zen 5
    /// (`BENCHMARKS.md`).
    Avx512X16,
    /// x86_64 AVX-512F, thirty-two lanes as two interleaved sixteen-lane groups (two
    /// independent dependency chains per instruction pair); for cores with more 512-bit ports
    /// than one group's round chain keeps busy (`BENCHMARKS.md`). Tail: [`Backend::Avx512X16`].
    Avx512X32,
    /// aarch64 SHA2 extensions, one lane (`docs/kdf.md` technique 5).
    Aarch64Sha2X1,
    /// aarch64 SHA2 extensions, two interleaved lanes.
    Aarch64Sha2X2,
    /// aarch64 SHA2 extensions, four interleaved lanes (`docs/kdf.md` technique 5).
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
        Backend::Avx512X32,
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
            Backend::Avx512X32 => "avx512-x32",
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
            Backend::Avx512X32 => 32,
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
            Backend::Avx512X16 | Backend::Avx512X32 => x86_avx512::Avx512::detect().is_some(),
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
