#!/usr/bin/env python3
"""A man in the middle for tamper.sh: tamper.py PORT HOST:PORT AT

Listens on 203.0.113.1:PORT, joins each connection to HOST:PORT, and
flips one bit of the byte at offset AT of what the client sends (the
relay login and meeting are shorter; AT falls in the sealed stream).
"""
import socket
import sys
import threading

port, target, at = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
host, tport = target.rsplit(":", 1)


def pump(src, dst, flip):
    seen = 0
    while True:
        data = src.recv(65536)
        if not data:
            break
        if flip and seen <= at < seen + len(data):
            b = bytearray(data)
            b[at - seen] ^= 0x10
            data = bytes(b)
        seen += len(data)
        dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("203.0.113.1", port))
ls.listen(8)
while True:
    c, _ = ls.accept()
    s = socket.create_connection((host, int(tport)))
    threading.Thread(target=pump, args=(c, s, True), daemon=True).start()
    threading.Thread(target=pump, args=(s, c, False), daemon=True).start()
