#!/usr/bin/env python3
"""Summarise `cargo bench --bench kdf` (criterion's target/criterion/**/new/*.json) as a
Markdown table: per benchmark, verifiers/s median and max over samples, and the ratio of
medians (and of maxima) to the `pbkdf2` crate in the same group and batch size.

usage: python3 tools/summarize.py [target/criterion] [group-prefix ...]
"""
import glob
import json
import os
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
prefixes = sys.argv[2:] or [""]
rows = {}
for bench in glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True):
    b = json.load(open(bench))
    if not any(b["group_id"].startswith(p) for p in prefixes):
        continue
    s = json.load(open(os.path.join(os.path.dirname(bench), "sample.json")))
    elems = b["throughput"]["Elements"]
    vps = [elems * n * 1e9 / t for n, t in zip(s["iters"], s["times"])]
    rows[(b["group_id"], b["value_str"], b["function_id"])] = (
        statistics.median(vps),
        max(vps),
        len(vps),
    )


def key(k):
    group, value, func = k
    num = "".join(ch for ch in value if ch.isdigit())
    return (group, int(num or 0), value, func != "pbkdf2-crate", func)


print("| group | batch | implementation | median v/s | max v/s | ratio (median) | ratio (max) |")
print("|---|---|---|---|---|---|---|")
for k in sorted(rows, key=key):
    group, value, func = k
    med, mx, n = rows[k]
    ref = rows.get((group, value, "pbkdf2-crate"))
    r1 = f"{med / ref[0]:.2f}×" if ref else "–"
    r2 = f"{mx / ref[1]:.2f}×" if ref else "–"
    print(f"| {group} | {value} | {func} | {med:,.0f} | {mx:,.0f} | {r1} | {r2} |")
