#!/usr/bin/env python3
"""Helpers for the live `phsync sync` checks in run.sh (the DC is running).

  live_sync.py drsuapi-port
      Prints the DRSUAPI TCP port the DC's endpoint mapper hands out (impacket's hept_map:
      a client other than phsync).

  live_sync.py proxy UPSTREAM_PORT PORT_FILE CUT_AFTER_BYTES
      A TCP proxy on 127.0.0.1 to 127.0.0.1:UPSTREAM_PORT. It writes its port to PORT_FILE
      and forwards both ways; on the FIRST connection it closes both sides once it has
      forwarded CUT_AFTER_BYTES from the server (in the middle of a reply), and says so on
      stdout. Later connections pass untouched. Runs until killed.

  live_sync.py expect-error NAME TIMEOUT_S WORDS... -- COMMAND...
      Runs COMMAND (env inherited), which must exit with status 1 within TIMEOUT_S seconds,
      print nothing on stdout, and name all WORDS (case-insensitive) on stderr.

  live_sync.py check-delta MANIFEST OUTPUT.jsonl
      The incremental `phsync sync` run after the capture's two rounds of directory changes
      (the manifest's incremental sequence): every changed account appears once with the
      outcome the manifest prescribes — except that an account enabled without its password in
      the delta is fetched whole and synced rather than failed — (verifiers recomputed with hashlib from the manifest's
      passwords), and no unchanged account appears other than as skipped/unchanged.

  live_sync.py hash-truth MANIFEST OUT.json
      What `phsync hash --state` must print for Samba's own export of the DC's NT hashes
      (`pdbedit -L -w`, smbpasswd format) taken before and after the capture's directory
      changes: per account and phase the outcome, the reason and the NT hash its verifier must
      match (from the manifest's passwords, not from the export).

  live_sync.py check-hash TRUTH.json BEFORE.jsonl AFTER.jsonl
      Checks the two `phsync hash --state` outputs against hash-truth's expectations: every
      account once (one not in that export, deleted or not yet created, not at all), its outcome and reason, every verifier
      recomputed with hashlib. After the changes only the changed accounts are synced; the
      others are skipped as unchanged (or for their earlier reason).
"""

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time

from common import exit_on_problems


def drsuapi_port():
    from impacket.dcerpc.v5 import drsuapi, epm
    binding = epm.hept_map("127.0.0.1", drsuapi.MSRPC_UUID_DRSUAPI, protocol="ncacn_ip_tcp")
    print(binding.rsplit("[", 1)[1].rstrip("]"))


def proxy(upstream_port, port_file, cut_after):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with open(port_file, "w") as f:
        f.write(str(listener.getsockname()[1]))
    first = [True]

    def serve(client):
        cut = first[0]
        first[0] = False
        server = socket.create_connection(("127.0.0.1", upstream_port))
        sent = [0]
        done = threading.Event()

        def pump(src, dst, counting):
            try:
                while not done.is_set():
                    data = src.recv(65536)
                    if not data:
                        break
                    if counting and cut and sent[0] + len(data) > cut_after:
                        keep = max(0, cut_after - sent[0])
                        dst.sendall(data[:keep])
                        print("proxy: cut the connection after %d server bytes" % (sent[0] + keep),
                              flush=True)
                        break
                    dst.sendall(data)
                    if counting:
                        sent[0] += len(data)
            except OSError:
                pass
            done.set()
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pump, args=(client, server, False), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, True), daemon=True).start()

    while True:
        c, _ = listener.accept()
        serve(c)


def expect_error(name, timeout, words, command):
    t0 = time.monotonic()
    try:
        p = subprocess.run(command, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit("%s: no answer within %ss" % (name, timeout))
    took = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    problems = []
    if p.returncode != 1:
        problems.append("exit status %d, expected 1" % p.returncode)
    if p.stdout.strip():
        problems.append("printed on stdout: %r" % p.stdout[:200])
    for w in words:
        if w.lower() not in err.lower():
            problems.append("stderr does not say %r" % w)
    if problems:
        print("%s: stderr was:\n%s" % (name, err))
        sys.exit("%s: %s" % (name, "; ".join(problems)))
    print("   %s: exit 1 after %.1fs: %s" % (name, took, err.strip().splitlines()[-1]))


def verifier_matches(verifier, nt_hash_hex):
    prefix, rest = verifier.split(",", 1)
    if prefix != "v1;PPH1_MD4":
        return False
    salt_hex, iterations, dk_hex = rest.rstrip(";").split(",")
    dk = hashlib.pbkdf2_hmac("sha256", nt_hash_hex.upper().encode("utf-16-le"),
                             bytes.fromhex(salt_hex), int(iterations), 32)
    return dk.hex() == dk_hex


def check_delta(manifest_path, output_path):
    manifest = json.load(open(manifest_path))
    seq = manifest["sequences"][0]
    accounts = {a["object_guid"]: a for a in manifest["accounts"]}
    changes = {}
    for phase in seq["phases"]:
        for c in phase["changes"]:
            changes[c["object_guid"]] = c   # a later change of the same object wins
    lines = [json.loads(l) for l in open(output_path, encoding="utf-8") if l.strip()]
    by_guid = {}
    for l in lines:
        by_guid.setdefault(l["object_guid"], []).append(l)
    problems = []
    for guid, c in changes.items():
        got = by_guid.pop(guid, [])
        if len(got) != 1:
            problems.append("%s (%s): %d output lines" % (c["sam_account_name"], c["change"], len(got)))
            continue
        out = got[0]
        if (c["outcome"], c["reason"]) == ("failed", "password_not_replicated"):
            # replay can only fail here; phsync sync fetches the object whole (EXOP_REPL_OBJ)
            # and syncs its unchanged password
            c = dict(c, outcome="synced", reason=None, nt_hash=accounts[guid]["nt_hash"])
        if (out["outcome"], out["reason"]) != (c["outcome"], c["reason"]):
            problems.append("%s (%s): %s/%s, expected %s/%s" % (
                c["sam_account_name"], c["change"], out["outcome"], out["reason"], c["outcome"], c["reason"]))
        if out["outcome"] == "synced" and not verifier_matches(out["verifier"], c["nt_hash"]):
            problems.append("%s: verifier does not match MD4 of the new password" % c["sam_account_name"])
    known = set(accounts)
    for guid, got in by_guid.items():
        # An account whose only changes lie outside the partial attribute set (a logon stamp)
        # may come along; it must not be synced again.
        if guid in known and any((l["outcome"], l["reason"]) != ("skipped", "unchanged") for l in got):
            problems.append("unchanged account %s reported: %s" % (got[0]["sam_account_name"], got))
    exit_on_problems("incremental phsync sync", problems)
    print("   incremental phsync sync: %d changed accounts, each once, as expected; %d other objects"
          % (len(changes), sum(len(v) for v in by_guid.values())))


def hash_reason(acct):
    """The reason `phsync hash` gives an account of the manifest before any change; in the
    smbpasswd export krbtgt is a disabled user account (its RID is not in the export)."""
    if acct["role"] == "krbtgt":
        return "disabled"
    from check_mainjob import expected_reason
    return expected_reason(acct)


def hash_truth(manifest_path, out_path):
    manifest = json.load(open(manifest_path))
    changes = {}
    for phase in manifest["sequences"][0]["phases"]:
        for c in phase["changes"]:
            changes[c["sam_account_name"]] = c   # a later change of the same account wins
    truth = {"source": "tools/interop/live_sync.py hash-truth", "accounts": {}}
    for acct in manifest["accounts"]:
        sam = acct["sam_account_name"]
        reason = hash_reason(acct)
        before = {"outcome": "synced" if reason is None else "skipped", "reason": reason,
                  "nt_hash": acct.get("nt_hash")}
        c = changes.get(sam)
        if c is None:
            after = {"outcome": "skipped", "reason": "unchanged" if reason is None else reason,
                     "nt_hash": None}
        elif c["change"] == "deleted":
            after = None   # gone from the export
        elif (c["outcome"], c["reason"]) == ("failed", "password_not_replicated"):
            # enabled again: it was skipped (and not remembered) while disabled
            after = {"outcome": "synced", "reason": None, "nt_hash": acct["nt_hash"]}
        else:
            after = {"outcome": c["outcome"], "reason": c["reason"],
                     "nt_hash": c.get("nt_hash") if c["outcome"] == "synced" else None}
        truth["accounts"][sam] = {"before": before, "after": after}
    for sam, c in changes.items():
        if sam not in truth["accounts"]:   # created by the changes: not in the first export
            truth["accounts"][sam] = {"before": None, "after": {
                "outcome": c["outcome"], "reason": c["reason"],
                "nt_hash": c.get("nt_hash") if c["outcome"] == "synced" else None}}
    json.dump(truth, open(out_path, "w"), indent=1, sort_keys=True)


def check_hash(truth_path, before_path, after_path):
    truth = json.load(open(truth_path))["accounts"]
    problems = []
    counts = {}
    for phase, path in (("before", before_path), ("after", after_path)):
        by_sam = {}
        for l in open(path, encoding="utf-8"):
            if l.strip():
                o = json.loads(l)
                by_sam.setdefault(o["sam_account_name"], []).append(o)
        for sam, t in truth.items():
            want = t[phase]
            got = by_sam.get(sam, [])
            if want is None:
                if got:
                    problems.append("%s %s: not in this export, but %d output lines" % (phase, sam, len(got)))
                continue
            if len(got) != 1:
                problems.append("%s %s: %d output lines" % (phase, sam, len(got)))
                continue
            o = got[0]
            if (o["outcome"], o["reason"]) != (want["outcome"], want["reason"]):
                problems.append("%s %s: %s/%s, expected %s/%s" % (
                    phase, sam, o["outcome"], o["reason"], want["outcome"], want["reason"]))
            elif o["outcome"] == "synced" and not verifier_matches(o["verifier"], want["nt_hash"]):
                problems.append("%s %s: verifier does not match the manifest's password" % (phase, sam))
            counts[(phase, o["outcome"])] = counts.get((phase, o["outcome"]), 0) + 1
    exit_on_problems("phsync hash --state on pdbedit exports", problems)
    print("   phsync hash --state: before %d synced, after %d synced (the changed accounts) and "
          "%d skipped; verifiers recomputed with hashlib" % (
              counts.get(("before", "synced"), 0), counts.get(("after", "synced"), 0),
              counts.get(("after", "skipped"), 0)))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    if a[0] == "drsuapi-port":
        drsuapi_port()
    elif a[0] == "proxy" and len(a) == 4:
        proxy(int(a[1]), a[2], int(a[3]))
    elif a[0] == "expect-error" and "--" in a:
        sep = a.index("--")
        expect_error(a[1], float(a[2]), a[3:sep], a[sep + 1:])
    elif a[0] == "check-delta" and len(a) == 3:
        check_delta(a[1], a[2])
    elif a[0] == "hash-truth" and len(a) == 3:
        hash_truth(a[1], a[2])
    elif a[0] == "check-hash" and len(a) == 4:
        check_hash(a[1], a[2], a[3])

    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
