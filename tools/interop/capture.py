#!/usr/bin/env python3
"""Replicate from the running loopback DC with real DRS clients; keep the raw replies.

usage: capture.py PLAN.json TRUTH.json OUTDIR

Three captures, each one RPC connection with its own session key:

  impacket-ntlm-exop  impacket's drsuapi client, NTLMSSP, sealed. DRSBind as secretsdump.py
                      does it, then one IDL_DRSGetNCChanges V8 EXOP_REPL_OBJ per account
                      (no partial attribute set: whole objects). 16-byte session key.
  impacket-ntlm-nc    impacket, NTLMSSP: the whole domain NC in chunks of CHUNK objects,
                      partial attribute set (sAMAccountName, UAC, pwdLastSet, the secrets ...)
                      expressed against the server's own prefix table.
  samba-krb5-nc       Samba's own Python DRS client over Kerberos (sealed; the session key is
                      the 32-byte AES256 subkey): the whole domain NC as V10 requests in chunks,
                      with no partial attribute set, so every attribute of every object and
                      the linked values (group membership) arrive.

  impacket-ntlm-incremental  (a sequence, with PHSYNC_INTEROP_SMBCONF) impacket, NTLMSSP, one
                      connection: the whole NC as impacket-ntlm-nc, then two rounds of directory
                      changes (passwords, a new user, must-change, disable, enable, delete) made
                      through Samba's bindings on the running DC's sam.ldb, each followed by an
                      incremental cycle from the previous usnvecTo: the delta replies that carry
                      only the changed attributes. The manifest lists each phase's changes and
                      the outcome the default policy must give.

Each reply is stored exactly as the RPC layer returned it after unsealing: the NDR20 [out]
stub of opnum 3 (pdwOutVersion, the reply union, the WERROR). Samba's own NDR parser
(independent of phsync) reads every reply here too; its object counts go in the manifest
so that the Rust side can compare.

Env: KRB5_CONFIG (a krb5.conf pointing the realm at 127.0.0.1; run.sh writes one),
PHSYNC_INTEROP_CHUNK (objects per NC chunk, default 50), PHSYNC_INTEROP_SKIP_KRB5=1,
PHSYNC_INTEROP_SMBCONF (the DC's smb.conf, for the incremental sequence's directory changes).
"""

import os
import platform
import sys
import time

from common import nt_hash, read_json, write_json

HOST = "127.0.0.1"
CHUNK = int(os.environ.get("PHSYNC_INTEROP_CHUNK", "50"))
MAX_BYTES = 8 * 1024 * 1024
# the (made-up) NTDS DSA GUID of our "replica" in the NC captures
DEST_DSA = "b7a6a1e4-5c6e-4f0a-8d3e-1f2a3b4c5d6e"

# Partial attribute set of the impacket NC capture (by OID).
PAS_OIDS = [
    "2.5.4.0",                  # objectClass
    "1.2.840.113556.1.4.221",   # sAMAccountName
    "1.2.840.113556.1.4.656",   # userPrincipalName
    "1.2.840.113556.1.4.8",     # userAccountControl
    "1.2.840.113556.1.4.96",    # pwdLastSet
    "1.2.840.113556.1.4.146",   # objectSid
    "1.2.840.113556.1.4.90",    # unicodePwd
    "1.2.840.113556.1.4.94",    # ntPwdHistory
    "1.2.840.113556.1.4.55",    # dBCSPwd
    "1.2.840.113556.1.4.160",   # lmPwdHistory
    "1.2.840.113556.1.4.125",   # supplementalCredentials
]


def ber_oid(oid):
    arcs = [int(a) for a in oid.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def attrtyp(prefixes, oid):
    """MS-DRSR 5.16.4: OID -> ATTRTYP through a prefix table [(ndx, prefix bytes)]."""
    ber = ber_oid(oid)
    last = int(oid.rsplit(".", 1)[1])
    prefix = ber[:-1] if last < 128 else ber[:-2]
    assert last < 16384, oid
    for ndx, p in prefixes:
        if p == prefix:
            return (ndx << 16) | last
    raise KeyError("no prefix for %s in the server's table" % oid)


def samba_parse_reply(raw):
    from samba import ndr
    from samba.dcerpc import drsuapi
    fn = drsuapi.DsGetNCChanges()
    ndr.ndr_unpack_out(fn, raw)
    return fn


def reply_summary(raw):
    fn = samba_parse_reply(raw)
    werr = fn.result[0] if isinstance(fn.result, tuple) else int(fn.result)
    c = fn.out_ctr
    return fn, {
        "out_version": fn.out_level_out,
        "werror": werr,
        "object_count": c.object_count,
        "more_data": bool(c.more_data),
        "linked_attributes_count": getattr(c, "linked_attributes_count", 0),
    }


class Capture:
    def __init__(self, outdir, cap_id):
        self.outdir = outdir
        self.id = cap_id
        self.dir = os.path.join(outdir, "captures", cap_id)
        os.makedirs(self.dir, exist_ok=True)
        self.replies = []
        self.started = time.time()

    def save(self, request, raw, extra=None):
        n = len(self.replies)
        rel_req = "captures/%s/request-%03d.bin" % (self.id, n)
        rel_rep = "captures/%s/reply-%03d.bin" % (self.id, n)
        with open(os.path.join(self.outdir, rel_req), "wb") as f:
            f.write(request)
        with open(os.path.join(self.outdir, rel_rep), "wb") as f:
            f.write(raw)
        fn, info = reply_summary(raw)
        if info["werror"] != 0:
            raise RuntimeError("%s reply %d: WERROR 0x%08x" % (self.id, n, info["werror"]))
        info = {"file": rel_rep, "request_file": rel_req, "bytes": len(raw), **info, **(extra or {})}
        self.replies.append(info)
        return fn

    def describe(self, **kw):
        d = {"id": self.id, **kw, "replies": [r["file"] for r in self.replies], "reply_info": self.replies,
             "seconds": round(time.time() - self.started, 3)}
        d["session_key_len"] = len(bytes.fromhex(d["session_key_hex"]))
        return d


def prefix_table(fn):
    return [(m.id_prefix, bytes(m.oid.binary_oid)) for m in (fn.out_ctr.mapping_ctr.mappings or [])]


# --------------------------------------------------------------------------------------------
# impacket, NTLM
# --------------------------------------------------------------------------------------------

def impacket_version():
    from importlib.metadata import version
    return version("impacket")


def drs_bind_request():
    """IDL_DRSBind with the extensions secretsdump.py's RemoteOperations sends."""
    from impacket.dcerpc.v5 import drsuapi
    ext = drsuapi.DRS_EXTENSIONS_INT()
    ext["cb"] = len(ext)
    ext["dwFlags"] = (drsuapi.DRS_EXT_GETCHGREQ_V6 | drsuapi.DRS_EXT_GETCHGREPLY_V6
                      | drsuapi.DRS_EXT_GETCHGREQ_V8 | drsuapi.DRS_EXT_STRONG_ENCRYPTION
                      | drsuapi.DRS_EXT_NONDOMAIN_NCS)
    ext["SiteObjGuid"] = drsuapi.NULLGUID
    ext["Pid"] = 0
    ext["dwReplEpoch"] = 0
    ext["dwFlagsExt"] = 0
    ext["ConfigObjGUID"] = drsuapi.NULLGUID
    ext["dwExtCaps"] = 0xFFFFFFFF
    req = drsuapi.DRSBind()
    req["puuidClientDsa"] = drsuapi.NTDSAPI_CLIENT_GUID
    req["pextClient"]["cb"] = len(ext)
    req["pextClient"]["rgb"] = list(ext.getData())
    return req


def v8_request(handle, dest, invoc, nc, usn, flags, max_objects, max_bytes, exop=0, pas=None,
               table=(), cursors=()):
    """IDL_DRSGetNCChanges with a DRS_MSG_GETCHGREQ_V8 (MS-DRSR 4.1.10.2.5): `usn` is usnvecFrom
    (high obj, reserved, high prop), `cursors` the up-to-date vector [(dsa guid, usn)], `pas`
    a PARTIAL_ATTR_VECTOR_V1_EXT or None, `table` the PrefixTableDest entries."""
    from impacket.dcerpc.v5 import drsuapi
    from impacket.dcerpc.v5.dtypes import NULL
    from impacket.uuid import string_to_bin
    req = drsuapi.DRSGetNCChanges()
    req["hDrs"] = handle
    req["dwInVersion"] = 8
    req["pmsgIn"]["tag"] = 8
    v8 = req["pmsgIn"]["V8"]
    v8["uuidDsaObjDest"] = string_to_bin(dest)
    v8["uuidInvocIdSrc"] = string_to_bin(invoc)
    v8["pNC"] = nc
    v8["usnvecFrom"]["usnHighObjUpdate"] = usn[0]
    v8["usnvecFrom"]["usnReserved"] = usn[1]
    v8["usnvecFrom"]["usnHighPropUpdate"] = usn[2]
    if cursors:
        utd = drsuapi.UPTODATE_VECTOR_V1_EXT()
        utd["dwVersion"] = 1
        utd["dwReserved1"] = 0
        utd["cNumCursors"] = len(cursors)
        utd["dwReserved2"] = 0
        for guid, usn_prop in cursors:
            c = drsuapi.UPTODATE_CURSOR_V1()
            c["uuidDsa"] = string_to_bin(guid)
            c["usnHighPropUpdate"] = usn_prop
            utd["rgCursors"].append(c)
        v8["pUpToDateVecDest"] = utd
    else:
        v8["pUpToDateVecDest"] = NULL
    v8["ulFlags"] = flags
    v8["cMaxObjects"] = max_objects
    v8["cMaxBytes"] = max_bytes
    v8["ulExtendedOp"] = exop
    v8["pPartialAttrSet"] = pas if pas is not None else NULL
    v8["PrefixTableDest"]["PrefixCount"] = len(table)
    v8["PrefixTableDest"]["pPrefixEntry"] = list(table) if table else NULL
    v8["pPartialAttrSetEx1"] = NULL
    return req


def impacket_connect(plan):
    """DRSUAPI bound over NTLM at packet privacy (before IDL_DRSBind): (dce, binding)."""
    from impacket.dcerpc.v5 import drsuapi, epm, transport
    from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY
    binding = epm.hept_map(HOST, drsuapi.MSRPC_UUID_DRSUAPI, protocol="ncacn_ip_tcp")
    if "127.0.0.1" not in binding:
        raise RuntimeError("endpoint mapper handed out a non-loopback binding: %s" % binding)
    rpc = transport.DCERPCTransportFactory(binding)
    rpc.set_credentials("Administrator", plan["admin_password"], plan["netbios_domain"], "", "")
    dce = rpc.get_dce_rpc()
    dce.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    dce.connect()
    dce.bind(drsuapi.MSRPC_UUID_DRSUAPI)
    return dce, binding


def impacket_bind(plan):
    dce, binding = impacket_connect(plan)
    resp = dce.request(drs_bind_request())
    handle = resp["phDrs"]
    key = dce.get_session_key()
    key = bytes(getattr(key, "contents", key))
    return dce, handle, binding, key


def impacket_dsname(guid, dn=None):
    from impacket.dcerpc.v5 import drsuapi
    from impacket.uuid import string_to_bin
    d = drsuapi.DSNAME()
    d["SidLen"] = 0
    d["Guid"] = string_to_bin(guid)
    d["Sid"] = ""
    d["NameLen"] = len(dn) if dn else 0
    d["StringName"] = (dn or "") + "\x00"
    d["structLen"] = len(d.getData())
    return d


def impacket_call(dce, request):
    data = request.getData()
    dce.call(request.opnum, request)
    return data, dce.recv()  # the [out] stub, unsealed


def capture_impacket_exop(plan, truth, outdir):
    from impacket.dcerpc.v5 import drsuapi
    cap = Capture(outdir, "impacket-ntlm-exop")
    dce, handle, binding, key = impacket_bind(plan)
    for sam, acc in truth["accounts"].items():
        req = v8_request(handle, truth["ntds_dsa_guid"], truth["ntds_dsa_guid"],
                         impacket_dsname(acc["object_guid"]), (0, 0, 0),
                         drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP, 1, 0, drsuapi.EXOP_REPL_OBJ)
        data, raw = impacket_call(dce, req)
        cap.save(data, raw, {"target_sam_account_name": sam})
    dce.disconnect()
    return cap.describe(
        client="impacket %s (impacket.dcerpc.v5.drsuapi, DRSBind as in secretsdump.py)" % impacket_version(),
        auth="NTLMSSP over ncacn_ip_tcp, RPC_C_AUTHN_LEVEL_PKT_PRIVACY; key = NTLMSSP exported session key",
        binding=binding,
        request="DRSGetNCChanges V8 EXOP_REPL_OBJ, one per account, DRS_INIT_SYNC|DRS_WRIT_REP, "
                "no partial attribute set (whole objects)",
        session_key_hex=key.hex())


def impacket_pas(server_prefixes):
    """PAS_OIDS as a PARTIAL_ATTR_VECTOR_V1_EXT, and the server's own prefix table to send with it."""
    from impacket.dcerpc.v5 import drsuapi
    attids = sorted(attrtyp(server_prefixes, o) for o in PAS_OIDS)
    pas = drsuapi.PARTIAL_ATTR_VECTOR_V1_EXT()
    pas["dwVersion"] = 1
    pas["dwReserved1"] = 0
    pas["cAttrs"] = len(attids)
    for a in attids:
        t = drsuapi.ATTRTYP()
        t["Data"] = a
        pas["rgPartialAttr"].append(t)
    # Samba rejects a PAS whose PrefixTableDest lacks the schemaInfo entry (impacket's own
    # table does), so send the server's own table back, schemaInfo entry included.
    table = []
    for ndx, prefix in server_prefixes:
        e = drsuapi.PrefixTableEntry()
        e["ndx"] = ndx
        e["prefix"]["length"] = len(prefix)
        e["prefix"]["elements"] = list(prefix)
        table.append(e)
    return pas, table


def impacket_nc_cycle(dce, handle, truth, cap, pas, table, hwm, flags, extra=None):
    """One replication cycle of the domain NC from `hwm` (usnvecFrom), chunk by chunk until
    fMoreData is 0. Returns the last reply's usnvecTo."""
    for _ in range(1000):
        req = v8_request(handle, DEST_DSA, truth["invocation_id"],
                         impacket_dsname(truth["domain_guid"], truth["domain_dn"]), hwm, flags,
                         CHUNK, MAX_BYTES, pas=pas, table=table)
        data, raw = impacket_call(dce, req)
        fn = cap.save(data, raw, {"usn_vec_from": list(hwm), **(extra or {})})
        c = fn.out_ctr
        w = c.new_highwatermark
        hwm = (w.tmp_highest_usn, w.reserved_usn, w.highest_usn)
        if not c.more_data:
            return hwm
    raise RuntimeError("%s: still fMoreData after 1000 chunks" % cap.id)


def capture_impacket_nc(plan, truth, outdir, server_prefixes):
    from impacket.dcerpc.v5 import drsuapi
    cap = Capture(outdir, "impacket-ntlm-nc")
    dce, handle, binding, key = impacket_bind(plan)
    pas, table = impacket_pas(server_prefixes)
    impacket_nc_cycle(dce, handle, truth, cap, pas, table, (0, 0, 0),
                      drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP | drsuapi.DRS_GET_ANC
                      | drsuapi.DRS_NEVER_SYNCED)
    dce.disconnect()
    return cap.describe(
        client="impacket %s (impacket.dcerpc.v5.drsuapi)" % impacket_version(),
        auth="NTLMSSP over ncacn_ip_tcp, RPC_C_AUTHN_LEVEL_PKT_PRIVACY; key = NTLMSSP exported session key",
        binding=binding,
        request="DRSGetNCChanges V8, whole domain NC, DRS_INIT_SYNC|DRS_WRIT_REP|DRS_GET_ANC|DRS_NEVER_SYNCED, "
                "cMaxObjects=%d, partial attribute set of %d attributes" % (CHUNK, len(PAS_OIDS)),
        session_key_hex=key.hex())


# --------------------------------------------------------------------------------------------
# impacket, NTLM: a full cycle, then directory changes, then incremental cycles (deltas)
# --------------------------------------------------------------------------------------------

class Directory:
    """Changes made to the running DC's sam.ldb through Samba's own bindings, as an admin would
    with samba-tool; each returns what the next incremental sync should report."""

    def __init__(self, smb_conf, plan, truth):
        from samba import param
        from samba.auth import system_session
        from samba.samdb import SamDB
        lp = param.LoadParm()
        lp.load(smb_conf)
        self.db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
        self.by_role = {a["role"]: a for a in plan["accounts"]}
        self.truth = truth

    def _filter(self, sam):
        import ldb
        return "(sAMAccountName=%s)" % ldb.binary_encode(sam)

    def _sam(self, role):
        return self.by_role[role]["sam_account_name"]

    def _guid(self, sam):
        from samba.dcerpc import misc
        from samba.ndr import ndr_unpack
        r = self.db.search(base=self.db.domain_dn(), expression=self._filter(sam), attrs=["objectGUID"])
        return str(ndr_unpack(misc.GUID, r[0]["objectGUID"][0]))

    def _expect(self, role, sam, change, outcome, reason, password=None, must_change=False):
        return {"role": role, "sam_account_name": sam, "object_guid": self._guid(sam), "change": change,
                "outcome": outcome, "reason": reason, "password": password,
                "nt_hash": nt_hash(password) if password is not None else None, "must_change": must_change}

    def set_password(self, role, password):
        sam = self._sam(role)
        self.db.setpassword(self._filter(sam), password)
        return self._expect(role, sam, "password", "synced", None, password)

    def create(self, role, sam, password):
        self.db.newuser(sam, password, useusernameascn=True)
        return self._expect(role, sam, "created", "synced", None, password)

    def must_change(self, role, password):
        sam = self._sam(role)
        self.db.setpassword(self._filter(sam), password)
        self.db.force_password_change_at_next_login(self._filter(sam))
        return self._expect(role, sam, "password + must change", "skipped", "temporary_password", password,
                            must_change=True)

    def disable(self, role):
        sam = self._sam(role)
        self.db.disable_account(self._filter(sam))
        return self._expect(role, sam, "disabled", "skipped", "disabled")

    def enable(self, role):
        sam = self._sam(role)
        self.db.enable_account(self._filter(sam))
        # enabled, never synced, and the delta carries no password: it must be fetched
        return self._expect(role, sam, "enabled", "failed", "password_not_replicated")

    def delete(self, role):
        sam = self._sam(role)
        guid = self._guid(sam)
        r = self.db.search(base=self.db.domain_dn(), expression=self._filter(sam), attrs=["dn"])
        self.db.delete(r[0].dn)
        return {"role": role, "sam_account_name": sam, "object_guid": guid, "change": "deleted",
                "outcome": "skipped", "reason": "deleted", "password": None, "nt_hash": None,
                "must_change": False}


def capture_impacket_incremental(plan, truth, outdir, server_prefixes, smb_conf):
    """The PHS loop on one connection: the whole NC (as impacket-ntlm-nc), then two rounds of
    directory changes, each followed by an incremental cycle from the previous usnvecTo
    (DRS_WRIT_REP|DRS_GET_ANC, no DRS_INIT_SYNC), as a sync engine polls."""
    import random
    from impacket.dcerpc.v5 import drsuapi
    rng = random.Random("phsync-incremental:" + plan["seed"])

    def pw(n=12):
        alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&()*+,-./:;<=>?@"
        return "".join(rng.choice(alphabet) for _ in range(n)) + "Zz9!"

    cap = Capture(outdir, "impacket-ntlm-incremental")
    dce, handle, binding, key = impacket_bind(plan)
    pas, table = impacket_pas(server_prefixes)
    d = Directory(smb_conf, plan, truth)
    phases = []

    def cycle(name, hwm, flags, changes):
        first = len(cap.replies)
        hwm = impacket_nc_cycle(dce, handle, truth, cap, pas, table, hwm, flags, {"phase": name})
        phases.append({"name": name, "replies": [r["file"] for r in cap.replies[first:]],
                       "objects": sum(r["object_count"] for r in cap.replies[first:]), "changes": changes})
        return hwm

    hwm = cycle("full", (0, 0, 0), drsuapi.DRS_INIT_SYNC | drsuapi.DRS_WRIT_REP | drsuapi.DRS_GET_ANC
                | drsuapi.DRS_NEVER_SYNCED, [])
    delta = drsuapi.DRS_WRIT_REP | drsuapi.DRS_GET_ANC
    created = "created.%s" % "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4))
    changes = [d.set_password("plain", pw()), d.set_password("history", pw(9)),
               d.create("created", created, pw(15))]
    hwm = cycle("delta-1", hwm, delta, changes)
    changes = [d.must_change("spaces", pw()), d.disable("long"), d.delete("nonbmp"),
               d.set_password("empty", pw(10)), d.set_password("mustchg", pw()), d.enable("disabled")]
    hwm = cycle("delta-2", hwm, delta, changes)
    dce.disconnect()
    return cap.describe(
        client="impacket %s (impacket.dcerpc.v5.drsuapi)" % impacket_version(),
        auth="NTLMSSP over ncacn_ip_tcp, RPC_C_AUTHN_LEVEL_PKT_PRIVACY; key = NTLMSSP exported session key",
        binding=binding,
        request="DRSGetNCChanges V8, whole domain NC with the partial attribute set of impacket-ntlm-nc: "
                "a full cycle (DRS_INIT_SYNC|DRS_WRIT_REP|DRS_GET_ANC|DRS_NEVER_SYNCED), then two "
                "incremental cycles (DRS_WRIT_REP|DRS_GET_ANC from the previous usnvecTo) after "
                "directory changes, on the same connection",
        session_key_hex=key.hex(), phases=phases)


# --------------------------------------------------------------------------------------------
# Samba's own client, Kerberos
# --------------------------------------------------------------------------------------------

def capture_samba_krb5_nc(plan, truth, outdir):
    import samba
    from samba import credentials, drs_utils, ndr, param
    from samba.dcerpc import drsuapi, misc
    cap = Capture(outdir, "samba-krb5-nc")
    lp = param.LoadParm()  # defaults only: never /etc/samba/smb.conf
    lp.set("realm", plan["realm"])
    lp.set("workgroup", plan["netbios_domain"])
    creds = credentials.Credentials()
    creds.guess(lp)
    creds.set_username("Administrator")
    creds.set_password(plan["admin_password"])
    creds.set_domain(plan["netbios_domain"])
    creds.set_realm(plan["realm"])
    creds.set_kerberos_state(credentials.MUST_USE_KERBEROS)
    fqdn = "%s.%s" % (plan["hostname"], plan["dns_domain"])
    binding = "ncacn_ip_tcp:%s[seal,krb5,target_hostname=%s]" % (HOST, fqdn)
    conn = drsuapi.drsuapi(binding, lp, creds)
    key = bytes(conn.user_session_key)
    handle, _ext = drs_utils.drs_DsBind(conn)

    hwm = drsuapi.DsReplicaHighWaterMark()
    hwm.tmp_highest_usn = hwm.reserved_usn = hwm.highest_usn = 0
    for _ in range(1000):
        req = drsuapi.DsGetNCChangesRequest10()
        nc = drsuapi.DsReplicaObjectIdentifier()
        nc.dn = truth["domain_dn"]
        nc.guid = misc.GUID(truth["domain_guid"])
        req.naming_context = nc
        req.destination_dsa_guid = misc.GUID(DEST_DSA)
        req.source_dsa_invocation_id = misc.GUID(truth["invocation_id"])
        req.highwatermark = hwm
        req.uptodateness_vector = None
        req.replica_flags = (drsuapi.DRSUAPI_DRS_INIT_SYNC | drsuapi.DRSUAPI_DRS_WRIT_REP
                             | drsuapi.DRSUAPI_DRS_GET_ANC | drsuapi.DRSUAPI_DRS_NEVER_SYNCED)
        req.max_object_count = CHUNK
        req.max_ndr_size = MAX_BYTES
        req.extended_op = drsuapi.DRSUAPI_EXOP_NONE
        req.fsmo_info = 0
        req.partial_attribute_set = None
        req.partial_attribute_set_ex = None
        req.mapping_ctr.num_mappings = 0
        req.mapping_ctr.mappings = None
        req.more_flags = 0
        fn = drsuapi.DsGetNCChanges()
        fn.in_bind_handle = handle
        fn.in_level = 10
        fn.in_req = req
        data = ndr.ndr_pack_in(fn)
        raw = conn.request(3, data)
        out = cap.save(data, raw, {"usn_vec_from": [hwm.tmp_highest_usn, hwm.reserved_usn,
                                                     hwm.highest_usn]})
        if not out.out_ctr.more_data:
            break
        hwm = out.out_ctr.new_highwatermark
    else:
        raise RuntimeError("samba-krb5-nc: still fMoreData after 1000 chunks")
    return cap.describe(
        client="Samba %s Python bindings (samba.dcerpc.drsuapi, samba.drs_utils.drs_DsBind)" % samba.version,
        auth="Kerberos (MIT libkrb5 via gensec) over ncacn_ip_tcp, sealed; key = gensec session key "
             "(the AES256 subkey)",
        binding=binding,
        request="DsGetNCChanges V10, whole domain NC, INIT_SYNC|WRIT_REP|GET_ANC|NEVER_SYNCED, "
                "max_object_count=%d, no partial attribute set (all attributes, linked values)" % CHUNK,
        session_key_hex=key.hex())


# --------------------------------------------------------------------------------------------

def manifest_accounts(plan, truth):
    hist_len = plan["password_policy"]["history_length"]
    by_role = {a["role"]: a for a in plan["accounts"]}
    out = []
    for sam, s in truth["accounts"].items():
        acc = by_role.get(s["role"])
        known = acc is not None
        pws = acc["passwords_in_set_order"] if known else None
        has_pw = bool(pws) if known else s["nt_hash"] is not None
        out.append({
            "role": s["role"],
            "sam_account_name": sam,
            "dn": s["dn"],
            "object_guid": s["object_guid"],
            "object_sid": s["object_sid"],
            "password_known": known,
            "password": pws[-1] if pws else None,
            "passwords_newest_first": list(reversed(pws)) if known else None,
            "has_password": has_pw,
            # ground truth: MD4 computed here when the password is known; otherwise what Samba
            # stored in sam.ldb before the server started (krbtgt and the DC's machine account)
            "nt_hash": (nt_hash(pws[-1]) if pws else None) if known else s["nt_hash"],
            "nt_hash_source": ("md4(utf16le(password))" if pws else None) if known else "samba sam.ldb",
            "nt_history": ([nt_hash(p) for p in reversed(pws)][:hist_len] if known else s["nt_history"]),
            "disabled": bool(s["user_account_control"] & 0x2),
            "must_change": s["pwd_last_set"] == 0 and has_pw,
            "no_password": not has_pw,
            "user_account_control": s["user_account_control"],
            "note": acc["note"] if known else "password generated by Samba; truth is the stored hash",
        })
    # the plan's expectations hold for what Samba reports
    for a in out:
        p = by_role.get(a["role"])
        if p is not None and (p["disabled"] and not a["disabled"] or p["must_change"] != a["must_change"]):
            raise SystemExit("flags for %s are not what was planned" % a["sam_account_name"])
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    plan, truth, outdir = read_json(sys.argv[1]), read_json(sys.argv[2]), sys.argv[3]
    captures = []
    exop = capture_impacket_exop(plan, truth, outdir)
    captures.append(exop)
    print("   %-20s %3d replies  %5.2fs  key %d bytes" % (exop["id"], len(exop["replies"]), exop["seconds"],
                                                          exop["session_key_len"]))
    first = samba_parse_reply(open(os.path.join(outdir, exop["replies"][0]), "rb").read())
    for fn in (lambda: capture_impacket_nc(plan, truth, outdir, prefix_table(first)),
               lambda: capture_samba_krb5_nc(plan, truth, outdir)):
        c = fn()
        captures.append(c)
        print("   %-20s %3d replies  %5.2fs  key %d bytes  %d objects" % (
            c["id"], len(c["replies"]), c["seconds"], c["session_key_len"],
            sum(r["object_count"] for r in c["reply_info"])))
        if os.environ.get("PHSYNC_INTEROP_SKIP_KRB5") == "1":
            break

    smb_conf = os.environ.get("PHSYNC_INTEROP_SMBCONF")
    sequences = []
    if smb_conf:
        seq = capture_impacket_incremental(plan, truth, outdir, prefix_table(first), smb_conf)
        sequences.append(seq)
        print("   %-20s %3d replies  %5.2fs  key %d bytes  phases %s" % (
            seq["id"], len(seq["replies"]), seq["seconds"], seq["session_key_len"],
            ", ".join("%s: %d objects" % (p["name"], p["objects"]) for p in seq["phases"])))

    import samba
    write_json(os.path.join(outdir, "manifest.json"), {
        "format": "phsync-interop/1",
        "seed": plan["seed"],
        "generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "software": {"samba": samba.version, "impacket": impacket_version(),
                     "python": platform.python_version(), "os": platform.platform()},
        "domain": {"realm": plan["realm"], "netbios": plan["netbios_domain"],
                   "dc_hostname": plan["hostname"], "domain_dn": truth["domain_dn"],
                   "domain_sid": truth["domain_sid"], "domain_guid": truth["domain_guid"],
                   "password_policy": plan["password_policy"]},
        "captures": captures,
        # full -> delta -> delta on one connection; run after the captures above, so the
        # accounts below are the state before the first delta (see each phase's changes)
        "sequences": sequences,
        "accounts": manifest_accounts(plan, truth),
    })


if __name__ == "__main__":
    main()
