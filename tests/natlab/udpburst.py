#!/usr/bin/env python3
"""Datagrams for the lab tests.

udpburst.py echo PORT           echo every datagram to 127.0.0.1:PORT back
udpburst.py burst PORT COUNT    send COUNT numbered datagrams to
                                127.0.0.1:PORT, one every 2 ms, and wait for
                                their echoes; prints "sent N got M SAME|DIFF"
                                comparing the SHA-256 of both sets
Every datagram carries MARKER, which matrix.sh must never see on the
wire (natclient seals what it carries).
"""
import hashlib
import os
import socket
import sys
import time

mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if mode == "echo":
    s.bind(("127.0.0.1", port))
    while True:
        data, addr = s.recvfrom(65536)
        s.sendto(data, addr)
count = int(sys.argv[3])
MARKER = b"NATKIT-PLAINTEXT-MARKER!"
sent = [b"%06d" % i + MARKER + os.urandom(970) for i in range(count)]
got = {}


def drain():
    """Read what has come back, so that our own buffer never overflows."""
    s.setblocking(False)
    while True:
        try:
            d = s.recv(65536)
        except BlockingIOError:
            break
        got[d[:6]] = d
    s.settimeout(0.5)


for d in sent:
    s.sendto(d, ("127.0.0.1", port))
    time.sleep(0.002)
    drain()
deadline = time.time() + 5
while len(got) < count and time.time() < deadline:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    got[d[:6]] = d
h1 = hashlib.sha256(b"".join(sorted(sent))).hexdigest()
h2 = hashlib.sha256(b"".join(sorted(got.values()))).hexdigest()
print("sent %d got %d %s" % (count, len(got), "SAME" if h1 == h2 else "DIFF"))
sys.exit(0 if h1 == h2 else 1)
