#!/usr/bin/env python3
"""Bundle the live harness's incremental sequence as a test fixture.

usage: bundle_incremental_fixture.py INTEROP_OUTDIR FIXTURE_DIR

Reads INTEROP_OUTDIR/manifest.json (written by tests/interop/run.sh) and copies its
`impacket-ntlm-incremental` sequence (full cycle, then two deltas, replies and requests) into
FIXTURE_DIR/bin/, with FIXTURE_DIR/truth.json holding the session key, the phases, each phase's
directory changes with the passwords and their MD4 (computed by the harness, independent of
phsync) and the accounts as they were before the first delta.
"""
import json
import os
import shutil
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    m = json.load(open(os.path.join(src, "manifest.json"), encoding="utf-8"))
    seq = next(s for s in m["sequences"] if s["id"] == "impacket-ntlm-incremental")
    os.makedirs(os.path.join(dst, "bin"), exist_ok=True)

    def local(rel):
        name = os.path.basename(rel)
        shutil.copyfile(os.path.join(src, rel), os.path.join(dst, "bin", name))
        return "bin/" + name

    for info in seq["reply_info"]:
        local(info["request_file"])
    phases = [{**p, "replies": [local(r) for r in p["replies"]]} for p in seq["phases"]]
    keep = ("role", "sam_account_name", "object_guid", "object_sid", "password", "nt_hash",
            "has_password", "disabled", "must_change", "no_password", "user_account_control")
    truth = {
        "format": "phsync-incremental-fixture/1",
        "seed": m["seed"],
        "generated_utc": m["generated_utc"],
        "software": m["software"],
        "domain": m["domain"],
        "client": seq["client"],
        "auth": seq["auth"],
        "request": seq["request"],
        "session_key_hex": seq["session_key_hex"],
        "phases": phases,
        "reply_info": [{**r, "file": local(r["file"]), "request_file": "bin/" + os.path.basename(
            r["request_file"])} for r in seq["reply_info"]],
        "accounts_before_deltas": [{k: a[k] for k in keep} for a in m["accounts"]],
    }
    with open(os.path.join(dst, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
