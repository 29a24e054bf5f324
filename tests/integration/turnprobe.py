#!/usr/bin/env python3
"""A small TURN client for turn.sh: the cases turnutils_uclient does not
reach (errors, denied peers, quotas, junk).  Prints one word or code per
request; turn.sh compares.

usage: turnprobe.py HOST PORT CASE [ARGS...]
  noauth                      Allocate without credentials: "CODE LEN REQLEN"
  alloc USER PASS [sha256]    "ok" or the error code
  alloc6 USER PASS            an Allocate asking for an IPv6 relayed
                              address: "ok ipv6", "ok ipv4" or the code
  stale USER PASS             Allocate with the nonce of the first answer
                              after waiting past it: 438, then ok
  perm USER PASS PEER...      one CreatePermission per peer: codes or ok
  bind USER PASS PEER         ChannelBind: code or ok
  quota USER PASS N           N allocations from N ports: codes or ok
  rest SECRET OFFSET N        N allocations as REST API users "T:uI" whose
                              expiry T is now + OFFSET: codes or ok
  tcp USER PASS               an allocation over TCP, then the connection
                              closes: "ok" or the error code
  exchange USER PASS ME OTHER DIR N
                              allocate, write the relayed address to
                              DIR/ME, read OTHER's from DIR/OTHER, then
                              trade N numbered datagrams with it through
                              both relays (ME "a" by a channel, else by
                              Send indications): "got N" when all came
  others USER PASS USER2 PASS2 an allocation by USER, then from the same
                              5-tuple: Refresh by USER2, a second
                              Allocate; from another, one for TCP:
                              "441 437 442"
  flood USER PASS PEER PORT N SIZE
                              a channel to an echo at PEER:PORT, N
                              datagrams of SIZE bytes at once: "back K"
  junk                        malformed requests: "silent" when none answered
"""
import base64
import hashlib
import hmac
import os
import socket
import struct
import sys
import time
import zlib

COOKIE = 0x2112A442


def attr(t, v):
    pad = (4 - len(v) % 4) % 4
    return struct.pack("!HH", t, len(v)) + v + b"\0" * pad


def xaddr(ip, port, tid):
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        key = struct.pack("!I", COOKIE) + tid
        return struct.pack("!BBH", 0, 2, port ^ (COOKIE >> 16)) + bytes(
            a ^ b for a, b in zip(raw, key))
    raw = socket.inet_pton(socket.AF_INET, ip)
    return struct.pack("!BBH", 0, 1, port ^ (COOKIE >> 16)) + bytes(
        a ^ b for a, b in zip(raw, struct.pack("!I", COOKIE)))


def message(mtype, attrs, key=None, sha256=False, fingerprint=True, tid=None):
    tid = tid or os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        mlen = 32 if sha256 else 20
        head = struct.pack("!HHI", mtype, len(body) + 4 + mlen, COOKIE) + tid
        mac = hmac.new(key, head + body,
                       hashlib.sha256 if sha256 else hashlib.sha1).digest()
        body += attr(0x001C if sha256 else 0x0008, mac[:mlen])
    if fingerprint:
        head = struct.pack("!HHI", mtype, len(body) + 8, COOKIE) + tid
        crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", mtype, len(body), COOKIE) + tid + body


def parse(data):
    mtype, length = struct.unpack("!HH", data[:4])
    attrs, off = {}, 20
    while off + 4 <= 20 + length:
        t, n = struct.unpack("!HH", data[off:off + 4])
        attrs.setdefault(t, data[off + 4:off + 4 + n])
        off += 4 + n + (4 - n % 4) % 4
    code = None
    if 0x0009 in attrs:
        e = attrs[0x0009]
        code = e[2] * 100 + e[3]
    return mtype, attrs, code


class Client:
    def __init__(self, host, port, tcp=False):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.tcp = tcp
        self.s = socket.socket(fam, socket.SOCK_STREAM if tcp
                               else socket.SOCK_DGRAM)
        self.s.settimeout(2)
        self.s.connect((host, port))
        self.realm = self.nonce = self.key = None

    def recv(self):
        if not self.tcp:
            return self.s.recv(4096)
        head = b""
        while len(head) < 20:
            head += self.s.recv(20 - len(head))
        body, n = b"", struct.unpack("!H", head[2:4])[0]
        while len(body) < n:
            body += self.s.recv(n - len(body))
        return head + body

    def ask(self, mtype, attrs, **kw):
        req = message(mtype, attrs, **kw)
        self.s.send(req)
        data = self.recv()
        return req, data, parse(data)

    def login(self, user, password):
        """Learn realm and nonce from a 401; the key for the user."""
        _, _, (_, a, code) = self.ask(0x0003, [attr(0x0019, b"\x11\0\0\0")])
        assert code == 401, code
        self.realm, self.nonce = a[0x0014], a[0x0015]
        self.user = user.encode()
        self.key = hashlib.md5(self.user + b":" + self.realm + b":" +
                               password.encode()).digest()

    def auth(self):
        return [attr(0x0006, self.user), attr(0x0014, self.realm),
                attr(0x0015, self.nonce)]

    def request(self, mtype, attrs, sha256=False):
        _, _, (t, a, code) = self.ask(mtype, attrs + self.auth(),
                                      key=self.key, sha256=sha256)
        return "ok" if code is None else str(code)

    def allocate(self, sha256=False):
        return self.request(0x0003, [attr(0x0019, b"\x11\0\0\0")], sha256)


def relayed(attrs, tid):
    """The XOR-RELAYED-ADDRESS of an Allocate answer: (ip, port)."""
    v = attrs[0x0016]
    port = struct.unpack("!H", v[2:4])[0] ^ (COOKIE >> 16)
    ip = bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", COOKIE)))
    return socket.inet_ntop(socket.AF_INET, ip), port


def exchange(c, user, password, me, other, folder, n):
    n = int(n)
    c.login(user, password)
    tid = os.urandom(12)
    _, _, (_, a, code) = c.ask(0x0003, [attr(0x0019, b"\x11\0\0\0")] +
                               c.auth(), key=c.key, tid=tid)
    assert code is None, code
    ip, port = relayed(a, tid)
    with open(os.path.join(folder, me + ".tmp"), "w") as f:
        f.write("%s %d\n" % (ip, port))
    os.rename(os.path.join(folder, me + ".tmp"), os.path.join(folder, me))
    path, deadline = os.path.join(folder, other), time.time() + 60
    while not os.path.exists(path):
        assert time.time() < deadline, "no address from " + other
        time.sleep(0.05)
    pip, pport = open(path).read().split()
    pport = int(pport)
    channel = me == "a"
    t = os.urandom(12)
    if channel:
        code = c.ask(0x0009, [attr(0x000C, struct.pack("!HH", 0x4001, 0)),
                              attr(0x0012, xaddr(pip, pport, t))] + c.auth(),
                     key=c.key, tid=t)[2][2]
    else:
        code = c.ask(0x0008, [attr(0x0012, xaddr(pip, pport, t))] + c.auth(),
                     key=c.key, tid=t)[2][2]
    assert code is None, code
    got, sent, done_at = set(), 0, None
    c.s.settimeout(0.02)
    deadline = time.time() + 60
    while time.time() < deadline:
        payload = ("%s %d" % (me, sent % n)).encode()
        if channel:
            pad = (4 - len(payload) % 4) % 4
            c.s.send(struct.pack("!HH", 0x4001, len(payload)) + payload +
                     b"\0" * pad)
        else:
            t = os.urandom(12)
            c.s.send(message(0x0016, [attr(0x0012, xaddr(pip, pport, t)),
                                      attr(0x0013, payload)], tid=t))
        sent += 1
        try:
            while True:
                data = c.s.recv(4096)
                if data[0] & 0xC0 == 0x40:
                    body = data[4:4 + struct.unpack("!H", data[2:4])[0]]
                else:
                    body = parse(data)[1].get(0x0013, b"")
                word = body.decode(errors="replace").split()
                if len(word) == 2 and word[0] == other:
                    got.add(int(word[1]))
        except socket.timeout:
            pass
        # Go on a while once all came, so that the other side gets all.
        if len(got) == n and done_at is None:
            done_at = time.time()
        if done_at is not None and time.time() > done_at + 2:
            break
    print("got %d" % len(got))


def main():
    host, port, case, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4:]
    c = Client(host, port, tcp=case == "tcp")
    if case == "noauth":
        req, data, (_, _, code) = c.ask(0x0003, [attr(0x0019, b"\x11\0\0\0")])
        print(code, len(data), len(req))
    elif case == "tcp":
        c.login(args[0], args[1])
        print(c.allocate())
        c.s.close()
    elif case == "alloc":
        c.login(args[0], args[1])
        print(c.allocate(sha256=len(args) > 2))
    elif case == "alloc6":
        c.login(args[0], args[1])
        _, _, (_, a, code) = c.ask(
            0x0003, [attr(0x0019, b"\x11\0\0\0"),
                     attr(0x0017, b"\x02\0\0\0")] + c.auth(), key=c.key)
        print(str(code) if code is not None else
              "ok ipv6" if a[0x0016][1] == 2 else "ok ipv4")
    elif case == "stale":
        c.login(args[0], args[1])
        time.sleep(float(args[2]))
        first = c.allocate()
        _, _, (_, a, code) = c.ask(0x0003, [attr(0x0019, b"\x11\0\0\0")]
                                   + c.auth(), key=c.key)
        if code == 438:
            c.nonce = a[0x0015]
        print(first, c.allocate())
    elif case in ("perm", "bind"):
        c.login(args[0], args[1])
        assert c.allocate() == "ok"
        out = []
        for i, peer in enumerate(args[2:]):
            tid = os.urandom(12)
            ip = peer.strip("[]")
            a = attr(0x0012, xaddr(ip, 5000, tid))
            if case == "bind":
                extra = [attr(0x000C, struct.pack("!HH", 0x4000 + i, 0))]
            else:
                extra = []
            _, _, (_, _, code) = c.ask(
                0x0009 if case == "bind" else 0x0008,
                extra + [a] + c.auth(), key=c.key, tid=tid)
            out.append("ok" if code is None else str(code))
        print(" ".join(out))
    elif case == "quota":
        out = []
        for _ in range(int(args[2])):
            k = Client(host, port)
            k.login(args[0], args[1])
            out.append(k.allocate())
            c.keep = getattr(c, "keep", []) + [k]
        print(" ".join(out))
    elif case == "rest":
        out, keep = [], []
        expiry = int(time.time()) + int(args[1])
        for i in range(int(args[2])):
            user = "%d:u%d" % (expiry, i)
            password = base64.b64encode(hmac.new(
                args[0].encode(), user.encode(), hashlib.sha1).digest())
            k = Client(host, port)
            k.login(user, password.decode())
            out.append(k.allocate())
            keep.append(k)
        print(" ".join(out))
    elif case == "exchange":
        exchange(c, *args)
    elif case == "others":
        c.login(args[0], args[1])
        assert c.allocate() == "ok"
        first_user, first_key = c.user, c.key
        c.login(args[2], args[3])
        out = [c.request(0x0004, [])]
        c.user, c.key = first_user, first_key
        out.append(c.allocate())
        k = Client(host, port)
        k.login(args[0], args[1])
        out.append(k.request(0x0003, [attr(0x0019, b"\x06\0\0\0")]))
        print(" ".join(out))
    elif case == "flood":
        c.login(args[0], args[1])
        assert c.allocate() == "ok"
        tid = os.urandom(12)
        _, _, (_, _, code) = c.ask(
            0x0009, [attr(0x000C, struct.pack("!HH", 0x4000, 0)),
                     attr(0x0012, xaddr(args[2], int(args[3]), tid))] +
            c.auth(), key=c.key, tid=tid)
        assert code is None, code
        size = int(args[5])
        for _ in range(int(args[4])):
            c.s.send(struct.pack("!HH", 0x4000, size) + b"x" * size)
        back = 0
        c.s.settimeout(1)
        try:
            while True:
                c.s.recv(4096)
                back += 1
        except socket.timeout:
            pass
        print("back %d" % back)
    elif case == "junk":
        tid = os.urandom(12)
        good = message(0x0003, [attr(0x0019, b"\x11\0\0\0")], tid=tid)
        cases = [good[:-3],                       # truncated
                 good[:2] + b"\xff\xff" + good[4:],  # length past the end
                 good[:-1] + bytes([good[-1] ^ 1]),  # bad FINGERPRINT
                 b"\x40\x00\xff\xff" + b"x" * 8,  # ChannelData, no allocation
                 message(0x0016, [attr(0x0013, b"x")]),  # Send, none
                 ]
        c.s.settimeout(0.5)
        answered = 0
        for j in cases:
            c.s.send(j)
            try:
                c.s.recv(4096)
                answered += 1
            except socket.timeout:
                pass
        print("silent" if answered == 0 else "answered %d" % answered)


if __name__ == "__main__":
    main()
