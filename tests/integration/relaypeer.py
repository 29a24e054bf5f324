#!/usr/bin/env python3
"""Services and visitors for the relay tests (loopback only).

relaypeer.py echo PORT          echo service; each connection echoes and
                                passes on the end of input (half-close)
relaypeer.py sink PORT          reads a connection to its end, answers
                                the SHA-256 of what it read
relaypeer.py send PORT BYTES    sends BYTES random bytes, half-closes,
                                prints "SAME" when the sink's hash matches
relaypeer.py visits PORT N      N visitors at once through an echo; prints
                                how many got their own data back intact
"""
import hashlib
import os
import socket
import sys
import threading

mode, port = sys.argv[1], int(sys.argv[2])


def serve(handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()


def sink(c):
    h = hashlib.sha256()
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
    c.sendall(h.hexdigest().encode())
    c.close()


def visit(results, i):
    data = os.urandom(200000)
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    got = bytearray()

    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                break
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join()
    results[i] = bytes(got) == data


if mode == "echo":
    serve(echo)
elif mode == "sink":
    serve(sink)
elif mode == "send":
    total = int(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    h = hashlib.sha256()
    chunk = os.urandom(1 << 20)
    sent = 0
    while sent < total:
        # Fresh bytes in every chunk: a repeated block would hide a
        # reordering of whole chunks.
        chunk = hashlib.sha256(chunk[:64]).digest() + chunk[32:]
        n = min(len(chunk), total - sent)
        s.sendall(chunk[:n])
        h.update(chunk[:n])
        sent += n
    s.shutdown(socket.SHUT_WR)
    answer = s.recv(128).decode()
    print("SAME" if answer == h.hexdigest() else "DIFF %s" % answer)
    sys.exit(0 if answer == h.hexdigest() else 1)
elif mode == "visits":
    n = int(sys.argv[3])
    results = [False] * n
    threads = [threading.Thread(target=visit, args=(results, i)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(results))
    sys.exit(0 if all(results) else 1)
