#!/usr/bin/env bash
# Runs every fuzz target in turn, one process on one core, for SECONDS each (default 600),
# on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the -Z flags cargo-fuzz passes).
# Logs go to fuzz/logs/<target>.log; new corpus entries to fuzz/corpus/<target>/, crashes to
# fuzz/artifacts/<target>/. Usage: fuzz/run-all.sh [SECONDS] [TARGET…]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(reply_decode decrypt_value supplemental prefix_table samba_nt_password dirsync_control repl_metadata verifier_parse nt_hash_hex drs_bind_reply epm_map_reply dce_pdu)
mkdir -p logs
for t in "${targets[@]}"; do
  echo "=== $t ${secs}s $(date -u +%FT%TZ)"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"logs/$t.log" 2>&1
  echo "=== $t exit $? $(date -u +%FT%TZ)"
  grep -E '^(Done|stat::|#[0-9]+.*DONE)|SUMMARY|panicked|deadly signal' "logs/$t.log" | tail -12
done
