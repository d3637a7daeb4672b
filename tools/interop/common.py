"""Helpers shared by the interop scripts. Plain Python: no Samba, no impacket.

The ground-truth NT hashes come from `md4()` below (RFC 1320, written from the
RFC), so they are independent of Samba (which computed what it stores and
replicates), of impacket (the NTLM client) and of phsync (the code under test).
"""

import json
import os
import struct
import sys

_M = 0xFFFFFFFF


def _rotl(x, s):
    return ((x << s) | (x >> (32 - s))) & _M


def md4(data: bytes) -> bytes:
    """MD4 (RFC 1320), pure Python. OpenSSL 3 has no md4 without the legacy provider."""
    msg = bytes(data) + b"\x80"
    msg += b"\x00" * ((56 - len(msg)) % 64)
    msg += struct.pack("<Q", (8 * len(data)) & 0xFFFFFFFFFFFFFFFF)
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for block in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[block:block + 64])
        a, b, c, d = h
        # round 1: F(x,y,z) = xy | ~x z
        for k in range(16):
            s = (3, 7, 11, 19)[k % 4]
            t = (a + ((b & c) | (~b & d)) + x[k]) & _M
            a, b, c, d = d, _rotl(t, s), b, c
        # round 2: G(x,y,z) = xy | xz | yz
        for k in range(16):
            s = (3, 5, 9, 13)[k % 4]
            i = (k % 4) * 4 + k // 4
            t = (a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5A827999) & _M
            a, b, c, d = d, _rotl(t, s), b, c
        # round 3: H(x,y,z) = x ^ y ^ z
        for k in range(16):
            s = (3, 9, 11, 15)[k % 4]
            i = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[k]
            t = (a + (b ^ c ^ d) + x[i] + 0x6ED9EBA1) & _M
            a, b, c, d = d, _rotl(t, s), b, c
        h = [(v + w) & _M for v, w in zip(h, (a, b, c, d))]
    return struct.pack("<4I", *h)


# RFC 1320 appendix A.5 test suite
for _msg, _hex in [
    (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
    (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
    (b"message digest", "d9130a8164549fe818874806e1c7014b"),
    (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    (b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "e33b4ddc9c38f2199c3e7b164fcc0536"),
]:
    assert md4(_msg).hex() == _hex, _msg


def utf16le(password: str) -> bytes:
    # Python str holds code points; UTF-16 encoding turns non-BMP ones into surrogate pairs,
    # exactly as Windows/Samba see the password.
    return password.encode("utf-16-le")


def nt_hash(password: str) -> str:
    """NT hash = MD4(UTF-16LE(password)), as lowercase hex. Cross-checked against
    pycryptodomex's MD4 when that is importable (it is, in the interop venv)."""
    digest = md4(utf16le(password))
    try:
        from Cryptodome.Hash import MD4
    except ImportError:
        MD4 = None
    if MD4 is not None:
        other = MD4.new(utf16le(password)).digest()
        if other != digest:
            raise AssertionError("pure-Python MD4 and pycryptodomex disagree for %r" % password)
    return digest.hex()


assert nt_hash("Pässwörd€1") == "0b765aea283c632ee215ceab79053add"
assert nt_hash("") == "31d6cfe0d16ae931b73c59d7e0c089c0"


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def exit_on_problems(title, problems):
    """Prints `title: N problem(s)` and each problem, then exits 1; returns if there are none."""
    if problems:
        print("%s: %d problem(s)" % (title, len(problems)))
        for p in problems:
            print("  " + p)
        sys.exit(1)
