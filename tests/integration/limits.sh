# Connection budgets (issue 12, defect 6): per source IP on each door,
# in all, and separate for N4 and named sessions; deadlines that a drip
# of bytes does not extend.  Each over-limit connection is told why where
# its protocol can say it, and others are still served.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
TRACKER_WORKERS=1 start_server "tracker.max_connections_per_ip = 4" \
    "tracker.idle_timeout = 3" "rendezvous.max_connections_per_ip = 3" \
    "rendezvous.n4_max_connections = 2" "rendezvous.register_timeout = 2" \
    "relay.max_connections_per_ip = 3" "relay.handshake_timeout = 30" \
    "relay.token_file = $T/token" "rendezvous.list = yes"

# limit HOST PORT HOLD FIRST EXPECT [HOST2 ASK2 EXPECT2]: hold HOLD
# connections from HOST (each sends FIRST, a partial message), then one
# more must get EXPECT and be closed; a connection from HOST2 that sends
# ASK2 gets EXPECT2.
limit() {
	python3 - "$@" <<'PY'
import socket, sys, time
host, port, hold, first, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode(), sys.argv[5].encode()
held = []
for i in range(hold):
    c = socket.create_connection((host, port))
    c.sendall(first)
    held.append(c)
time.sleep(0.3)
c = socket.create_connection((host, port))
c.settimeout(5)
got = b""
while True:
    d = c.recv(4096)
    if not d:
        break
    got += d
if expect not in got:
    sys.exit("over the limit: got %r, want %r" % (got, expect))
if len(sys.argv) > 6:
    o = socket.create_connection((sys.argv[6], port))
    o.settimeout(5)
    o.sendall(sys.argv[7].encode().decode("unicode_escape").encode())
    got = o.recv(4096)
    if sys.argv[8].encode() not in got:
        sys.exit("another source: got %r" % got)
for c in held:
    c.close()
PY
}

out=$(limit 127.0.0.1 "$TRACKER_PORT" 4 "//na" "error: too many connections from your address" \
    ::1 '//nat\n' "[::1]:") || fail "tracker: $out"
pass "tracker: a fifth connection from one IP is told 'too many connections' and closed; ::1 is served"

out=$(limit 127.0.0.1 "$NAMED_PORT" 3 '{"type":"li' '"code":"too_many_connections"' \
    ::1 '{"type":"list"}\n' '"type":"list"') || fail "named: $out"
pass "named sessions: a fourth connection from one IP gets too_many_connections; ::1 is served"

out=$(limit 127.0.0.1 "$RELAY_PORT" 3 '{"type":"hel' '"code":"too_many_connections"') ||
    fail "relay: $out"
pass "relay: a fourth connection in its first line from one IP gets too_many_connections"

# N4 has a budget of its own (2 here): full, it closes the third, while
# named sessions are still served.
python3 - "$N4_PORT" "$NAMED_PORT" <<'PY' || fail "N4 budget"
import socket, sys, time
n4, named = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", n4)) for i in range(2)]
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", n4))
c.settimeout(5)
assert c.recv(10) == b"", "a third N4 connection was kept"
s = socket.create_connection(("::1", named))
s.settimeout(5)
s.sendall(b'{"type":"register","name":"budget"}\n')
assert b'"registered"' in s.recv(4096), "named starved by N4"
PY
pass "N4's own budget full: the next N4 connection is closed, named sessions still register"

# Deadlines a drip does not extend: a tracker request that never ends
# (a byte a second) is closed by tracker.idle_timeout (3 s), and a named
# session that only sends keepalives without registering by
# rendezvous.register_timeout (2 s), with a timeout error.
python3 - "$TRACKER_PORT" "$NAMED_PORT" <<'PY' || fail "deadlines"
import socket, sys, time
t = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t.settimeout(0.1)
closed = False
for b in b"//natnatnatnatnat":
    try:
        t.send(bytes([b]))
        if t.recv(10) == b"":
            closed = True
            break
    except socket.timeout:
        pass
    except OSError:
        closed = True
        break
    time.sleep(1)
assert closed, "a dripping tracker request kept its connection for 17 s"
n = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
n.settimeout(0.2)
got, closed = b"", False
for i in range(20):
    try:
        n.send(b'{"type":"keepalive"}\n')
        d = n.recv(4096)
        got += d
        if d == b"":
            closed = True
            break
    except socket.timeout:
        pass
    except OSError:
        closed = True
        break
    time.sleep(0.5)
assert closed and b'"code":"timeout"' in got, "an unregistered session lived on: %r" % got[-200:]
PY
pass "a dripping tracker request and an unregistered keepalive-only session are each closed at their deadline"
[ "$(metric 'natkit_tcp_refused_total{kind="tracker"}')" -ge 1 ] &&
    [ "$(metric 'natkit_tcp_refused_total{kind="rendezvous"}')" -ge 2 ] &&
    [ "$(metric 'natkit_tcp_refused_total{kind="relay"}')" -ge 1 ] || fail "refusals not counted"
pass "every refusal counted in natkit_tcp_refused_total"

# The relay connections that sent half a first line and closed were let
# go at once (they used to wait for the 30 s handshake timeout, holding
# the relay's drain): natserver stops within 5 s.
kill -TERM "$MASTER"
wait_gone "$MASTER" 50 || fail "natserver did not stop within 5 s: $(tail -3 "$T/log")"
pass "half a first line, then the end of input: freed at once (natserver stopped within 5 s)"
