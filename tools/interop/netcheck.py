#!/usr/bin/env python3
"""Loopback guards for run.sh, from /proc (no iproute2/procps needed).

  netcheck.py free PORT...      exit 1 if anything listens on one of these TCP ports
  netcheck.py wait PID          wait (60 s) until PID listens on 127.0.0.1:135 and :88
  netcheck.py loopback PID      exit 1 unless every socket PID listens on is bound to 127.0.0.1
"""

import os
import socket
import struct
import sys
import time

TABLES = ["tcp", "tcp6", "udp", "udp6"]
TCP_LISTEN = "0A"
UDP_UNCONN = "07"


def _addr(hexaddr):
    ip, port = hexaddr.split(":")
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(ip, 16))), int(port, 16)
    words = struct.unpack("<4I", raw)  # IPv6: four host-order 32-bit words
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words)), int(port, 16)


def listening():
    """[(table, address, port, inode)] of listening TCP / bound UDP sockets."""
    out = []
    for t in TABLES:
        try:
            lines = open("/proc/net/" + t).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == (TCP_LISTEN if t.startswith("tcp") else UDP_UNCONN):
                addr, port = _addr(f[1])
                out.append((t, addr, port, f[9]))
    return out


def inodes_of(pid):
    res = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            res.add(link[8:-1])
    return res


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free":
        busy = [(t, a, p) for t, a, p, _ in listening() if t.startswith("tcp") and str(p) in args]
        for t, a, p in busy:
            print("already listening: %s %s:%d (a previous --keep run?)" % (t, a, p), file=sys.stderr)
        sys.exit(1 if busy else 0)
    pid = int(args[0])
    if cmd == "wait":
        deadline = time.time() + 60
        while True:
            if not os.path.exists("/proc/%d" % pid):
                sys.exit("samba exited during start-up")
            mine = inodes_of(pid)
            ports = {p for t, a, p, i in listening() if i in mine and t == "tcp"}
            if {135, 88} <= ports:
                return
            if time.time() > deadline:
                sys.exit("samba did not listen on 127.0.0.1:135 and :88 within 60 s")
            time.sleep(0.1)
    if cmd == "loopback":
        mine = inodes_of(pid)
        socks = [(t, a, p) for t, a, p, i in listening() if i in mine]
        bad = [s for s in socks if s[1] != "127.0.0.1"]
        for t, a, p in bad:
            print("samba listens on a non-loopback address: %s %s:%d" % (t, a, p), file=sys.stderr)
        print("   listening, all on 127.0.0.1: %s" % " ".join(
            sorted({"%s/%d" % (t, p) for t, a, p in socks})))
        sys.exit(1 if bad or not socks else 0)
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
