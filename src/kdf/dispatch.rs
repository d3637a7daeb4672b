//! Running a chosen [`Backend`]: full lane groups in its widest kernel, the tail in narrower
//! kernels of the same family, then a best-effort wipe of the stack the kernels used.

#[cfg(target_arch = "aarch64")]
use super::aarch64_sha2;
use super::portable;
use super::{Backend, KEY_LEN, OUT_LEN, SALT_LEN};
#[cfg(target_arch = "x86_64")]
use super::{x86_avx2, x86_avx512, x86_avx512x2, x86_shani};

/// Bytes of stack wiped after each call into a kernel: the deepest kernel frame, AVX-512 ×32
/// with its spilled state and message vectors, is about 16 KiB (×16 about 10 KiB, AVX2 ×8
/// about 7 KiB: `objdump` of the release build), and the wipe starts at `run`'s caller.
/// `tests/kdf/stack_wipe.rs` checks that no backend needs a deeper stack than the wipe.
const STACK_WIPE: usize = 32 * 1024;

/// Dispatch. The caller checked the lengths; `backend` was checked available, but every
/// SIMD arm re-derives its proof token anyway (cheap: a cached atomic load), so a wrong
/// `backend` can only fall back, never run an unsupported instruction.
pub(super) fn run(
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
        // Outside the fixed shape (`docs/kdf.md`): the generic crate decides.
        for ((key, salt), out) in keys.iter().zip(salts).zip(out.iter_mut()) {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key, salt, iterations, out);
        }
        zeroize::zeroize_stack::<STACK_WIPE>();
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
        Backend::Avx512X32 => match x86_avx512::Avx512::detect() {
            Some(k) => {
                let done = x86_avx512x2::derive_many(k, keys, salts, iterations, out);
                // The tail (< 32): a sixteen-lane group, then `avx512-x16`'s own tail.
                dispatch(
                    Backend::Avx512X16,
                    &keys[done..],
                    &salts[done..],
                    iterations,
                    &mut out[done..],
                );
            }
            None => run_portable(keys, salts, iterations, out),
        },
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512X16 => match x86_avx512::Avx512::detect() {
            Some(k) => {
                let done = k.derive_many(keys, salts, iterations, out);
                dispatch(
                    avx512_x16_tail(),
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

/// The backend of another family that runs what `backend`'s kernels leave over (fewer inputs
/// than its lanes), if there is one: AVX-512 ×32 → ×16; AVX-512 ×16 → SHA-NI ×2 where the CPU
/// has it (Intel Xeon since Ice Lake, Zen 4/5; every AVX-512 CPU has AVX, so the assembly
/// loop), else AVX2 ×8 (and its portable tail). A backend's self-test covers its tail's
/// (`Backend::passes_self_test`), so a tail kernel that fails its own is never used this way.
pub(super) fn tail_backend(backend: Backend) -> Option<Backend> {
    match backend {
        Backend::Avx512X32 => Some(Backend::Avx512X16),
        Backend::Avx512X16 => Some(avx512_x16_tail()),
        _ => None,
    }
}

/// What runs the fewer than sixteen inputs `avx512-x16` leaves over (see [`tail_backend`]).
fn avx512_x16_tail() -> Backend {
    [Backend::ShaNiX2Asm, Backend::ShaNiX2]
        .into_iter()
        .find(|b| b.is_available())
        .unwrap_or(Backend::Avx2X8)
}

/// Calls `f` on every full group of `N` consecutive inputs (as arrays, the kernels' shape)
/// and returns how many inputs that covered, a multiple of `N`; the tail is the caller's.
pub(super) fn for_each_group<const N: usize>(
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
    use crate::kdf::{KEY_LEN, OUT_LEN, SALT_LEN};

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
