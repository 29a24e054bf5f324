#!/usr/bin/env python3
"""Load for the chaos benchmark (tests/bench/run-chaos.sh), loopback only.

chaos.py SECONDS TRACKER NAMED EXPOSED PIDFILE

For SECONDS, at once:
  - STUN Binding requests to 127.0.0.1:TRACKER at a steady rate, each
    with its own transaction id, sent again once after 1 s without an
    answer; counted answered at the first try, after the retry, or not;
  - 30 group members registering every second (text protocol, UDP);
    at the end the group must list all 30;
  - 20 named sessions on NAMED, registered and kept alive; one whose
    connection is cut (its worker was killed) registers its name again
    at once, as natclient does, from the same source: a name that cannot
    be taken back is a lost registration;
  - 20 streams through the exposed echo service on EXPOSED, each sending
    4 KiB every 50 ms and checking every echoed byte; a stream that
    breaks is counted lost and started again.
While it runs, run-chaos.sh kills one worker of each kind every second.
Prints one line of key=value figures.
"""
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

secs = float(sys.argv[1])
TRACKER, NAMED, EXPOSED = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
end = time.time() + secs
stats = {}
lock = threading.Lock()


def add(key, n=1):
    with lock:
        stats[key] = stats.get(key, 0) + n


def stun():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", TRACKER))
    s.setblocking(False)
    pending = {}  # tid -> [first sent, retried]
    rate = 1000.0
    nxt = time.time()
    while time.time() < end or pending:
        now = time.time()
        while now < end and nxt <= now:
            tid = os.urandom(12)
            s.send(struct.pack(">HHI", 1, 0, 0x2112A442) + tid)
            pending[tid] = [now, False]
            add("stun_sent")
            nxt += 1 / rate
        r, _, _ = select.select([s], [], [], 0.002)
        while r:
            try:
                d = s.recv(1500)
            except BlockingIOError:
                break
            p = pending.pop(d[8:20], None)
            if p is not None:
                add("stun_answered_retry" if p[1] else "stun_answered_first")
        now = time.time()
        for tid, p in list(pending.items()):
            if not p[1] and now - p[0] > 1.0:
                s.send(struct.pack(">HHI", 1, 0, 0x2112A442) + tid)
                p[1] = True
            elif p[1] and now - p[0] > 2.0:
                del pending[tid]
                add("stun_unanswered")
        if time.time() > end + 3:
            break


def groups():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    members = ["10.9.0.%d:4000" % (i + 1) for i in range(30)]
    while time.time() < end:
        for m in members:
            s.sendto(("//chaos/P2P&E2E/chaos-bench-group/%s/0" % m).encode(), ("127.0.0.1", TRACKER))
            add("group_sent")
        deadline = time.time() + 1
        while time.time() < deadline:
            try:
                s.recv(4096)
                add("group_answered")
            except socket.timeout:
                break
        time.sleep(max(0, deadline - time.time()))
    # Every member is still listed: ask over TCP (a UDP answer is only
    # as long as the rule allows), as one more member.
    listed = set()
    for attempt in range(5):
        try:
            t = socket.create_connection(("127.0.0.1", TRACKER), timeout=2)
            t.sendall(b"//chaos/P2P&E2E/chaos-bench-group/10.9.1.1:4000/0\n")
            answer = b""
            while not answer.endswith(b"\n\n"):
                d = t.recv(65536)
                if not d:
                    break
                answer += d
            t.close()
            listed = set(m for m in members if m in answer.decode())
            break
        except OSError:
            time.sleep(0.5)
    add("group_members_lost", len(members) - len(listed))


def named(i):
    name = "chaos%02d" % i
    conn = None
    while time.time() < end:
        try:
            if conn is None:
                conn = socket.create_connection(("127.0.0.1", NAMED), timeout=3)
                f = conn.makefile("rb")
                conn.sendall(json.dumps({"type": "register", "name": name}).encode() + b"\n")
                answer = json.loads(f.readline())
                if answer.get("type") != "registered":
                    add("named_lost")
                    add("named_refused_" + str(answer.get("code")))
                    conn.close()
                    conn = None
                    time.sleep(1)
                    continue
                add("named_registered")
            conn.sendall(b'{"type":"keepalive"}\n')
            answer = json.loads(f.readline())
            if answer.get("type") != "keepalive":
                add("named_lost")
                add("named_keepalive_" + str(answer.get("code")))
                conn.close()
                conn = None
            time.sleep(1)
        except (OSError, ValueError):
            add("named_cut")
            if conn is not None:
                conn.close()
            conn = None


def stream(i):
    while time.time() < end:
        carried = False
        try:
            s = socket.create_connection(("127.0.0.1", EXPOSED), timeout=5)
            while time.time() < end:
                block = os.urandom(4096)
                s.sendall(block)
                got = b""
                while len(got) < len(block):
                    d = s.recv(len(block) - len(got))
                    if not d:
                        raise OSError("closed")
                    got += d
                if got != block:
                    add("streams_corrupt")
                    raise OSError("corrupt")
                if not carried:
                    add("streams_started")
                    carried = True
                add("stream_blocks")
                time.sleep(0.05)
            s.close()
            add("streams_finished")
        except OSError:
            add("streams_broken" if carried else "visits_not_through")
            time.sleep(0.2)


threads = [threading.Thread(target=stun), threading.Thread(target=groups)]
threads += [threading.Thread(target=named, args=(i,)) for i in range(20)]
threads += [threading.Thread(target=stream, args=(i,)) for i in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join()
sent = stats.get("stun_sent", 0)
ans = stats.get("stun_answered_first", 0) + stats.get("stun_answered_retry", 0)
stats["stun_answered_pct"] = "%.3f" % (100.0 * ans / sent if sent else 0)
print(" ".join("%s=%s" % kv for kv in sorted(stats.items())))
