# Every bound with a "when full" behaviour in natserver.conf(5), filled:
# the documented answer comes, and others are still served.  (Per-source
# caps and N4's own budget: limits.sh; a full group: tracker.sh.)
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
TRACKER_WORKERS=1 start_server "server.state_records = 64" \
    "tracker.max_connections = 3" "rendezvous.max_connections = 3" \
    "relay.max_connections = 8" "relay.max_ports_per_client = 2" \
    "relay.max_conns_per_port = 2" "relay.token_file = $T/token" \
    "relay.port_range = 61200-61219" "relay.handshake_timeout = 30"
ECHO_PORT=$(free_port)
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")

# A client of the relay's control protocol, as natclient speaks it.
cat >"$T/ctl.py" <<'PY'
import hashlib, hmac, json, socket, sys
def login(port, token_file, client_id):
    c = socket.create_connection(("127.0.0.1", port))
    c.settimeout(10)
    f = c.makefile("rb")
    c.sendall(json.dumps({"type": "hello", "version": 1, "client_id": client_id}).encode() + b"\n")
    nonce = bytes.fromhex(json.loads(f.readline())["nonce"])
    token = open(token_file, "rb").read().strip()
    c.sendall(json.dumps({"type": "auth", "hmac": hmac.new(token, nonce, hashlib.sha256).hexdigest()}).encode() + b"\n")
    assert json.loads(f.readline())["type"] == "ok"
    return c, f
def ask(c, f, msg):
    c.sendall(json.dumps(msg).encode() + b"\n")
    return json.loads(f.readline())
PY

# max_ports_per_client (2): a third exposure is refused with
# too_many_ports, the control connection and its two ports stay; another
# client still exposes.
python3 - "$RELAY_PORT" "$T/token" "$T/ctl.py" <<'PY' || fail "max_ports_per_client"
import sys
exec(open(sys.argv[3]).read())
c, f = login(int(sys.argv[1]), sys.argv[2], "a" * 32)
for i in range(2):
    assert ask(c, f, {"type": "expose", "proto": "tcp", "remote_port": 0, "name": "p%d" % i})["type"] == "exposed"
a = ask(c, f, {"type": "expose", "proto": "tcp", "remote_port": 0, "name": "p2"})
assert a.get("code") == "too_many_ports", a
assert len(ask(c, f, {"type": "list"})["ports"]) == 2
d, g = login(int(sys.argv[1]), sys.argv[2], "b" * 32)
assert ask(d, g, {"type": "expose", "proto": "tcp", "remote_port": 0, "name": "q"})["type"] == "exposed"
PY
pass "max_ports_per_client: a third port gets too_many_ports; the two stay; another client exposes"

# max_conns_per_port (2): with two visitors held, a third is closed at
# once and the client is told port_full; once one leaves, visitors come
# through again.
"$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token" \
    expose tcp "$ECHO_PORT" >"$T/out" 2>"$T/err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/out" || fail "expose: $(cat "$T/err")"
pub=$(sed -n 's/^127\.0\.0\.1://p' "$T/out")
python3 - "$pub" <<'PY' || fail "max_conns_per_port"
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(2):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(b"hello")
    assert s.recv(5) == b"hello"
    held.append(s)
t = socket.create_connection(("127.0.0.1", port))
t.settimeout(5)
assert t.recv(10) == b"", "a third visitor was kept"
held[0].close()
time.sleep(0.5)
u = socket.create_connection(("127.0.0.1", port))
u.settimeout(10)
u.sendall(b"again")
assert u.recv(5) == b"again"
PY
pass "max_conns_per_port: a third visitor is closed at once; after one leaves, visitors are served"

# tracker.max_connections (3): a fourth TCP connection is told the server
# is full; UDP is still answered.
python3 - "$TRACKER_PORT" <<'PY' || fail "tracker.max_connections"
import socket, sys
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for i in range(3)]
for h in held:
    h.sendall(b"//na")
c = socket.create_connection(("::1", port))
c.settimeout(5)
got = b""
while True:
    d = c.recv(100)
    if not d:
        break
    got += d
assert b"error: the server is full" in got, got
PY
nat_ok >/dev/null || fail "UDP not answered with TCP full"
pass "tracker.max_connections: a fourth connection gets 'error: the server is full'; UDP still answered"

# rendezvous.max_connections (3): a fourth named connection gets
# server_full; N4 (a budget of its own) is still accepted.
python3 - "$NAMED_PORT" "$N4_PORT" <<'PY' || fail "rendezvous.max_connections"
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for i in range(3)]
c = socket.create_connection(("::1", int(sys.argv[1])))
c.settimeout(5)
assert b'"code":"server_full"' in c.recv(4096)
n4 = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
n4.settimeout(1)
n4.sendall(b"\x01\x00fulltt")
try:
    assert n4.recv(8) != b"", "N4 closed"
except socket.timeout:
    pass  # accepted and waiting for its peer
PY
pass "rendezvous.max_connections: a fourth named connection gets server_full; N4 still accepted"

# relay.max_connections (8: first lines, streams and pooled data
# connections): with the exposure's two pooled connections and six first
# lines pending, a seventh connection is told server_full and closed.
pooled() { [ "$(metric natkit_relay_pooled)" = 2 ]; }
wait_for 50 pooled || fail "the exposure has $(metric natkit_relay_pooled) pooled connections, not 2: $(cat "$T/err")"
python3 - "$RELAY_PORT" <<'PY' || fail "relay.max_connections"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for i in range(6)]
for h in held:
    h.sendall(b'{"type":"hel')
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", port))
c.settimeout(5)
got = b""
while True:
    d = c.recv(100)
    if not d:
        break
    got += d
assert b'"code":"server_full"' in got, got
PY
pass "relay.max_connections: with 2 pooled and 6 first lines, a seventh connection gets server_full and is closed"

# A full state table (64 records; named sessions may fill 15 % of it):
# new names are refused with server_full, a live name is never pushed
# out, and the tracker is still served.
kill "$MASTER"
wait_gone "$MASTER" 100 || fail "natserver did not stop"
start_server "server.state_records = 64"
python3 - "$NAMED_PORT" <<'PY' || fail "full table"
import json, socket, sys
port = int(sys.argv[1])
held, refused = [], None
for i in range(40):
    c = socket.create_connection(("127.0.0.1", port))
    c.settimeout(5)
    f = c.makefile("rb")
    c.sendall(json.dumps({"type": "register", "name": "n%02d" % i}).encode() + b"\n")
    a = json.loads(f.readline())
    if a["type"] != "registered":
        refused = a
        break
    held.append((c, f, "n%02d" % i))
assert refused is not None and refused.get("code") == "server_full", refused
assert len(held) >= 1, "nothing registered"
# Every name registered before the table filled is still there.
c, f, _ = held[0]
for _, _, name in held:
    c.sendall(json.dumps({"type": "lookup", "name": name}).encode() + b"\n")
    a = json.loads(f.readline())
    assert a["type"] == "peer", (name, a)
print(len(held))
PY
nat_ok >/dev/null || fail "the tracker was not served with the named share full"
pass "a full state table: new names get server_full, every live name is kept, the tracker still answers"

# Visitors and meetings have table shares of their own: a flood of
# visitors that wait for data connections (the client never sends one)
# fills the visitors' share only, and the port a client is to get back
# (its own record kind) is still there for it.
kill "$MASTER"
wait_gone "$MASTER" 100 || fail "natserver did not stop"
start_server "server.state_records = 64" "relay.token_file = $T/token" \
    "relay.port_range = 61300-61399" "relay.max_conns_per_port = 500" \
    "relay.handshake_timeout = 30"
python3 - "$RELAY_PORT" "$T/token" "$T/ctl.py" <<'PY' || fail "a flood of visitors"
import socket, sys, time
sys.path.insert(0, sys.argv[3].rsplit("/", 1)[0])
exec(open(sys.argv[3]).read())
c, f = login(int(sys.argv[1]), sys.argv[2], "flood-client")
a = ask(c, f, {"type": "expose", "proto": "tcp", "name": "kept"})
assert a["type"] == "exposed", a
port = a["remote_port"]
held = [socket.create_connection(("127.0.0.1", port)) for i in range(60)]
time.sleep(1)  # every visitor announced: 60 records for a share of a few
c2, f2 = login(int(sys.argv[1]), sys.argv[2], "flood-client")
a = ask(c2, f2, {"type": "expose", "proto": "tcp", "name": "kept"})
assert a["type"] == "exposed" and a["remote_port"] == port, (port, a)
PY
pass "60 visitors waiting on a 64-record table fill their own share: the client's port record survives, and it gets its port back"
