#!/usr/bin/env python3
"""Whole-NC replication from a live Samba AD DC: phsync sync against impacket, same DC, same run.

  bench_sync.py WORKDIR PHSYNC USERS [ROUNDS]

WORKDIR is a DC left running by `tools/interop/run.sh --keep` (its plan.json, dc/etc/smb.conf).
First brings the domain to USERS extra users (bench.NNNNN, random passwords, created through
Samba's own bindings on the running DC's sam.ldb: Samba hashes them). Then, ROUNDS times each
(default 3), alternating:

  phsync   `phsync sync --quiet --iterations 1000` over NTLM, whole domain NC, no state store:
           EPM, bind, DRSBind, probe, the NC in chunks of 1000 objects with the PHS partial
           attribute set, decryption of every secret, PBKDF2 of every synced account, JSON out.
  impacket impacket's drsuapi over NTLM at packet privacy, the same partial attribute set and
           chunks of 200 objects (its NDR parser recurses per object: 1000 exceed Python's
           recursion limit), each reply parsed by impacket's NDR layer (`dce.request`): no
           decryption, no hashing (less work than phsync does).

Prints objects/s per round and the medians, as a Markdown table row for BENCHMARKS.md.
"""

import json
import os
import random
import statistics
import string
import subprocess
import sys
import time

# impacket's NDR layer recurses once per object of a reply (the REPLENTINFLIST chain); at 1000
# objects a reply exceeds Python's recursion limit, so impacket asks for 200 (raised limit).
IMPACKET_CHUNK = 200
sys.setrecursionlimit(20000)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def populate(smb_conf, users):
    from samba import param
    from samba.auth import system_session
    from samba.samdb import SamDB
    lp = param.LoadParm()
    lp.load(smb_conf)
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    have = len(db.search(base=db.domain_dn(), expression="(sAMAccountName=bench.*)", attrs=["dn"]))
    rng = random.Random("phsync-bench")
    t0 = time.monotonic()
    for i in range(have, users):
        pw = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(14)) + "!a1"
        db.newuser("bench.%05d" % i, pw, useusernameascn=True)
    if users > have:
        print("   created %d users in %.0fs" % (users - have, time.monotonic() - t0), flush=True)


def run_phsync(phsync, plan):
    env = dict(os.environ, PHSYNC_PASSWORD=plan["admin_password"])
    dns = plan["realm"].lower()
    t0 = time.monotonic()
    p = subprocess.run([phsync, "sync", "--dc", "127.0.0.1", "--domain", dns, "--user", "Administrator",
                        "--all-objects", "--quiet"], env=env, capture_output=True, check=True)
    took = time.monotonic() - t0
    return p.stdout.count(b"\n"), took


def run_impacket(plan, truth):
    from capture import DEST_DSA, MAX_BYTES, impacket_bind, impacket_dsname, impacket_pas, v8_request
    from impacket.dcerpc.v5 import drsuapi
    t0 = time.monotonic()
    dce, handle, _, _ = impacket_bind(plan)
    nc = impacket_dsname(truth["domain_guid"], truth["domain_dn"])
    # the server's prefix table, from a one-object request (as phsync's probe)
    r = dce.request(v8_request(handle, DEST_DSA, DEST_DSA, nc, (0, 0, 0),
                               drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP, 1, 0,
                               drsuapi.EXOP_REPL_OBJ))
    entries = r["pmsgOut"]["V6"]["PrefixTableSrc"]["pPrefixEntry"]
    prefixes = [(e["ndx"], b"".join(x if isinstance(x, bytes) else bytes([x])
                                    for x in e["prefix"]["elements"])) for e in entries]
    pas, table = impacket_pas(prefixes)
    flags = drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP | drsuapi.DRS_GET_ANC | drsuapi.DRS_NEVER_SYNCED
    objects = 0
    hwm = (0, 0, 0)
    while True:
        r = dce.request(v8_request(handle, DEST_DSA, truth["invocation_id"], nc, hwm, flags,
                                   IMPACKET_CHUNK, MAX_BYTES, pas=pas, table=table))
        out = r["pmsgOut"]["V6"]
        objects += out["cNumObjects"]
        w = out["usnvecTo"]
        hwm = (w["usnHighObjUpdate"], w["usnReserved"], w["usnHighPropUpdate"])
        if not out["fMoreData"]:
            break
    dce.disconnect()
    return objects, time.monotonic() - t0


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    work, phsync, users = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rounds = int(sys.argv[4]) if len(sys.argv) == 5 else 3
    plan = json.load(open(os.path.join(work, "plan.json")))
    truth = json.load(open(os.path.join(work, "truth.json")))
    populate(os.path.join(work, "dc", "etc", "smb.conf"), users)
    rates = {"phsync": [], "impacket": []}
    for i in range(rounds):
        for name, fn in (("phsync", lambda: run_phsync(phsync, plan)), ("impacket", lambda: run_impacket(plan, truth))):
            n, took = fn()
            rates[name].append(n / took)
            print("   round %d %-8s %6d objects in %6.2fs: %8.0f objects/s" % (i + 1, name, n, took, n / took),
                  flush=True)
    p, q = statistics.median(rates["phsync"]), statistics.median(rates["impacket"])
    print("| %d objects | %.0f objects/s | %.0f objects/s | %.1f× |" % (n, p, q, p / q))


if __name__ == "__main__":
    main()
