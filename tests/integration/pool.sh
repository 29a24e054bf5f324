# Ready data connections (natclient expose --pool, relay.pool_max), over
# TLS: the relay grants no more than pool_max; visitors are handed to
# pooled connections (counted) and the pool is filled again; data
# connections resume their TLS session; a visitor to a service that is
# down is closed at once and the refusal reaches the relay's log; a
# pool held idle past its 60 s age is renewed and serves; a client that
# speaks on a pooled connection, or reuses an id, is refused; natclient
# opens no more than it asked for, whatever a relay asks.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "pool-test-token-0123456789" >"$T/token"
start_server "relay.token_file = $T/token" "relay.port_range = 62200-62219" \
    "relay.pool_max = 3"
ECHO=$(free_port) DOWN=$(free_port)
$PEER echo "$ECHO" &
STARTED+=("$!")
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 50 tcp_open "$ECHO" || fail "the echo service did not start"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token")
export XDG_CONFIG_HOME=$T/cfg
m() { metric "$1"; }
relay_m() { m "natkit_$1_total{kind=\"relay\"}"; }
pooled_is() { [ "$(m natkit_relay_pooled)" = "$1" ]; }

# Asked for 5, granted pool_max (3); visitors through pooled and new
# data connections alike, each echo intact; the pool filled again.
"${E[@]}" --pool 5 --name echo expose tcp "$ECHO" >"$T/echo.out" 2>"$T/echo.err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/echo.out" || fail "expose: $(cat "$T/echo.err")"
PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/echo.out")
wait_for 50 pooled_is 3 || fail "pooled: $(m natkit_relay_pooled), not the 3 granted"
out=$($PEER visits "$PUB" 40) || fail "visitors with a pool: $out of 40 intact"
hits=$(relay_m relay_pool_hits)
[ "$hits" -ge 3 ] || fail "only $hits visitors were handed to pooled connections"
wait_for 50 pooled_is 3 || fail "the pool was not filled again: $(m natkit_relay_pooled)"
resumed=$(relay_m tls_resumed)
[ "$resumed" -ge 10 ] || fail "only $resumed TLS handshakes resumed a session"
pass "pool 5 asked, 3 granted; 40 visitors intact, $hits through pooled connections; filled again; $resumed TLS resumptions"

# A visitor to a service that is down, on a pooled connection: closed at
# once, the client's reason in the relay's log, the pool filled again.
"${E[@]}" --pool 1 --name down expose tcp "$DOWN" >"$T/down.out" 2>"$T/down.err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/down.out" || fail "expose: $(cat "$T/down.err")"
DPUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/down.out")
wait_for 50 pooled_is 4 || fail "pooled: $(m natkit_relay_pooled), not 3 + 1"
before=$(relay_m relay_pool_hits)
python3 - "$DPUB" <<'PY' || fail "the visitor to a service that is down was not closed at once"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.5)
s.sendall(b"anyone?")
assert s.recv(10) == b""
PY
[ "$(relay_m relay_pool_hits)" -gt "$before" ] || fail "the visitor did not take the pooled connection"
wait_for 50 grep -q "refused by the client: local service 127.0.0.1:$DOWN" "$T/log" ||
    fail "the refusal did not reach the relay's log"
wait_for 50 pooled_is 4 || fail "the pool was not filled again: $(m natkit_relay_pooled)"
pass "a pooled visitor to a service that is down: closed at once, the reason logged by the relay, the pool filled again"

# --pool 0: no pooled connection; visitors as before.
"${E[@]}" --pool 0 --name nopool expose tcp "$ECHO" >"$T/nopool.out" 2>"$T/nopool.err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/nopool.out" || fail "expose: $(cat "$T/nopool.err")"
NPUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/nopool.out")
before=$(relay_m relay_pool_hits)
out=$($PEER visits "$NPUB" 10) || fail "visitors without a pool: $out of 10 intact"
[ "$(relay_m relay_pool_hits)" = "$before" ] && pooled_is 4 ||
    fail "--pool 0 pooled: $(m natkit_relay_pooled), hits $before -> $(relay_m relay_pool_hits)"
pass "--pool 0: 10 visitors intact with no pooled connection"

# The relay and a client of its protocol: pool 100 is granted 3; a
# pooled connection that speaks is closed and asked for again; an id
# used twice is unknown the second time.
PYTHONPATH=$SRCDIR/tests/integration python3 - "$RELAY_PORT" "$T/token" <<'PY' || fail "the relay's side of the pool"
import socket, sys
from relayctl import Relay
r = Relay(int(sys.argv[1]), sys.argv[2], "p" * 32)
c, conn, send, read = r.c, r.conn, r.send, r.read
send(c, {"type": "expose", "proto": "tcp", "remote_port": 0, "pool": 100})
e = read()
assert e["type"] == "exposed" and e["pool"] == 3, e
ids = [read() for i in range(3)]
assert all(m["type"] == "pool" for m in ids), ids
# Nothing more is asked while the three are out.
c.settimeout(1)
try:
    extra = read()
    assert False, "asked for more: %r" % extra
except (socket.timeout, TimeoutError):
    pass
c.settimeout(10)
d = conn()
send(d, {"type": "data", "id": ids[0]["id"]})
d.sendall(b"junk on an idle pooled connection")
assert d.recv(100) == b"", "a pooled connection that spoke was kept"
again = read()
assert again["type"] == "pool" and again["id"] not in [m["id"] for m in ids], again
x = conn()
send(x, {"type": "data", "id": ids[0]["id"]})
assert b'"unknown_id"' in x.recv(200), "an id was used twice"
PY
pass "relay: pool 100 granted 3, no more asked while out; a pooled connection that speaks is closed and asked again; an id works once"

# natclient never opens more than it asked for, however many a relay
# asks: a relay of our own (loopback, plaintext) asks for 6 of pool 2.
FAKE=$(free_port)
python3 - "$FAKE" "$T/token" >"$T/fake.out" 2>&1 <<'PY' &
import hashlib, hmac, json, os, socket, sys, time
port, token = int(sys.argv[1]), open(sys.argv[2], "rb").read().strip()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(16)
c, _ = ls.accept()
f = c.makefile("rb")
def send(m):
    c.sendall(json.dumps(m).encode() + b"\n")
json.loads(f.readline())
nonce = os.urandom(32)
send({"type": "challenge", "nonce": nonce.hex()})
assert json.loads(f.readline())["hmac"] == hmac.new(token, nonce, hashlib.sha256).hexdigest()
send({"type": "ok"})
ask = json.loads(f.readline())
send({"type": "exposed", "proto": "tcp", "remote_port": 40000, "name": "", "pool": 6})
for i in range(6):
    send({"type": "pool", "id": "%032x" % i, "remote_port": 40000})
ls.settimeout(3)
got = []
try:
    while True:
        d, _ = ls.accept()
        got.append((d, d.makefile("rb").readline()))  # held open
except (socket.timeout, TimeoutError):
    pass
print("asked", ask.get("pool"), "opened", len(got))
PY
FAKE_PID=$!
STARTED+=("$FAKE_PID")
"$NATCLIENT" -s "127.0.0.1:$FAKE" --token-file "$T/token" --no-tls --pool 2 \
    expose tcp "$ECHO" >"$T/fake-client.out" 2>"$T/fake-client.err" &
STARTED+=("$!")
wait_gone "$FAKE_PID" 200 || fail "the relay of our own did not finish"
grep -q "^asked 2 opened 2$" "$T/fake.out" || fail "pool 2 against a relay asking 6: $(cat "$T/fake.out")"
grep -q "was not made (2 of 2 open" "$T/fake-client.err" || fail "not said: $(cat "$T/fake-client.err")"
pass "natclient --pool 2 opens 2 pooled connections when a relay asks for 6, and says so"

# Held idle past the pooled connections' age (60 s): renewed (new data
# connections), then visitors are served through them.
accepted=$(relay_m tcp_accepted)
before=$(relay_m relay_pool_hits)
sleep 65
[ "$(relay_m tcp_accepted)" -ge $((accepted + 4)) ] ||
    fail "the idle pool was not renewed: $accepted -> $(relay_m tcp_accepted) connections"
wait_for 50 pooled_is 4 || fail "pooled after the idle spell: $(m natkit_relay_pooled)"
out=$($PEER visits "$PUB" 10) || fail "visitors after the idle spell: $out of 10 intact"
[ "$(relay_m relay_pool_hits)" -ge $((before + 3)) ] || fail "the renewed pool was not used"
pass "a pool idle for 65 s was renewed and served 10 visitors intact"

# relay.conn_burst counts the connections that no visitor waited for: a
# bucket of 3 lets an exposure connect back for 30 visitors, and bare
# connections from the same address are soon told rate_limited.
pkill -f -- "-s 127.0.0.1:$RELAY_PORT " || true
restart_server "relay.token_file = $T/token" "relay.port_range = 62200-62219" \
    "relay.conn_burst = 3" "relay.conn_per_minute = 1"
"${E[@]}" --pool 0 --name rate expose tcp "$ECHO" >"$T/rate.out" 2>"$T/rate.err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/rate.out" || fail "expose: $(cat "$T/rate.err")"
RPUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/rate.out")
for i in 1 2 3; do
	out=$($PEER visits "$RPUB" 10) || fail "visitors with a bucket of 3: $out of 10 intact"
done
python3 - "$RELAY_PORT" <<'PY' || fail "bare connections were not rate-limited"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
said = []
for i in range(4):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
    s.sendall(b'{"type":"junk"}\n')
    said.append(s.recv(300))
    s.close()
assert any(b'"rate_limited"' in x for x in said), said
PY
pass "a bucket of 3: 30 visitors served by data connections (not spent), bare connections then told rate_limited"
