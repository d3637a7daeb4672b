#!/usr/bin/env python3
"""Sanity-check the captures without phsync, so that a failure on the Rust side is phsync's.

usage: selfcheck.py OUTDIR

Parses every reply with Samba's NDR code, decrypts unicodePwd and ntPwdHistory of every
manifest account in every capture (MD5(session key || salt) -> RC4 -> CRC32, then the DES
layer keyed by the RID, written here from MS-DRSR 4.1.10.6.12 / MS-SAMR 2.2.11.1.3 with
pycryptodomex primitives) and compares with the manifest's ground truth (pure-Python MD4 of
the known password). Exit 1 on any mismatch.
"""

import hashlib
import os
import struct
import sys
import zlib

from Cryptodome.Cipher import ARC4, DES

from common import read_json

OID_SAM = "1.2.840.113556.1.4.221"
OID_UNICODEPWD = "1.2.840.113556.1.4.90"
OID_NTPWDHISTORY = "1.2.840.113556.1.4.94"


def rc4_layer(key, blob):
    salt, enc = blob[:16], blob[16:]
    plain = ARC4.new(hashlib.md5(key + salt).digest()).decrypt(enc)
    crc, data = struct.unpack("<I", plain[:4])[0], plain[4:]
    if crc != zlib.crc32(data):
        raise ValueError("CRC32 mismatch: wrong session key?")
    return data


def _des_key(k7):
    k = [k7[0] >> 1,
         ((k7[0] & 0x01) << 6) | (k7[1] >> 2),
         ((k7[1] & 0x03) << 5) | (k7[2] >> 3),
         ((k7[2] & 0x07) << 4) | (k7[3] >> 4),
         ((k7[3] & 0x0F) << 3) | (k7[4] >> 5),
         ((k7[4] & 0x1F) << 2) | (k7[5] >> 6),
         ((k7[5] & 0x3F) << 1) | (k7[6] >> 7),
         k7[6] & 0x7F]
    return bytes((b << 1) & 0xFE for b in k)  # parity bits are ignored by DES


def des_layer(rid, data):
    r = struct.pack("<I", rid)
    k1 = _des_key(bytes([r[0], r[1], r[2], r[3], r[0], r[1], r[2]]))
    k2 = _des_key(bytes([r[3], r[0], r[1], r[2], r[3], r[0], r[1]]))
    out = b""
    for i in range(0, len(data), 16):
        out += DES.new(k1, DES.MODE_ECB).decrypt(data[i:i + 8]) + DES.new(k2, DES.MODE_ECB).decrypt(data[i + 8:i + 16])
    return out


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


def attid(ctr, oid):
    ber, last = ber_oid(oid), int(oid.rsplit(".", 1)[1])
    prefix = ber[:-1] if last < 128 else ber[:-2]
    for m in ctr.mapping_ctr.mappings:
        if bytes(m.oid.binary_oid) == prefix:
            return (m.id_prefix << 16) | last
    raise KeyError(oid)


def main():
    from samba import ndr
    from samba.dcerpc import drsuapi

    outdir = sys.argv[1]
    m = read_json(os.path.join(outdir, "manifest.json"))
    want = {a["sam_account_name"].lower(): a for a in m["accounts"]}
    errors, checks = [], 0
    for cap in m["captures"]:
        key = bytes.fromhex(cap["session_key_hex"])
        seen = {}
        for f in cap["replies"]:
            fn = drsuapi.DsGetNCChanges()
            ndr.ndr_unpack_out(fn, open(os.path.join(outdir, f), "rb").read())
            ctr = fn.out_ctr
            ids = {n: attid(ctr, o) for n, o in
                   (("sam", OID_SAM), ("nt", OID_UNICODEPWD), ("hist", OID_NTPWDHISTORY))}
            obj = ctr.first_object
            while obj is not None:
                attrs = {a.attid: [bytes(v.blob) for v in (a.value_ctr.values or []) if v.blob is not None]
                         for a in (obj.object.attribute_ctr.attributes or [])}
                sam = attrs.get(ids["sam"])
                if sam:
                    seen.setdefault(sam[0].decode("utf-16-le").lower(), []).append(attrs)
                obj = obj.next_object
        for name, acc in want.items():
            got = seen.get(name, [])
            where = "%s: %s" % (cap["id"], acc["sam_account_name"])
            if len(got) != 1:
                errors.append("%s: present %d times" % (where, len(got)))
                continue
            attrs = got[0]
            rid = int(acc["object_sid"].rsplit("-", 1)[1])
            try:
                nt = [des_layer(rid, rc4_layer(key, v)).hex() for v in attrs.get(ids["nt"], [])]
                hist_raw = [des_layer(rid, rc4_layer(key, v)) for v in attrs.get(ids["hist"], [])]
            except ValueError as e:
                errors.append("%s: %s" % (where, e))
                continue
            hist = [h[i:i + 16].hex() for h in hist_raw for i in range(0, len(h), 16)]
            checks += 1
            if nt != ([acc["nt_hash"]] if acc["nt_hash"] else []):
                errors.append("%s: NT hash %s, want %s" % (where, nt, acc["nt_hash"]))
            if hist != acc["nt_history"]:
                errors.append("%s: NT history differs (%d vs %d entries)" % (where, len(hist),
                                                                            len(acc["nt_history"])))
    for e in errors:
        print("   selfcheck: " + e, file=sys.stderr)
    print("   selfcheck: %d account/capture pairs decrypted independently of phsync, %d errors"
          % (checks, len(errors)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
