#!/usr/bin/env python3
"""Capture real [out] stubs of ept_map, IDL_DRSBind and IDL_DRSUnbind from a running DC.

usage: capture_dc_replies.py PLAN.json OUT.txt [REQUEST.hex]

Run against the Samba AD DC that `tools/interop/run.sh --keep` leaves on 127.0.0.1 (PLAN.json is
the plan file it prints). impacket sends the requests; each reply is stored as the NDR20 [out]
stub the RPC layer returned (after unsealing), in hex, one `name = hex` line each:

  epm_map_drsuapi.{request,reply}   ept_map (C706 Appendix L) for DRSUAPI
                                    e3514235-4b06-11d1-ab04-00c04fc2dcd2 v4.0 over ncacn_ip_tcp,
                                    as impacket's epm.hept_map builds it (max_towers 4)
  epm_map_unknown.{request,reply}   the same for an interface nobody registered
                                    (11111111-2222-3333-4444-555555555555 v1.0): a status
  drs_bind.{request,reply}          IDL_DRSBind (MS-DRSR 4.1.3) with the extensions of
                                    tools/interop/capture.py (impacket_bind), NTLM, sealed
  drs_unbind.{request,reply}        IDL_DRSUnbind (MS-DRSR 4.1.25) of that handle

With REQUEST.hex (the hex of an IDL_DRSGetNCChanges [in] stub whose first 20 bytes, the
DRS_HANDLE, are replaced by the bound handle), that request is sent between bind and unbind and
its WERROR and object count (Samba's own NDR parser) are printed: a live check of an encoder.
"""

import json
import os
import sys
from struct import unpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from capture import drs_bind_request, impacket_connect  # noqa: E402  (tools/interop/capture.py)

HOST = "127.0.0.1"


def raw_call(dce, opnum, data):
    dce.call(opnum, data)
    return dce.recv()


def epm_request(iface_uuid, iface_ver):
    """The ept_map request impacket's epm.hept_map sends for ncacn_ip_tcp."""
    import socket
    from impacket.dcerpc.v5 import epm
    from impacket.uuid import uuidtup_to_bin
    remote = uuidtup_to_bin((iface_uuid, iface_ver))
    ndr = uuidtup_to_bin(("8a885d04-1ceb-11c9-9fe8-08002b104860", "2.0"))
    interface = epm.EPMRPCInterface()
    interface["InterfaceUUID"] = remote[:16]
    interface["MajorVersion"] = unpack("<H", remote[16:18])[0]
    interface["MinorVersion"] = unpack("<H", remote[18:])[0]
    rep = epm.EPMRPCDataRepresentation()
    rep["DataRepUuid"] = ndr[:16]
    rep["MajorVersion"] = unpack("<H", ndr[16:18])[0]
    rep["MinorVersion"] = unpack("<H", ndr[18:])[0]
    prot = epm.EPMProtocolIdentifier()
    prot["ProtIdentifier"] = epm.FLOOR_RPCV5_IDENTIFIER
    port = epm.EPMPortAddr()
    port["IpPort"] = 0
    host = epm.EPMHostAddr()
    host["Ip4addr"] = socket.inet_aton("0.0.0.0")
    tower = epm.EPMTower()
    tower["NumberOfFloors"] = 5
    tower["Floors"] = interface.getData() + rep.getData() + prot.getData() + port.getData() + host.getData()
    req = epm.ept_map()
    req["max_towers"] = 4
    req["map_tower"]["tower_length"] = len(tower)
    req["map_tower"]["tower_octet_string"] = tower.getData()
    req.fields["obj"].fields["ReferentID"] = 1
    req.fields["map_tower"].fields["ReferentID"] = 2
    return req


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    plan = json.load(open(sys.argv[1]))
    out = []

    from impacket.dcerpc.v5 import drsuapi, epm, transport

    rpc = transport.DCERPCTransportFactory("ncacn_ip_tcp:%s[135]" % HOST)
    dce = rpc.get_dce_rpc()
    dce.connect()
    dce.bind(epm.MSRPC_UUID_PORTMAP)
    for name, uuid, ver in (("epm_map_drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2", "4.0"),
                            ("epm_map_unknown", "11111111-2222-3333-4444-555555555555", "1.0")):
        req = epm_request(uuid, ver)
        data = req.getData()
        out.append((name, "ept_map %s v%s ncacn_ip_tcp, max_towers 4 (impacket hept_map)" % (uuid, ver),
                    data, raw_call(dce, req.opnum, data)))
    dce.disconnect()

    dce, _ = impacket_connect(plan)
    req = drs_bind_request()
    data = req.getData()
    reply = raw_call(dce, req.opnum, data)
    out.append(("drs_bind", "IDL_DRSBind, NTDSAPI_CLIENT_GUID, extensions as tools/interop/capture.py "
                "(GETCHGREQ_V6|GETCHGREPLY_V6|GETCHGREQ_V8|STRONG_ENCRYPTION|NONDOMAIN_NCS, "
                "dwExtCaps 0xffffffff)", data, reply))
    resp = drsuapi.DRSBindResponse(reply)
    handle = bytes(resp["phDrs"])
    assert len(handle) == 20, handle

    if len(sys.argv) == 4:
        from samba import ndr
        from samba.dcerpc import drsuapi as sdrs
        template = bytes.fromhex(open(sys.argv[3]).read().strip())
        raw = raw_call(dce, 3, handle + template[20:])
        fn = sdrs.DsGetNCChanges()
        ndr.ndr_unpack_out(fn, raw)
        werr = fn.result[0] if isinstance(fn.result, tuple) else int(fn.result)
        print("GetNCChanges from %s: WERROR 0x%08x, out version %d, %d objects, more_data %d"
              % (sys.argv[3], werr, fn.out_level_out, fn.out_ctr.object_count, fn.out_ctr.more_data))

    req = drsuapi.DRSUnbind()
    req["phDrs"] = handle
    data = req.getData()
    out.append(("drs_unbind", "IDL_DRSUnbind of the handle drs_bind returned", data,
                raw_call(dce, req.opnum, data)))
    dce.disconnect()

    with open(sys.argv[2], "w") as f:
        f.write("# Real [out] stubs (NDR20, after unsealing) from a Samba AD DC on 127.0.0.1\n")
        f.write("# (tools/interop/run.sh --keep), captured by tools/vectors/capture_dc_replies.py\n")
        f.write("# with impacket. Each entry: a comment, NAME.request = the [in] stub sent,\n")
        f.write("# NAME.reply = the [out] stub received.\n")
        for name, what, request, reply in out:
            f.write("\n# %s\n%s.request = %s\n%s.reply = %s\n" % (what, name, request.hex(), name, reply.hex()))


if __name__ == "__main__":
    main()
