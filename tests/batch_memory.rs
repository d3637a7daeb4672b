//! The runner streams: a large generated input is never materialised. Alone in its own test
//! binary so that the process's peak RSS (VmHWM) belongs to this test only.

use phsync::batch::{Runner, SyncAccount, SyncPolicy};
use phsync::{Iterations, NtHash};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn million_accounts_in_bounded_memory() {
    const N: u64 = 1_000_000;
    let before = vm_hwm_kib();
    let policy = SyncPolicy {
        iterations: Iterations::new(1).unwrap(),
        ..SyncPolicy::default()
    };
    let inputs = (0..N).map(|i| {
        let mut a =
            SyncAccount::from_nt_hash(format!("user{i}"), NtHash::from_bytes([i as u8; 16]));
        a.identity.source_anchor = Some(format!("anchor-{i:016x}"));
        Ok(a)
    });
    let mut synced = 0u64;
    let mut last_len = 0usize;
    let summary = Runner::new(policy).run(inputs, |o| {
        synced += u64::from(o.kind() == "synced");
        last_len = o.identity().source_anchor.as_ref().map_or(0, String::len);
    });
    assert_eq!(summary.total, N);
    assert_eq!(synced, N);
    assert_eq!(last_len, 23);
    let (Some(before), Some(after)) = (before, vm_hwm_kib()) else {
        eprintln!("no /proc/self/status here; memory not measured");
        return;
    };
    let grown_mib = (after.saturating_sub(before)) / 1024;
    eprintln!("peak RSS grew by {grown_mib} MiB over {N} accounts");
    assert!(grown_mib < 64, "peak RSS grew by {grown_mib} MiB");
}
