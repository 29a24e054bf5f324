#!/usr/bin/env python3
"""Hold N idle TURN allocations: one UDP socket each (a 5-tuple each),
one login, then an Allocate from every socket with the same nonce (a
server that keeps nonces per 5-tuple answers 438 with one: the Allocate
is sent again with it).
Prints "ready N" on stderr, then waits for stdin to close.

usage: turn_hold.py HOST PORT USER PASS N
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
import turnprobe  # noqa: E402

host, port, user, password, n = sys.argv[1], int(sys.argv[2]), \
    sys.argv[3], sys.argv[4], int(sys.argv[5])
first = turnprobe.Client(host, port)
first.login(user, password)
held, failed = [], {}
for i in range(n):
    c = turnprobe.Client(host, port)
    c.realm, c.nonce, c.user, c.key = first.realm, first.nonce, first.user, \
        first.key
    try:
        req = [turnprobe.attr(0x0019, b"\x11\0\0\0")]
        _, _, (_, a, code) = c.ask(0x0003, req + c.auth(), key=c.key)
        if code == 438:
            c.nonce = a[0x0015]
            _, _, (_, a, code) = c.ask(0x0003, req + c.auth(), key=c.key)
        code = "ok" if code is None else str(code)
    except OSError as e:  # no answer within the client's 2 s
        code = type(e).__name__
    if code != "ok":
        failed[code] = failed.get(code, 0) + 1
    held.append(c)
print("ready %d failed %d %s" % (n - sum(failed.values()),
                                 sum(failed.values()), failed),
      file=sys.stderr, flush=True)
sys.stdin.read()
