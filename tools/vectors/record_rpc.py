#!/usr/bin/env python3
"""Records the DCE/RPC PDUs of one TCP connection, for test vectors.

  record_rpc.py UPSTREAM_HOST UPSTREAM_PORT LISTEN_PORT OUT.txt

Accepts one connection on 127.0.0.1:LISTEN_PORT, forwards it to UPSTREAM, and writes every
PDU (split by the common header's frag_length, C706 12.6.1) as a line
`c2s|s2c <ptype> <hex>` to OUT.txt when the connection ends.
"""
import socket
import sys
import threading


def main():
    host, port, listen, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen))
    ls.listen(1)
    client, _ = ls.accept()
    server = socket.create_connection((host, port))
    streams = {"c2s": bytearray(), "s2c": bytearray()}
    order = []
    lock = threading.Lock()

    def pump(src, dst, name):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with lock:
                buf = streams[name]
                buf += data
                while len(buf) >= 10:
                    n = int.from_bytes(buf[8:10], "little")
                    if len(buf) < n or n < 16:
                        break
                    order.append((name, bytes(buf[:n])))
                    del buf[:n]
            dst.sendall(data)
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    t = [threading.Thread(target=pump, args=(client, server, "c2s")),
         threading.Thread(target=pump, args=(server, client, "s2c"))]
    for x in t:
        x.start()
    for x in t:
        x.join()
    with open(out, "w") as f:
        for name, pdu in order:
            f.write("%s %d %s\n" % (name, pdu[2], pdu.hex()))


if __name__ == "__main__":
    main()
