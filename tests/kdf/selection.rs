//! How the backend was chosen is a value (`phsync::kdf::selection()`), never text on standard
//! error: an unusable `PHSYNC_BACKEND` is checked in a child process (the choice is made once
//! per process), whose standard error must stay empty.

use phsync::kdf::{Backend, OverrideProblem, SelectionReason, selection};

const CHILD: &str = "PHSYNC_TEST_SELECTION_CHILD";

#[test]
fn selection_explains_the_backend() {
    let s = selection();
    assert_eq!(s.backend, Backend::selected());
    assert!(s.backend.is_available());
    if std::env::var_os("PHSYNC_BACKEND").is_none() {
        assert_eq!(s.backend, Backend::detected());
        assert_eq!(s.override_problem, None);
        match s.reason {
            SelectionReason::Calibrated => {
                assert!(s.calibration.len() >= 2, "{s:?}");
                assert!(s.calibration.iter().any(|(b, _)| *b == s.backend));
            }
            SelectionReason::Detected => assert!(s.calibration.is_empty()),
            other => panic!("{other:?} without PHSYNC_BACKEND"),
        }
        assert!(s.self_test_failures.is_empty(), "{s:?}");
    }
}

#[test]
fn unusable_override_is_a_value_not_a_message() {
    for name in ["no-such-backend", "portable"] {
        let out = child_command()
            .args(["selection::child", "--exact", "--ignored", "--nocapture"])
            .env(CHILD, name)
            .env("PHSYNC_BACKEND", name)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{name}: child failed:\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{name}: the child test did not run"
        );
        assert!(
            stderr.trim().is_empty(),
            "{name}: the library printed:\n{stderr}"
        );
    }
}

/// This test binary again, through the runner cargo used if it is an emulated build (CI runs
/// the aarch64 build under `qemu-aarch64`, named in `CARGO_TARGET_<TRIPLE>_RUNNER`, which the
/// test process inherits).
pub(crate) fn child_command() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    let runner_var = if cfg!(target_arch = "aarch64") {
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
    } else {
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER"
    };
    let runner = std::env::var(runner_var).unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    }
}

/// Run by `unusable_override_is_a_value_not_a_message` with `PHSYNC_BACKEND` set.
#[test]
#[ignore = "run by unusable_override_is_a_value_not_a_message in a child process"]
fn child() {
    let Ok(name) = std::env::var(CHILD) else {
        return;
    };
    // Derive once, the way a caller would trigger the choice.
    let mut out = [[0u8; 32]];
    phsync::kdf::derive_many(&[[b'0'; 64]], &[[1; 10]], 2, &mut out);
    let s = selection();
    if name == "portable" {
        assert_eq!(s.backend, Backend::Portable);
        assert_eq!(s.reason, SelectionReason::Forced);
        assert_eq!(s.override_problem, None);
    } else {
        assert_eq!(s.backend, Backend::detected());
        assert!(
            matches!(s.override_problem, Some(OverrideProblem::Invalid(_))),
            "{s:?}"
        );
        let msg = s.override_problem.as_ref().unwrap().to_string();
        assert!(msg.starts_with("PHSYNC_BACKEND: "), "{msg}");
    }
}
