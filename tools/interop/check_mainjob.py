#!/usr/bin/env python3
"""End-to-end check of the main job on the live captures, independent of phsync's own code.

Reads the JSON Lines `phsync replay --all-objects` printed for one capture and checks, per account of the
manifest: it is present exactly once; the outcome is what the default Entra Connect-like policy
prescribes (disabled / temporary_password / no_password / not_a_user / synced); and every
synced verifier equals PBKDF2-HMAC-SHA256(UTF-16LE(uppercase hex(MD4 ground truth)), salt,
iterations) computed here with Python's hashlib.

usage: check_mainjob.py MANIFEST CAPTURE_ID OUTPUT.jsonl REPLY_COUNT
"""
import hashlib
import json
import sys


def expected_reason(acct):
    role = acct["role"]
    if role in ("krbtgt", "dc-machine"):
        return "not_a_user"
    if acct.get("disabled"):
        return "disabled"
    if acct.get("no_password"):
        return "no_password"
    if acct.get("must_change"):
        return "temporary_password"
    return None


def main():
    manifest_path, capture_id, output_path = sys.argv[1], sys.argv[2], sys.argv[3]
    manifest = json.load(open(manifest_path))
    lines = [json.loads(l) for l in open(output_path, encoding="utf-8") if l.strip()]
    by_sam = {}
    for line in lines:
        if line["sam_account_name"] is not None:
            by_sam.setdefault(line["sam_account_name"], []).append(line)
    checked = synced = 0
    problems = []
    for acct in manifest["accounts"]:
        sam = acct["sam_account_name"]
        found = by_sam.get(sam, [])
        if len(found) != 1:
            problems.append(f"{sam}: {len(found)} output lines")
            continue
        out = found[0]
        want = expected_reason(acct)
        # Administrator carries isCriticalSystemObject only when whole objects are replicated.
        if acct["role"] == "admin" and out["reason"] == "critical_system_object":
            want = "critical_system_object"
        if out["reason"] != want:
            problems.append(f"{sam} ({acct['role']}): reason {out['reason']!r}, expected {want!r}")
        if out["outcome"] == "synced":
            prefix, rest = out["verifier"].split(",", 1)
            assert prefix == "v1;PPH1_MD4", out["verifier"]
            salt_hex, iterations, dk_hex = rest.rstrip(";").split(",")
            password = acct["nt_hash"].upper().encode("utf-16-le")
            dk = hashlib.pbkdf2_hmac("sha256", password, bytes.fromhex(salt_hex), int(iterations), 32)
            if dk.hex() != dk_hex:
                problems.append(f"{sam}: verifier does not match the ground-truth NT hash")
            if out["object_guid"] != acct["object_guid"] or out["sid"] != acct["object_sid"]:
                problems.append(f"{sam}: identity differs from the manifest")
            synced += 1
        checked += 1
    if any(l["outcome"] == "failed" for l in lines):
        problems.append("some objects failed: " + ", ".join(str(l) for l in lines if l["outcome"] == "failed"))
    if problems:
        print(f"{capture_id}: {len(problems)} problem(s)")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print(f"{capture_id}: {len(lines)} objects, {checked} accounts checked, {synced} verifiers "
          f"recomputed with hashlib: ok")


if __name__ == "__main__":
    main()
