#!/usr/bin/env python3
"""TCP services and clients for the --forward-tcp/--local-tcp tests.

  tcpmux.py serve PORT        a service: 'E' echoes until the client's
                              EOF, then closes; 'S' + 8-byte count sends
                              that many pattern bytes, then closes
  tcpmux.py echo PORT N SIZE  N connections at once, each sending SIZE
                              random bytes while reading the echo back,
                              then half-closing; every byte must come
                              back, then the end
  tcpmux.py stall PORT SIZE   a connection whose reader stalls while
                              the service sends it SIZE bytes, and an
                              echo beside it that must not wait for it
  tcpmux.py hold PORT N SECS  N idle connections held SECS, each then
                              used once (an echo); prints how many of
                              them a bound closed at once
"""
import hashlib
import os
import socket
import sys
import threading
import time

TIMEOUT = 120


def pattern(n):
    block = bytes(range(256)) * 256
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


def serve(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(256)
    print("serving", flush=True)

    def one(c):
        try:
            kind = c.recv(1)
            if kind == b"S":
                want = b""
                while len(want) < 8:
                    want += c.recv(8 - len(want))
                c.sendall(pattern(int.from_bytes(want, "big")))
            elif kind == b"E":
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    c.sendall(b)
        except OSError:
            pass
        c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return s


def echo_one(port, size, results, i):
    try:
        data = b"E" + os.urandom(size)
        s = connect(port)
        got = bytearray()

        def reader():
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got.extend(b)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # half-close: the echo must still end
        t.join(TIMEOUT)
        s.close()
        ok = bytes(got) == data[1:]
        results[i] = "ok" if ok else "differs: %d of %d bytes, sha %s" % (
            len(got), size, hashlib.sha256(got).hexdigest()[:12])
    except OSError as e:
        results[i] = "error: %s" % e


def echo(port, n, size):
    results = [None] * n
    ts = [threading.Thread(target=echo_one, args=(port, size, results, i))
          for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(TIMEOUT)
    bad = [(i, r) for i, r in enumerate(results) if r != "ok"]
    if bad:
        print("bad:", bad)
        return 1
    print("%d connections x %d bytes each way, byte-exact" % (n, size))
    return 0


def stall(port, size):
    s = connect(port)
    s.sendall(b"S" + size.to_bytes(8, "big"))
    time.sleep(1)  # the service fills the stalled stream's window
    results = [None]
    start = time.monotonic()
    echo_one(port, 1 << 20, results, 0)
    beside = time.monotonic() - start
    if results[0] != "ok":
        print("the echo beside a stalled stream:", results[0])
        return 1
    got = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            break
        got.extend(b)
    if bytes(got) != pattern(size):
        print("the stalled stream: %d of %d bytes, differs" % (len(got), size))
        return 1
    print("an echo of 1 MiB beside a stalled stream (%.1f s), then the "
          "stalled stream's %d bytes, byte-exact" % (beside, size))
    return 0


def hold(port, n, secs):
    # A connection past the bound may be reset before connect() has
    # even returned here: that is a connection closed at once too.
    socks = []
    closed = 0
    for _ in range(n):
        try:
            socks.append(connect(port))
        except ConnectionResetError:
            closed += 1
    time.sleep(secs)
    for s in socks:
        try:
            s.sendall(b"E" + b"x" * 100)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += b
            if got != b"x" * 100:
                closed += 1
        except OSError:
            closed += 1
        s.close()
    print("closed %d" % closed)
    return 0


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "serve":
        serve(port)
    elif cmd == "echo":
        sys.exit(echo(port, int(sys.argv[3]), int(sys.argv[4])))
    elif cmd == "stall":
        sys.exit(stall(port, int(sys.argv[3])))
    elif cmd == "hold":
        sys.exit(hold(port, int(sys.argv[3]), float(sys.argv[4])))


if __name__ == "__main__":
    main()
