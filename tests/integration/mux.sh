# Visitors over one data connection (natclient expose --mux, over TLS):
# the relay asks for the carrier and every visitor is a stream on it,
# counted, with no pool and no dial-back; many at once, each byte-exact
# with a half-close, the agent forking none; 64 MiB both ways at once;
# a service that is down closes its visitor at once, the reason in the
# relay's log; a stream idle past relay.idle_timeout is closed while
# the carrier and a busy stream go on; a client of the relay's protocol
# that sends a frame that cannot be, or opens a stream itself, loses
# the carrier and is asked for a new one.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "mux-test-token-0123456789" >"$T/token"
start_server "relay.token_file = $T/token" "relay.port_range = 62240-62259" \
    "relay.idle_timeout = 4" "relay.max_conns_per_port = 1000"
ECHO=$(free_port) DOWN=$(free_port)
$PEER echo "$ECHO" &
STARTED+=("$!")
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 50 tcp_open "$ECHO" || fail "the echo service did not start"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token")
export XDG_CONFIG_HOME=$T/cfg
relay_m() { metric "natkit_$1_total{kind=\"relay\"}"; }
carriers_are() { [ "$(metric natkit_relay_mux_connections)" = "$1" ]; }

"${E[@]}" --pool 0 --mux --name echo expose tcp "$ECHO" >"$T/echo.out" 2>"$T/echo.err" &
AGENT=$!
STARTED+=("$AGENT")
wait_for 100 grep -q "^127.0.0.1:" "$T/echo.out" || fail "expose: $(cat "$T/echo.err")"
PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/echo.out")
wait_for 100 carriers_are 1 || fail "no mux connection: $(metric natkit_relay_mux_connections)"
resumed=$(relay_m tls_resumed)
out=$($PEER visits "$PUB" 40) || fail "visitors over the mux: $out of 40 intact"
streams=$(relay_m relay_mux_streams)
[ "$streams" = 40 ] || fail "$streams of 40 visitors were streams on the mux connection"
[ "$(relay_m relay_pool_hits)" = 0 ] && [ "$(relay_m tls_resumed)" = "$resumed" ] ||
    fail "visitors made data connections: pool hits $(relay_m relay_pool_hits), TLS resumptions $resumed -> $(relay_m tls_resumed)"
pass "--mux: 40 visitors intact, each a stream on the one mux connection, no data connection or TLS handshake for any"

# Many at once: the agent forks none; each echoes 1 KiB, then 64 KiB
# with a half-close, byte-exact.
N=300
mkfifo "$T/go"
$PEER hold "$PUB" "$N" <"$T/go" >"$T/many.out" 2>"$T/many.err" &
MANY=$!
exec 7>"$T/go"
wait_for 1200 grep -q ready "$T/many.err" || fail "$N visitors were not all open: $(tail -3 "$T/many.err")"
[ "$(pgrep -P "$AGENT" | wc -l)" = 0 ] || fail "the agent forked for visitors"
[ "$(metric natkit_relay_streams)" -ge "$N" ] || fail "streams now: $(metric natkit_relay_streams)"
echo go >&7
exec 7>&-
wait "$MANY" || fail "$N visitors: $(tail -3 "$T/many.err")"
[ "$(cat "$T/many.out")" = "$N" ] || fail "$N visitors intact: $(cat "$T/many.out")"
pass "$N visitors at once over one mux connection, each byte-exact with a half-close; the agent forked none"

out=$($PEER duplex "$PUB" $((64 * 1024 * 1024))) && [ "$out" = SAME ] || fail "64 MiB duplex: $out"
kill -0 "$AGENT" || fail "the agent died: $(tail -3 "$T/echo.err")"
pass "64 MiB sent and echoed back at once over the mux connection, byte-exact"

# A service that is down: the visitor closed at once, the reason logged.
"${E[@]}" --pool 0 --mux --name down expose tcp "$DOWN" >"$T/down.out" 2>"$T/down.err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/down.out" || fail "expose: $(cat "$T/down.err")"
DPUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/down.out")
wait_for 100 carriers_are 2 || fail "no mux connection for the second exposure"
python3 - "$DPUB" <<'PY' || fail "the visitor to a service that is down was not closed at once"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
s.sendall(b"anyone?")
assert s.recv(10) == b""
PY
wait_for 50 grep -q "refused by the client: local service 127.0.0.1:$DOWN" "$T/log" ||
    fail "the refusal did not reach the relay's log"
out=$($PEER visits "$PUB" 5) || fail "the other exposure after a refusal: $out of 5"
pass "a muxed visitor to a service that is down: closed at once, the reason in the relay's log; the carrier goes on"

# relay.idle_timeout = 4: an idle visitor is closed after it, while one
# that speaks every second through the same carrier goes on.
python3 - "$PUB" <<'PY' || fail "idle streams: $(tail -3 "$T/echo.err")"
import socket, sys, time
port = int(sys.argv[1])
idle = socket.create_connection(("127.0.0.1", port))
busy = socket.create_connection(("127.0.0.1", port))
for s in (idle, busy):
    s.sendall(b"hi")
    s.settimeout(10)
    assert s.recv(2) == b"hi"
idle.settimeout(0.2)
start = time.time()
closed = None
while time.time() - start < 12:
    busy.sendall(b"tick")
    assert busy.recv(4) == b"tick", "the busy stream stopped"
    try:
        if idle.recv(1) == b"":
            closed = time.time() - start
            break
    except socket.timeout:
        pass
    time.sleep(0.8)
assert closed is not None, "the idle stream was not closed"
assert closed >= 3, "closed after %.1f s, before the idle timeout" % closed
busy.sendall(b"still")
assert busy.recv(5) == b"still"
PY
pass "a muxed visitor idle past relay.idle_timeout is closed; a busy one on the same carrier goes on"

# The relay against a client of its protocol that breaks the carrier.
PYTHONPATH=$SRCDIR/tests/integration python3 - "$RELAY_PORT" "$T/token" <<'PY' || fail "the relay's side of the mux"
import socket, ssl, struct, sys
from relayctl import Relay
r = Relay(int(sys.argv[1]), sys.argv[2], "m" * 32)
c, conn, send, read = r.c, r.conn, r.send, r.read
send(c, {"type": "expose", "proto": "udp", "remote_port": 0, "mux": True})
e = read()
assert e["type"] == "exposed" and e["mux"] is False, e
send(c, {"type": "expose", "proto": "tcp", "remote_port": 0, "pool": 0, "mux": True})
e = read()
assert e["type"] == "exposed" and e["mux"] is True, e
def head(kind, sid, n):
    return struct.pack(">BI", kind, sid) + n.to_bytes(3, "big")
for bad in (head(9, 0, 0),                  # no such kind
            head(1, 7, 3) + b"a b",         # an OPEN from us
            head(2, 1, 300000)):            # DATA too long
    ask = read()
    assert ask["type"] == "mux", ask
    d = conn()
    send(d, {"type": "data", "id": ask["id"]})
    d.sendall(bad)
    d.settimeout(10)
    try:
        while d.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
ask = read()
assert ask["type"] == "mux", "not asked again after a broken carrier: %r" % ask
PY
grep -q "the mux connection of port [0-9]* ended: a frame that cannot be" "$T/log" &&
    grep -q "ended: an OPEN it may not send" "$T/log" ||
    fail "the broken carriers were not logged"
pass "relay: mux for tcp only; a frame that cannot be, or an OPEN from the client, ends the carrier (logged) and it is asked for again"
