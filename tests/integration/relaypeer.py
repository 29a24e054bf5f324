#!/usr/bin/env python3
"""Services and visitors for the relay tests (loopback only).

relaypeer.py echo PORT [BUF]    echo service; each connection echoes and
                                passes on the end of input (half-close);
                                with BUF, its socket buffers are that
                                small (as a busy service's may be)
relaypeer.py sink PORT          reads a connection to its end, answers
                                the SHA-256 of what it read
relaypeer.py send PORT BYTES    sends BYTES random bytes, half-closes,
                                prints "SAME" when the sink's hash matches
relaypeer.py visits PORT N      N visitors at once through an echo; prints
                                how many got their own data back intact
relaypeer.py streams PORT N S   N visitors through an echo, each sending
                                and reading at once for S seconds; writes
                                "ready" to stderr once every stream has
                                had an echo, then prints how many came
                                back intact (to each its own bytes)
relaypeer.py hold PORT N         N visitors through an echo, all open at
                                once: each has 1 KiB echoed, writes
                                "ready" to stderr when all have, waits
                                for a line on stdin, then each sends
                                64 KiB more and half-closes; prints how
                                many came back intact
relaypeer.py duplex PORT BYTES  one visitor through an echo sending BYTES
                                as fast as it can while reading the echo
                                back; prints "SAME" when every byte came
                                back in order (fails when nothing moves
                                for 30 s: a stalled stream)
"""
import hashlib
import os
import socket
import sys
import threading
import time

mode, port = sys.argv[1], int(sys.argv[2])


def serve(handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "echo" and len(sys.argv) > 3:
        for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            s.setsockopt(socket.SOL_SOCKET, opt, int(sys.argv[3]))
    s.bind(("127.0.0.1", port))
    s.listen(4096)
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


def stream(results, i, seconds, first, end):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = hashlib.sha256()
    got = hashlib.sha256()
    counts = [0, 0]

    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                break
            if counts[1] == 0:
                first.release()
            counts[1] += len(d)
            got.update(d)

    t = threading.Thread(target=reader)
    t.start()
    block = os.urandom(4096)
    while time.time() < end:
        block = hashlib.sha256(block[:64]).digest() + block[32:]
        s.sendall(block)
        sent.update(block)
        counts[0] += len(block)
        time.sleep(0.02)
    s.shutdown(socket.SHUT_WR)
    t.join()
    results[i] = counts[0] == counts[1] and sent.digest() == got.digest()


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
elif mode == "streams":
    n, seconds = int(sys.argv[3]), float(sys.argv[4])
    results = [False] * n
    first = threading.Semaphore(0)
    end = time.time() + seconds
    threads = [threading.Thread(target=stream, args=(results, i, seconds, first, end))
               for i in range(n)]
    for t in threads:
        t.start()
    for i in range(n):
        if not first.acquire(timeout=30):
            print("no echo within 30 s")
            os._exit(1)
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    for t in threads:
        t.join()
    print(sum(results))
    sys.exit(0 if all(results) else 1)
elif mode == "hold":
    n = int(sys.argv[3])
    results = [False] * n
    ready = threading.Semaphore(0)
    go = threading.Event()

    def recv_exactly(s, k):
        b = bytearray()
        while len(b) < k:
            d = s.recv(k - len(b))
            if not d:
                break
            b += d
        return bytes(b)

    def hold(i):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            a = os.urandom(1024)
            s.sendall(a)
            ok = recv_exactly(s, len(a)) == a
            ready.release()
            go.wait()
            b = os.urandom(65536)
            s.sendall(b)
            s.shutdown(socket.SHUT_WR)
            ok = ok and recv_exactly(s, len(b)) == b and s.recv(1) == b""
            results[i] = ok
        except OSError as e:
            sys.stderr.write("visitor %d: %s\n" % (i, e))
            ready.release()

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for i in range(n):
        if not ready.acquire(timeout=120):
            print("not all open within 120 s")
            os._exit(1)
    sys.stderr.write("ready\n")
    sys.stderr.flush()
    sys.stdin.readline()
    go.set()
    for t in threads:
        t.join()
    print(sum(results))
    sys.exit(0 if all(results) else 1)
elif mode == "duplex":
    total = int(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent, got = hashlib.sha256(), hashlib.sha256()
    counts = [0]

    def reader():
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                counts[0] += len(d)
                got.update(d)
        except socket.timeout:
            pass

    t = threading.Thread(target=reader)
    t.start()
    chunk = os.urandom(1 << 20)
    n = 0
    try:
        while n < total:
            chunk = hashlib.sha256(chunk[:64]).digest() + chunk[32:]
            k = min(len(chunk), total - n)
            s.sendall(chunk[:k])
            sent.update(chunk[:k])
            n += k
        s.shutdown(socket.SHUT_WR)
    except socket.timeout:
        pass
    t.join()
    ok = n == total and counts[0] == total and sent.digest() == got.digest()
    print("SAME" if ok else "sent %d of %d, %d came back" % (n, total, counts[0]))
    sys.exit(0 if ok else 1)
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
