#!/usr/bin/env python3
"""The three speed targets of the AVX-512 work, measured in one go on this host, each with its
verdict (BENCHMARKS.md records the figures with the CPU named):

1. kernel: the selected backend's SHA-256 compressions/s against tape-sha256's best kernel,
   one process, pinned to one CPU (`cargo bench --bench kdf -- '^compress/'`); target >= 1.0x;
2. pipeline: `phsync replay` of the real capture x 400 on 2 cores against 1 (calibrated
   kernel, `cargo bench --features cli --bench pipeline -- 400 11`), paired ratio; target >= 1.8x;
3. DRS: decode + decrypt of the NT hash (the pipeline's path) against Samba's C NDR parser,
   parse only, same run (`cargo bench --bench drs -- drs_vs_samba`); target >= 1.5x.

usage: python3 tools/bench/targets.py [--quick]
  --quick: the pipeline with 100 copies and 5 rounds (a smoke run, not a measurement).
Exit status 0 when every target is met, 1 otherwise, 2 when something could not be measured.
Only criterion results written by this run are read (target/criterion keeps older ones).
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRITERION = os.path.join(ROOT, "target", "criterion")


def cpu_model():
    with open("/proc/cpuinfo") as f:
        info = f.read()
    field = lambda name: (re.search(r"^%s\s*:\s*(.*)$" % name, info, re.M) or [None, "?"])[1]
    return "%s (family %s model %s)" % (field("model name"), field("cpu family"), field("model"))


def run(cmd, env=None):
    print("$ " + " ".join(cmd), flush=True)
    full_env = dict(os.environ, **(env or {}))
    out = subprocess.run(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit("failed (exit %d): %s" % (out.returncode, " ".join(cmd)))
    return out.stdout


def rates(group, since):
    """function id -> elements per second (criterion's median), for results written after
    `since`."""
    found = {}
    pattern = os.path.join(CRITERION, group, "**", "new", "estimates.json")
    for est in glob.glob(pattern, recursive=True):
        if os.path.getmtime(est) < since:
            continue
        bench = json.load(open(os.path.join(os.path.dirname(est), "benchmark.json")))
        elements = bench["throughput"]["Elements"]
        median_ns = json.load(open(est))["median"]["point_estimate"]
        found[bench["function_id"]] = elements * 1e9 / median_ns
    return found


def verdict(name, ratio, target, detail):
    ok = ratio >= target
    print("%-8s %.2fx (target >= %.1fx) %s  %s" % (name, ratio, target, "MET" if ok else "NOT MET", detail))
    return ok


def main():
    quick = "--quick" in sys.argv[1:]
    print("host: %s, %d CPUs" % (cpu_model(), os.cpu_count()))
    results = []

    selected = run(["cargo", "run", "-q", "--release", "--example", "kdf_backend"])
    print(selected, end="")
    backend = re.search(r"^selected (\S+)", selected, re.M).group(1)

    since = time.time()
    run(["taskset", "-c", "1", "cargo", "bench", "-q", "--bench", "kdf", "--", "^compress/"])
    kdf = rates("compress_it1000", since)
    tape = {k: v for k, v in kdf.items() if k.startswith("tape-")}
    if backend not in kdf or not tape:
        print("kernel: not measured (selected %s; tape kernels %s)" % (backend, sorted(tape)))
        return 2
    best_tape = max(tape, key=tape.get)
    for name in sorted(kdf, key=kdf.get, reverse=True):
        print("  %-18s %8.1fM compressions/s" % (name, kdf[name] / 1e6))
    results.append(verdict("kernel", kdf[backend] / tape[best_tape], 1.0,
                           "%s against %s" % (backend, best_tape)))

    size = ["100", "5"] if quick else ["400", "11"]
    out = run(["cargo", "bench", "-q", "--features", "cli", "--bench", "pipeline", "--"] + size)
    print(out, end="")
    two = re.search(r"^pipeline: 2 core\(s\):.*\(paired: ([0-9.]+)×\)", out, re.M)
    if not two:
        print("pipeline: not measured (fewer than 2 cores, or no taskset)")
        return 2
    results.append(verdict("pipeline", float(two.group(1)), 1.8, "2 cores against 1, paired"))

    since = time.time()
    run(["cargo", "bench", "-q", "--bench", "drs", "--", "drs_vs_samba"])
    drs = rates("drs_vs_samba", since)
    samba = drs.get("samba_ndr_unpack_out_parse_only")
    ours = drs.get("phsync_decode_decrypt_nt_hash")
    if not samba or not ours:
        print("DRS: not measured (is python3-samba installed?): %s" % sorted(drs))
        return 2
    for name in sorted(drs, key=drs.get, reverse=True):
        print("  %-34s %6.0fk objects/s" % (name, drs[name] / 1e3))
    results.append(verdict("DRS", ours / samba, 1.5, "decode + NT hash against Samba's parse"))

    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
