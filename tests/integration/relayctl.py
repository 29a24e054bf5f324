"""A client of the relay's control protocol over TLS, for tests that
speak it themselves (pool.sh, mux.sh): log in with a token, then send
and read JSON lines, and open more connections to the relay."""
import hashlib
import hmac
import json
import socket
import ssl


class Relay:
    def __init__(self, port, token_file, client_id):
        self.port = port
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.buf = bytearray()
        self.c = self.conn()
        token = open(token_file, "rb").read().strip()
        self.send(self.c, {"type": "hello", "version": 1, "client_id": client_id})
        nonce = bytes.fromhex(self.read()["nonce"])
        self.send(self.c, {"type": "auth",
                           "hmac": hmac.new(token, nonce, hashlib.sha256).hexdigest()})
        assert self.read()["type"] == "ok", "the relay refused the login"

    def conn(self):
        """A new TLS connection to the relay."""
        return self.ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", self.port), timeout=10))

    @staticmethod
    def send(s, m):
        s.sendall(json.dumps(m).encode() + b"\n")

    def read(self):
        """The next line on the control connection."""
        while b"\n" not in self.buf:
            d = self.c.recv(4096)
            assert d, "the relay closed the control connection"
            self.buf.extend(d)
        line, _, rest = bytes(self.buf).partition(b"\n")
        self.buf[:] = rest
        return json.loads(line)
