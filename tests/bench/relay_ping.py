#!/usr/bin/env python3
"""64-byte ping-pong latency: relay_ping.py PORT N -> "p50_us=… p99_us=…".

Sends 64 bytes, waits for the 64 echoed, N times, over one connection
to 127.0.0.1:PORT (an echo service, directly or through a relay)."""
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
msg = b"x" * 64
times = []
for i in range(n + 100):
    t = time.perf_counter()
    s.sendall(msg)
    got = 0
    while got < 64:
        got += len(s.recv(64 - got))
    if i >= 100:  # warm-up
        times.append((time.perf_counter() - t) * 1e6)
times.sort()
print("p50_us=%.0f p99_us=%.0f" % (times[len(times) // 2], times[len(times) * 99 // 100]))
