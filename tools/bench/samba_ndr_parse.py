#!/usr/bin/python3
"""Samba's C NDR parser as a timing peer for `cargo bench --bench drs` (group `drs_vs_samba`).

Run by the benchmark with Debian's python3 (python3-samba is built for it), the reply stubs as
arguments. Protocol on stdin/stdout, one line each way:
  "ready <objects>"        written once: the replies parsed, objects counted
  "<n>" -> "<nanoseconds>" parse every reply n times with ndr_unpack_out of DsGetNCChanges
                           (the [out] stub of IDL_DRSGetNCChanges, MS-DRSR 4.1.10); report the time
Parse only: Samba's parser does not decrypt. Ends at EOF.
"""
import sys
import time

from samba import ndr
from samba.dcerpc import drsuapi


def parse(raw):
    fn = drsuapi.DsGetNCChanges()
    ndr.ndr_unpack_out(fn, raw)
    return fn


def main():
    replies = [open(p, "rb").read() for p in sys.argv[1:]]
    objects = sum(parse(r).out_ctr.object_count for r in replies)
    print("ready %d" % objects, flush=True)
    for line in sys.stdin:
        n = int(line)
        start = time.perf_counter_ns()
        for _ in range(n):
            for r in replies:
                parse(r)
        print(time.perf_counter_ns() - start, flush=True)


if __name__ == "__main__":
    main()
