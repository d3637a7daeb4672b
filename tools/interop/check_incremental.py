#!/usr/bin/env python3
"""End-to-end check of incremental sync on the live sequence, independent of phsync's code.

The main job ran once per phase of the `impacket-ntlm-incremental` sequence (full cycle, then
two deltas) with one state store (--state). Per phase this checks the JSON Lines it printed
and its exit status: the full cycle gives every manifest account the outcome of the default
policy (as check_mainjob.py); each delta gives every changed account the outcome the harness
prescribed when it made the change (capture.py's Directory), nothing in a delta is
`not_a_user`, and every synced verifier equals PBKDF2-HMAC-SHA256(UTF-16LE(uppercase hex(MD4 of
the new password)), salt, iterations) recomputed here with hashlib.

usage: check_incremental.py MANIFEST OUTDIR
       (reads OUTDIR/incremental-<phase>.jsonl and OUTDIR/incremental-<phase>.rc)
"""
import hashlib
import json
import os
import sys

from check_mainjob import expected_reason
from common import exit_on_problems


def verifier_matches(verifier, nt_hex):
    prefix, rest = verifier.split(",", 1)
    if prefix != "v1;PPH1_MD4":
        return False
    salt_hex, iterations, dk_hex = rest.rstrip(";").split(",")
    dk = hashlib.pbkdf2_hmac("sha256", nt_hex.upper().encode("utf-16-le"), bytes.fromhex(salt_hex),
                             int(iterations), 32)
    return dk.hex() == dk_hex


def main():
    manifest_path, outdir = sys.argv[1], sys.argv[2]
    m = json.load(open(manifest_path, encoding="utf-8"))
    seq = next(s for s in m["sequences"] if s["id"] == "impacket-ntlm-incremental")
    problems = []
    for phase in seq["phases"]:
        name = phase["name"]
        lines = [json.loads(l) for l in open(os.path.join(outdir, "incremental-%s.jsonl" % name),
                                              encoding="utf-8") if l.strip()]
        rc = int(open(os.path.join(outdir, "incremental-%s.rc" % name)).read())
        by_guid = {}
        for l in lines:
            by_guid.setdefault(l["object_guid"], []).append(l)
        if len(lines) != phase["objects"]:
            problems.append("%s: %d lines for %d replicated objects" % (name, len(lines), phase["objects"]))
        if name == "full":
            for a in m["accounts"]:
                got = by_guid.get(a["object_guid"], [])
                want = expected_reason(a)
                if a["role"] == "admin" and got and got[0]["reason"] == "critical_system_object":
                    want = "critical_system_object"
                if len(got) != 1 or got[0]["reason"] != want:
                    problems.append("full: %s: %s, expected %r" % (a["sam_account_name"], got, want))
                elif want is None and not verifier_matches(got[0]["verifier"], a["nt_hash"]):
                    problems.append("full: %s: verifier does not match" % a["sam_account_name"])
            want_rc = 0
        else:
            for l in lines:
                if l["reason"] == "not_a_user":
                    problems.append("%s: %s reported not_a_user" % (name, l["sam_account_name"]))
            for c in phase["changes"]:
                got = by_guid.get(c["object_guid"], [])
                ctx = "%s: %s (%s)" % (name, c["sam_account_name"], c["change"])
                if len(got) != 1:
                    problems.append("%s: %d lines" % (ctx, len(got)))
                    continue
                o = got[0]
                if (o["outcome"], o["reason"]) != (c["outcome"], c["reason"]):
                    problems.append("%s: %s/%s, expected %s/%s" % (ctx, o["outcome"], o["reason"],
                                                                   c["outcome"], c["reason"]))
                if o["sam_account_name"] != c["sam_account_name"]:
                    problems.append("%s: sAMAccountName %r" % (ctx, o["sam_account_name"]))
                if c["outcome"] == "synced" and not verifier_matches(o["verifier"], c["nt_hash"]):
                    problems.append("%s: verifier does not match MD4 of the new password" % ctx)
            want_rc = 1 if any(c["outcome"] == "failed" for c in phase["changes"]) else 0
        if rc != want_rc:
            problems.append("%s: exit status %d, expected %d" % (name, rc, want_rc))
        print("   %-8s %3d objects, exit %d" % (name, len(lines), rc))
    exit_on_problems("incremental", problems)
    print("incremental: full -> delta -> delta with one state store: ok "
          "(every change as prescribed, verifiers recomputed with hashlib)")


if __name__ == "__main__":
    main()
