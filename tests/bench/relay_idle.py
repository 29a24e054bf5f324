#!/usr/bin/env python3
"""Hold N idle connections to 127.0.0.1:PORT for S seconds, after one
round trip each (so each is a joined stream, not a waiting visitor).
relay_idle.py PORT N S"""
import socket
import sys
import time

port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"p")
    s.recv(1)
    conns.append(s)
print("open=%d" % len(conns), flush=True)
time.sleep(secs)
