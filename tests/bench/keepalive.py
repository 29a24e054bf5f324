#!/usr/bin/env python3
"""Named-session keepalive cost (loopback only).

keepalive.py PORT NAMES N: register NAMES names on the named port
(one connection each), then time N keepalives on the last one (sent in
batches of 100, each answered); prints microseconds per keepalive.
The server needs rendezvous.register_burst, register_per_minute and
max_connections_per_ip above NAMES (all come from 127.0.0.1).
"""
import json, socket, sys, time
port, names, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
held = []
for i in range(names):
    c = socket.create_connection(("127.0.0.1", port)); f = c.makefile("rb")
    c.sendall(json.dumps({"type": "register", "name": "name%03d" % i}).encode() + b"\n")
    a = json.loads(f.readline()); assert a["type"] == "registered", a
    held.append(c)
c = held[-1]; f = c.makefile("rb")
t = time.perf_counter()
batch = b'{"type":"keepalive"}\n' * 100
for i in range(n // 100):
    c.sendall(batch)
    for j in range(100):
        f.readline()
print("%.1f" % ((time.perf_counter() - t) / n * 1e6))
