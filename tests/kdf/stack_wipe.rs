//! The stack wipe after each call into a kernel (`src/kdf/dispatch.rs`): it must reach at least
//! as deep as the kernel's frames did, or key-derived state (the HMAC pads' midstates, the
//! lanes' running U values, spilled vectors) stays below the caller's stack pointer after
//! the call returns.
//!
//! Measured without reading a byte of that memory: the least thread stack a call runs on.
//! Below it the call overflows its stack, which aborts the process, so each attempt runs in a
//! child process. The wipe alone sets the baseline (`iterations = 0` goes to the generic crate,
//! whose frames are small, and then through the same wipe); a kernel whose frames reached below
//! the wipe needs more stack than that. Resolution: one page.
//!
//! x86_64 only (`tests/kdf/main.rs`): the aarch64 build runs under `qemu-aarch64`, whose
//! stacks and guard pages are the emulator's.

use phsync::kdf::{Backend, derive_many_with};

use crate::selection::child_command;

const CHILD: &str = "PHSYNC_TEST_STACK_CHILD";
const PAGE: usize = 4096;
/// The most stack any attempt gets: far above the wipe and the deepest kernel.
const MOST_PAGES: usize = 64;

/// What a child does on its thread: derive a full lane group of `backend` at `iterations`,
/// or nothing (`None`: the thread's own floor).
type Call = Option<(Backend, u32)>;

/// Whether `call` runs on a thread of `stack` bytes.
fn runs_on(call: Call, stack: usize) -> bool {
    let spec = match call {
        Some((backend, iterations)) => format!("{stack}:{}:{iterations}", backend.name()),
        None => format!("{stack}"),
    };
    let out = child_command()
        .args(["stack_wipe::child", "--exact", "--ignored", "--nocapture"])
        .env(CHILD, spec)
        .output()
        .unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed")
}

/// The least stack, in whole pages, that `call` runs on.
fn least_stack(call: Call) -> usize {
    let (mut fails, mut runs) = (0, MOST_PAGES);
    assert!(
        runs_on(call, runs * PAGE),
        "{call:?}: does not run on {MOST_PAGES} pages"
    );
    while runs - fails > 1 {
        let mid = (fails + runs) / 2;
        if runs_on(call, mid * PAGE) {
            runs = mid;
        } else {
            fails = mid;
        }
    }
    runs * PAGE
}

#[test]
fn the_wipe_reaches_as_deep_as_every_kernel() {
    // The measure sees only what is deeper than a thread's least stack (the C library's
    // minimum and the thread-local block): the wipe must be, or a kernel deeper than the
    // wipe but within that floor would pass unseen.
    let floor = least_stack(None);
    let wipe = least_stack(Some((Backend::Portable, 0)));
    assert!(
        wipe > floor,
        "the wipe alone needs {wipe} bytes, no more than an idle thread ({floor}): too small \
         to measure against"
    );
    for backend in Backend::available() {
        let kernel = least_stack(Some((backend, 2)));
        assert!(
            kernel <= wipe,
            "{backend}: needs {kernel} bytes of stack, the wipe alone {wipe}: its frames reach \
             below what the wipe clears (raise STACK_WIPE in src/kdf/dispatch.rs)"
        );
    }
}

/// Run by `the_wipe_reaches_as_deep_as_every_kernel` in a child process.
#[test]
#[ignore = "run by the_wipe_reaches_as_deep_as_every_kernel in a child process"]
fn child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = spec.split(':');
    let stack: usize = parts.next().unwrap().parse().unwrap();
    let call = parts.next().map(|name| {
        let backend = Backend::from_name(name).unwrap();
        (backend, parts.next().unwrap().parse::<u32>().unwrap())
    });
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let Some((backend, iterations)) = call else {
                return;
            };
            let lanes = backend.lanes();
            let keys = vec![[b'7'; 64]; lanes];
            let salts = vec![[3u8; 10]; lanes];
            let mut out = vec![[0u8; 32]; lanes];
            derive_many_with(backend, &keys, &salts, iterations, &mut out).unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}
