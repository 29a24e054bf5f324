"""Helpers of vhost.sh: the web services behind the relay, and visitors.

  serve-http PORT NAME        HTTP/1.1 (keep-alive) answering
                              "NAME host=H xff=X fwd=F path=P body=B
                              n=K" (the K-th request on its connection),
                              and a WebSocket echo on /ws
  serve-tls PORT NAME CERT KEY  the same over TLS
  ws PORT HOST                WebSocket handshake and 2 echoes each way
  ws-hold PORT HOST SECS      a WebSocket echo, SECS idle, another echo
  keepalive PORT SPEC [pipe]  requests on one connection, SPEC a comma
                              list of HOST or post:HOST (a body that
                              holds another request); with pipe all
                              are sent at once.  Prints NAMEn:STATUS
                              for each answer
  raw PORT KIND               bad visitors: bighead, drip, junk,
                              tls-trunc, tls-bad, tls-longsni, tls-nosni,
                              tls-down, and later-bighead, later-drip,
                              later-junk, later-cut (a good request to
                              a.alice.test first, answered, then the bad
                              one on the same connection);
                              prints what came back
"""
import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def read_head(f):
    lines = []
    while True:
        line = f.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def ws_frame(payload, mask):
    head = bytes([0x81])
    n = len(payload)
    if n < 126:
        head += bytes([(0x80 if mask else 0) | n])
    else:
        head += bytes([(0x80 if mask else 0) | 126]) + struct.pack("!H", n)
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def ws_read(f):
    b = f.read(2)
    if len(b) < 2:
        return None
    n = b[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", f.read(2))[0]
    key = f.read(4) if b[1] & 0x80 else None
    data = f.read(n)
    if key:
        data = bytes(c ^ key[i % 4] for i, c in enumerate(data))
    return data


def serve_one(c, name):
    f = c.makefile("rb")
    served = 0
    try:
        while True:
            head = read_head(f)
            if head is None:
                return
            hdr = {}
            for h in head[1:]:
                k, _, v = h.partition(":")
                hdr[k.strip().lower()] = v.strip()
            path = head[0].split(" ")[1]
            if hdr.get("upgrade", "").lower() == "websocket":
                acc = base64.b64encode(hashlib.sha1(
                    hdr["sec-websocket-key"].encode() + GUID).digest())
                c.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
                while True:
                    m = ws_read(f)
                    if m is None:
                        return
                    c.sendall(ws_frame(name.encode() + b" " + m, False))
            n = int(hdr.get("content-length", "0"))
            body = f.read(n) if n else b""
            served += 1
            out = ("%s host=%s xff=%s fwd=%s path=%s body=%d n=%d\n" % (
                name, hdr.get("host"), hdr.get("x-forwarded-for"),
                hdr.get("forwarded"), path, len(body), served)).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(out) + out)
    except (OSError, ValueError, KeyError, IndexError):
        pass
    finally:
        c.close()


def serve(port, name, ctx=None):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    print("serving", flush=True)
    while True:
        c, _ = ls.accept()

        def one(c=c):
            if ctx is not None:
                try:
                    c.settimeout(10)
                    c = ctx.wrap_socket(c, server_side=True)
                    c.settimeout(None)
                except (OSError, ssl.SSLError):
                    c.close()
                    return
            serve_one(c, name)
        threading.Thread(target=one, daemon=True).start()


def ws_open(port, host, timeout):
    """A WebSocket's handshake: (socket, its reader), or None (said)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: " + host.encode() +
              b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    f = s.makefile("rb")
    head = read_head(f)
    want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    if not head or " 101 " not in head[0] or \
            ("Sec-WebSocket-Accept: " + want) not in head:
        print("no WebSocket handshake:", head)
        return None
    return s, f


def ws(port, host):
    opened = ws_open(port, host, 10)
    if opened is None:
        return 1
    s, f = opened
    # Two messages out before reading, then both echoes: both ways at once.
    s.sendall(ws_frame(b"one", True) + ws_frame(b"two" * 100, True))
    got = [ws_read(f), ws_read(f)]
    # the first 16 bytes of each echo (the second is 302 bytes long)
    print(b" | ".join(g[:16] for g in got if g).decode())
    return 0


def ws_hold(port, host, secs):
    opened = ws_open(port, host, secs + 20)
    if opened is None:
        return 1
    s, f = opened
    s.sendall(ws_frame(b"before", True))
    got = [ws_read(f)]
    print("open", flush=True)
    time.sleep(secs)
    s.sendall(ws_frame(b"after", True))
    got.append(ws_read(f))
    print(b" | ".join(g for g in got if g).decode(), flush=True)
    return 0


def request(i, item):
    """One request of a keepalive SPEC: GET, or a POST whose body is
    another request's bytes (which must stay body)."""
    if not item.startswith("post:"):
        return b"GET /r%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (i, item.encode())
    inner = b"GET /smuggled HTTP/1.1\r\nHost: shop.test\r\n\r\n" * 40
    return (b"POST /r%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" %
            (i, item[5:].encode(), len(inner)) + inner)


def answer(f):
    """NAMEn:STATUS of the next answer, or None at the end."""
    head = read_head(f)
    if not head:
        return None
    length = [int(h.split(":")[1]) for h in head
              if h.lower().startswith("content-length")][0]
    body = f.read(length).decode()
    status = head[0][9:12]
    if status != "200":
        return "-:" + status
    fields = dict(w.split("=", 1) for w in body.split()[1:])
    return body.split(" ")[0] + fields["n"] + ":" + status


def keepalive(port, spec, pipe):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")
    reqs = [request(i, item) for i, item in enumerate(spec.split(","))]
    out = []
    if pipe:
        s.sendall(b"".join(reqs))
    for r in reqs:
        if not pipe:
            s.sendall(r)
        got = answer(f)
        if got is None:
            break
        out.append(got)
    print(" ".join(out))
    return 0


def hello(sni):
    ext = b""
    if sni is not None:
        entry = b"\x00" + struct.pack("!H", len(sni)) + sni
        lst = struct.pack("!H", len(entry)) + entry
        ext += b"\x00\x00" + struct.pack("!H", len(lst)) + lst
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + b"\x00\x02\x13\x01" +
            b"\x01\x00" + struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def raw(port, kind):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    first = ""
    if kind.startswith("later-"):
        s.sendall(request(0, "a.alice.test"))
        first = answer(s.makefile("rb")) + " then "
        kind = kind[6:]
    start = time.monotonic()
    try:
        if kind == "bighead":
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.alice.test\r\nX-Big: " +
                      b"x" * (1 << 20) + b"\r\n\r\n")
        elif kind == "drip":  # a byte a second, past the head's deadline
            for b in b"GET / HTTP/1.1\r\nHost: a.alice.test\r\n":
                s.sendall(bytes([b]))
                if select.select([s], [], [], 1)[0]:
                    break  # the answer: read below
                if time.monotonic() - start > 8:
                    break
        elif kind == "junk":
            s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        elif kind == "cut":  # half a head, then the end of input
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.ali")
            s.shutdown(socket.SHUT_WR)
        elif kind == "badhost":
            s.sendall(b"GET / HTTP/1.1\r\nHost: <script>x</script>\r\n\r\n")
        elif kind == "tls-trunc":
            s.sendall(hello(b"secure.alice.test")[:40])
        elif kind == "tls-bad":
            h = bytearray(hello(b"secure.alice.test"))
            h[9 + 2 + 32] = 200  # a session id longer than the hello
            s.sendall(bytes(h))
        elif kind == "tls-longsni":
            s.sendall(hello(b"a" * 300))
        elif kind == "tls-nosni":
            s.sendall(hello(None))
        elif kind == "tls-down":  # a name whose service is down
            s.sendall(hello(b"downs.alice.test"))
    except OSError:
        pass
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    took = time.monotonic() - start
    if got.startswith(b"HTTP/1.1 "):
        print(first + got.split(b"\r\n")[0].decode(), "after %.0f s" % took,
              "reflected" if b"script" in got else "")
    elif got[:1] == b"\x15" and len(got) >= 7:
        print(first + "alert", got[6], "after %.0f s" % took)
    else:
        print(first + "closed", repr(got[:20]), "after %.0f s" % took)
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "serve-http":
        serve(int(sys.argv[2]), sys.argv[3])
    elif cmd == "serve-tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        serve(int(sys.argv[2]), sys.argv[3], ctx)
    elif cmd == "ws":
        sys.exit(ws(int(sys.argv[2]), sys.argv[3]))
    elif cmd == "ws-hold":
        sys.exit(ws_hold(int(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
    elif cmd == "keepalive":
        sys.exit(keepalive(int(sys.argv[2]), sys.argv[3],
                           len(sys.argv) > 4 and sys.argv[4] == "pipe"))
    elif cmd == "raw":
        sys.exit(raw(int(sys.argv[2]), sys.argv[3]))


if __name__ == "__main__":
    main()
