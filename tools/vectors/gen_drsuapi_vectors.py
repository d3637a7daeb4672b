#!/usr/bin/env python3
"""Request stubs built by impacket, for phsync's NDR20 encoders to reproduce.

usage: gen_drsuapi_vectors.py OUT.txt      (tests/vectors/dc_ndr.txt)

Run with the interop venv's python (impacket, pinned in tools/interop/requirements.txt). Each
request is built with impacket's own NDR classes (impacket.dcerpc.v5.drsuapi, .epm) the way
tools/interop/capture.py builds the requests that work against Samba, and written as the hex
of `getData()`: the NDR20 [in] stub. Inputs are in the comments and in src/drs/request_tests.rs
and src/dc/*.rs tests.

impacket picks referent IDs at random (seeded here, so the file is reproducible) and fills
alignment padding with marker bytes (0xaa, 0xab, ...): the Rust tests compare with both
normalised. One deliberate difference from capture.py: the DSNAME `structLen` is the MS-DRSR
5.50 value that Windows and Samba clients send (the structure without the conformant array's
MaxCount); capture.py's impacket_dsname counts the MaxCount too (Samba accepts both).
"""

import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, HERE)

from capture import PAS_OIDS, drs_bind_request, impacket_pas, v8_request  # noqa: E402  (tools/interop/capture.py)
from capture_dc_replies import epm_request  # noqa: E402

HANDLE = bytes(4) + bytes(range(0x11, 0x21))
DEST_DSA = "b7a6a1e4-5c6e-4f0a-8d3e-1f2a3b4c5d6e"
INVOCATION_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
NC_GUID = "c3f9e58a-0dd1-4d0b-8ab2-6c1d1e0f2a3b"
NC_DN = "DC=interöp,DC=test"
OBJECT_GUID = "1ee07830-e2be-4409-9026-e71e849e0edf"
NTDS_DSA_GUID = "9ed627cc-d683-4a7a-9344-122204c105a9"
CURSORS = [("4d9c1a1e-2b3c-4d5e-8f60-718293a4b5c6", 100), ("ae1f2b3c-4d5e-6f70-8192-a3b4c5d6e7f8", 0x100000002)]
USN_FROM = (0x1234, 7, 0x1230)
SCHEMA_INFO = bytes.fromhex("ff0000000000000000000000000000000000000000")
PREFIXES = [(0, bytes.fromhex("5504")), (1, bytes.fromhex("5506")),
            (2, bytes.fromhex("2a864886f7140102")), (9, bytes.fromhex("2a864886f7140104")),
            (0, SCHEMA_INFO)]


def dsname(guid, dn):
    from impacket.dcerpc.v5 import drsuapi
    from impacket.uuid import string_to_bin
    d = drsuapi.DSNAME()
    d["SidLen"] = 0
    d["Guid"] = string_to_bin(guid)
    d["Sid"] = ""
    d["NameLen"] = len(dn)
    d["StringName"] = dn + "\x00"
    d["structLen"] = len(d.getData()) - 4  # without the MaxCount (MS-DRSR 5.50)
    return d


def get_nc_changes(dest, invoc, nc, usn, cursors, flags, max_objects, max_bytes, exop, pas, table):
    return v8_request(HANDLE, dest, invoc, nc, usn, flags, max_objects, max_bytes, exop, pas, table,
                      cursors)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    random.seed(20240601)
    from impacket.dcerpc.v5 import drsuapi
    from importlib.metadata import version

    pas, table = impacket_pas(PREFIXES)
    out = [
        ("get_nc_changes_full",
         "IDL_DRSGetNCChanges V8 (impacket_nc_cycle): handle %s, dest %s, invocation %s,\n"
         "# NC guid %s dn %r, usnvecFrom %r, cursors %r,\n"
         "# DRS_WRIT_REP|DRS_GET_ANC, 50 objects, 8 MiB, EXOP_NONE, fsmo 0,\n"
         "# PAS = capture.py PAS_OIDS through the prefix table %r (impacket_pas)"
         % (HANDLE.hex(), DEST_DSA, INVOCATION_ID, NC_GUID, NC_DN, USN_FROM, CURSORS,
            [(n, p.hex()) for n, p in PREFIXES]),
         get_nc_changes(DEST_DSA, INVOCATION_ID, dsname(NC_GUID, NC_DN), USN_FROM, CURSORS,
                        drsuapi.DRS_WRIT_REP | drsuapi.DRS_GET_ANC, 50, 8 * 1024 * 1024, 0, pas, table)),
        ("get_nc_changes_exop",
         "IDL_DRSGetNCChanges V8 EXOP_REPL_OBJ (capture_impacket_exop): handle %s, dest = invocation = %s,\n"
         "# GUID-only DSNAME %s, usnvecFrom 0, DRS_INIT_SYNC|DRS_WRIT_REP, 1 object, 0 bytes, no PAS,\n"
         "# empty prefix table" % (HANDLE.hex(), NTDS_DSA_GUID, OBJECT_GUID),
         get_nc_changes(NTDS_DSA_GUID, NTDS_DSA_GUID, dsname(OBJECT_GUID, ""), (0, 0, 0), [],
                        drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP, 1, 0, drsuapi.EXOP_REPL_OBJ, None, [])),
        ("drs_bind",
         "IDL_DRSBind (capture.py impacket_bind): NTDSAPI_CLIENT_GUID, dwFlags GETCHGREQ_V6|GETCHGREPLY_V6|\n"
         "# GETCHGREQ_V8|STRONG_ENCRYPTION|NONDOMAIN_NCS, nil GUIDs, Pid/Epoch/FlagsExt 0, dwExtCaps 0xffffffff",
         drs_bind_request()),
        ("drs_unbind", "IDL_DRSUnbind: handle %s" % HANDLE.hex(), None),
        ("ept_map_drsuapi",
         "ept_map (epm.hept_map): DRSUAPI e3514235-4b06-11d1-ab04-00c04fc2dcd2 v4.0, NDR v2,\n"
         "# ncacn_ip_tcp port 0 ip 0.0.0.0, nil object (referent 1), tower referent 2, max_towers 4",
         epm_request("e3514235-4b06-11d1-ab04-00c04fc2dcd2", "4.0")),
    ]
    unbind = drsuapi.DRSUnbind()
    unbind["phDrs"] = HANDLE
    out[3] = out[3][:2] + (unbind,)

    with open(sys.argv[1], "w") as f:
        f.write("# NDR20 [in] stubs built by impacket %s (getData()), written by\n" % version("impacket"))
        f.write("# tools/vectors/gen_drsuapi_vectors.py. Referent IDs are impacket's (random, seeded) and\n")
        f.write("# alignment padding is impacket's marker bytes: compare with both normalised.\n")
        f.write("# PAS_OIDS: %s\n" % " ".join(PAS_OIDS))
        for name, what, req in out:
            f.write("\n# %s\n%s = %s\n" % (what, name, req.getData().hex()))


if __name__ == "__main__":
    main()
