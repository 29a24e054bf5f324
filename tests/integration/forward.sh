# TCP port forwarding over one path on loopback: listen --forward-tcp
# and connect --local-tcp.  20 connections at once, each 1 MiB each way
# at the same time and half-closed, byte-exact; a stream whose reader
# stalls does not stall one beside it; connections held idle longer
# than ENet's peer timeout still work; past MUX_STREAMS_MAX (128) a
# connection is closed at once and the others stay; a service that
# refuses resets the connection and the path stays; bad combinations of
# options are refused with a message; ping --stream gets answers from a
# forwarding listener.  The same over the relay fallback and through
# real NATs is tests/natlab/forward.sh.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
MUX="python3 $SRCDIR/tests/integration/tcpmux.py"

start_server
C=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" --timeout 5)
SVC=$((TRACKER_PORT + 7))
LOCAL=$((TRACKER_PORT + 8))
DOWN=$((TRACKER_PORT + 9))  # nothing listens there
LOCAL2=$((TRACKER_PORT + 10))
BUSY=$((TRACKER_PORT + 11))
$MUX serve "$SVC" >"$T/svc.out" &
STARTED+=("$!")
wait_for 100 grep -q serving "$T/svc.out" || fail "the service did not start"

"${C[@]}" "${TRUST[@]}" listen fw --forward-tcp "127.0.0.1:$SVC" --keep-listening \
    </dev/null >"$T/l.out" 2>"$T/l.err" &
STARTED+=("$!")
wait_for 100 grep -q "listening as 'fw'" "$T/l.err" || fail "the listener: $(cat "$T/l.err")"
"${C[@]}" "${TRUST[@]}" --json connect fw --local-tcp "$LOCAL" </dev/null >"$T/c.out" 2>"$T/c.err" &
CONN=$!
STARTED+=("$CONN")
wait_for 100 grep -q '"result":"direct"' "$T/c.out" || fail "the connector: $(cat "$T/c.out" "$T/c.err")"
grep -q "^connected to" "$T/l.out" || fail "the listener's report: $(cat "$T/l.out")"

out=$($MUX echo "$LOCAL" 20 $((1 << 20))) || fail "20 connections: $out; $(cat "$T/c.err" "$T/l.err")"
pass "20 TCP connections at once over one path: $out, each half-closed"

out=$($MUX stall "$LOCAL" $((8 << 20))) || fail "a stalled stream: $out; $(cat "$T/c.err")"
pass "$out"

# Idle past ENet's peer timeout (3 to 6 s) and the mux's ping interval.
out=$($MUX hold "$LOCAL" 3 12) || fail "held connections: $out"
[ "$out" = "closed 0" ] || fail "connections held idle for 12 s: $out; $(cat "$T/c.err")"
pass "3 connections held idle for 12 s, then each echoes"

# Past the bound of 128 at once: the extra ones are closed at once.
out=$($MUX hold "$LOCAL" 130 2) || fail "130 connections: $out"
[ "$out" = "closed 2" ] || fail "130 connections at once: $out"
grep -q "more than 128 connections at once; refusing (counted)" "$T/c.err" ||
    fail "the refusal was not said: $(cat "$T/c.err")"
out=$($MUX echo "$LOCAL" 2 1000) || fail "after the bound: $out"
pass "130 connections at once: 128 carried, 2 closed at once (said once), the path still carries"

# A service that refuses: the connection is reset, the path stays.
"${C[@]}" "${TRUST[@]}" listen down --forward-tcp "127.0.0.1:$DOWN" \
    </dev/null >/dev/null 2>"$T/d.err" &
STARTED+=("$!")
wait_for 100 grep -q "listening as 'down'" "$T/d.err" || fail "the listener: $(cat "$T/d.err")"
"${C[@]}" "${TRUST[@]}" --json connect down --local-tcp $LOCAL2 </dev/null >"$T/dc.out" 2>"$T/dc.err" &
STARTED+=("$!")
wait_for 100 grep -q '"result":"direct"' "$T/dc.out" || fail "the connector: $(cat "$T/dc.err")"
python3 - "$LOCAL2" <<'EOF' || fail "a refused service: $(cat "$T/d.err")"
import socket, sys, time
for i in range(3):
    start = time.monotonic()
    try:  # the reset may come before the bytes are sent, even before
        # connect returns (the RST beats Python's poll for the connect)
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        s.sendall(b"hello")
        got = s.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b""
    assert got == b"", got
    assert time.monotonic() - start < 5, "not at once"
EOF
grep -q "forward-tcp 127.0.0.1:$DOWN: Connection refused" "$T/d.err" || fail "the listener did not say: $(cat "$T/d.err")"
pass "a service that refuses: each connection ends at once, the listener says why, the path stays"

# ping --stream: a forwarding listener answers pings.
out=$("${C[@]}" "${TRUST[@]}" --count 2 --stream ping fw 2>"$T/ping.err") && false
# (fw serves one peer at a time: the connector above holds it)
grep -q "reply from fw" <<<"$out" && fail "a second peer was served while one is connected"
kill "$CONN"
wait "$CONN" 2>/dev/null
wait_for 150 grep -q "listening again as 'fw'" "$T/l.err" || fail "fw did not listen again: $(cat "$T/l.err")"
out=$("${C[@]}" "${TRUST[@]}" --count 2 --stream ping fw 2>"$T/ping.err") ||
    fail "ping --stream: $out $(cat "$T/ping.err")"
[ "$(grep -c '^reply from fw: seq=[12] ' <<<"$out")" = 2 ] || fail "ping: $out"
pass "a forwarding listener answers ping --stream, and listens again after its connector went"

# A connector of one stream (stdin/stdout) is told apart, not carried.
wait_for 150 grep -q "listening again as 'fw'" "$T/l.err" || fail "fw did not listen again: $(cat "$T/l.err")"
"${C[@]}" "${TRUST[@]}" connect fw </dev/null >/dev/null 2>"$T/plain.err" && fail "a plain connector to fw ended well"
grep -q "the peer carries one stream, not TCP connections (use --local-tcp with --forward-tcp)" "$T/l.err" ||
    fail "the listener did not say what the peer is: $(cat "$T/l.err")"
pass "a connector of one stream is refused by a forwarding listener, which says why"

# Options that do not go together say so.
bad() { # message args...
	local msg=$1 out
	shift
	out=$("${C[@]}" "${TRUST[@]}" "$@" 2>&1) && fail "accepted: $*"
	grep -q -- "$msg" <<<"$out" || fail "$*: $out"
}
bad "are for connect" listen x --local-tcp 2000
bad "are for listen" connect x --forward-tcp 127.0.0.1:22
bad "not with --forward-tcp or --local-tcp" connect x --local 2000 --local-tcp 2001
bad "forward-tcp nohost: " listen x --forward-tcp nohost
bad "local-tcp" connect x --local-tcp 0
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(5)' "$BUSY" &
STARTED+=("$!")
wait_for 100 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$BUSY" ||
    fail "the port to hold busy did not listen"
bad "local-tcp $BUSY: 127.0.0.1:$BUSY: Address already in use" connect x --local-tcp $BUSY
pass "bad combinations and a local port in use are refused with a message"

# The agent: a [connect] with local_tcp to a listener, and a [listen]
# with forward_tcp that a connector reaches; status says each path.
AL=$((TRACKER_PORT + 12))
AC=$((TRACKER_PORT + 13))
"${C[@]}" "${TRUST[@]}" --keep-listening listen fwa --forward-tcp "127.0.0.1:$SVC" \
    </dev/null >/dev/null 2>"$T/fwa.err" &
STARTED+=("$!")
wait_for 100 grep -q "listening as 'fwa'" "$T/fwa.err" || fail "the listener: $(cat "$T/fwa.err")"
cat >"$T/agent.conf" <<CONF
[client]
server = 127.0.0.1:$NAMED_PORT
tracker = 127.0.0.1:$TRACKER_PORT
tls = no
control_socket = $T/ctl.sock
secret_file = $T/secret
[connect fwa]
local_tcp = $AC
secret_file = $T/secret
[listen fwl]
forward_tcp = 127.0.0.1:$SVC
secret_file = $T/secret
CONF
"$NATCLIENT" -c "$T/agent.conf" -t >/dev/null || fail "the agent's file: $("$NATCLIENT" -c "$T/agent.conf" -t 2>&1)"
"$NATCLIENT" -c "$T/agent.conf" up >"$T/up.out" 2>"$T/up.err" &
AGENT=$!
STARTED+=("$AGENT")
st() { "$NATCLIENT" -c "$T/agent.conf" --json status; }
wait_for 150 eval 'st | grep -q "\"name\":\"fwl\",\"kind\":\"listen\",\"state\":\"listening\""' ||
    fail "fwl did not listen: $(st) $(cat "$T/up.err")"
"${C[@]}" "${TRUST[@]}" --json connect fwl --local-tcp "$AL" </dev/null >"$T/fwl.out" 2>"$T/fwl.err" &
STARTED+=("$!")
wait_for 150 grep -q '"result":"direct"' "$T/fwl.out" || fail "to fwl: $(cat "$T/fwl.out" "$T/fwl.err")"
wait_for 150 eval 'st | grep -q "\"name\":\"fwa\",\"kind\":\"connect\",\"state\":\"connected\""' ||
    fail "fwa did not connect: $(st) $(cat "$T/up.err")"
out=$($MUX echo "$AC" 5 100000) || fail "through the agent's [connect]: $out $(cat "$T/up.err")"
out=$($MUX echo "$AL" 5 100000) || fail "through the agent's [listen]: $out $(cat "$T/up.err")"
# The round trip comes with the first pong, the counts with each.
counted() {
	st | python3 -c 'import json, sys
s = {x["name"]: x for x in json.load(sys.stdin)["services"]}
for n in ("fwa", "fwl"):
    x = s[n]
    assert x["state"] == "connected" and x["path"] == "direct", x
    assert x["strategy"] and x["peer"] and x["rtt_ms"] is not None and x["rtt_ms"] >= 0, x
assert s["fwa"]["public"], s["fwa"]
assert s["fwa"]["visitors_total"] >= 5 and s["fwa"]["bytes_out"] >= 5 * 100001, s["fwa"]' 2>"$T/st.err"
}
wait_for 150 counted || fail "status of the peer links: $(cat "$T/st.err") $(st)"
"$NATCLIENT" -c "$T/agent.conf" status >"$T/status.txt"
grep -q "^  path: direct ([a-z ]*) to [0-9.]*:[0-9]*, rtt [0-9.]* ms" "$T/status.txt" ||
    fail "the status table: $(cat "$T/status.txt")"
pass "the agent: [connect] local_tcp and [listen] forward_tcp carry TCP connections; status says connected, direct with the strategy, the peer, the round trip, the connections and bytes"
kill "$AGENT"
wait_gone "$AGENT" 100 || fail "the agent did not stop"
