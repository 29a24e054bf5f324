#!/usr/bin/env python3
"""first_byte.py PORT N: N new connections to 127.0.0.1:PORT, one at a
time, each sending an HTTP/1.0 request; prints the time from connect()
to the answer's first byte, median and 99th percentile in microseconds:
"p50_us=… p99_us=…" (loopback only)."""
import socket
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
times = []
for i in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    if not s.recv(1):
        sys.exit("connection %d closed without an answer" % i)
    times.append(time.perf_counter() - t0)
    while s.recv(65536):
        pass
    s.close()
times.sort()
print("p50_us=%d p99_us=%d" % (times[n // 2] * 1e6, times[min(n - 1, n * 99 // 100)] * 1e6))
