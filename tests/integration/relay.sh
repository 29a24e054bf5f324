# The relay (TCP 8888) with three relay workers and natclient expose:
# logins, streams byte-exact (1 GiB), many visitors, half-close, the port
# back after a reconnect, a worker killed mid-transfer, bad input, and
# streams copied instead of spliced (relay.splice = no).
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
echo "a-wrong-token-0123456789abcdef" >"$T/wrong"
RELAY_WORKERS=3 start_server "relay.token_file = $T/token" \
    "relay.port_range = 61000-61099" \
    "relay.auth_fail_burst = 3" "relay.auth_fail_per_minute = 1"
wait_for 50 has_workers relay 3 || fail "no 3 relay workers"
# Exposed ports: above the ports tests pick and the ephemeral range.
LOW=61000
HIGH=61099
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT")

# A token file others can read is refused, by both sides.
cp "$T/token" "$T/open"
chmod 644 "$T/open"
out=$("${E[@]}" --token-file "$T/open" expose tcp 9 2>&1) && fail "expose with an open token file"
grep -q "readable by others" <<<"$out" || fail "$out"
write_conf "$T/bad.conf" "relay.token_file = $T/open"
out=$("$NATSERVER" -t -c "$T/bad.conf" 2>&1) && fail "natserver -t took an open token file"
grep -q "readable by others" <<<"$out" || fail "$out"
out=$("${E[@]}" expose tcp 9 2>&1) && fail "expose without a token"
grep -q "no token" <<<"$out" || fail "$out"
pass "token files others can read are refused; no token, no relay"

# Expose an echo service; visitors reach it through the relay.
# Local services: outside the ephemeral range too (a busy host may
# hold any port of it), and above the other tests' relay ranges.
ECHO_PORT=61400
SINK_PORT=61401
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")
$PEER sink "$SINK_PORT" &
STARTED+=("$!")
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 50 tcp_open "$ECHO_PORT" && wait_for 50 tcp_open "$SINK_PORT" ||
    fail "the local echo and sink services did not start"
expose_bg() { # out local-port [args]: natclient expose in the background
	local out=$1 port=$2
	shift 2
	"${E[@]}" --token-file "$T/token" "$@" expose tcp "$port" >"$T/$out" 2>"$T/$out.err" &
	EXPOSER=$!
	STARTED+=("$EXPOSER")
	wait_for 100 grep -q "^127.0.0.1:" "$T/$out" || fail "expose: $(cat "$T/$out.err")"
}
expose_bg echo.out "$ECHO_PORT" --name echo
ECHO_PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/echo.out" | tail -1)
[ "$ECHO_PUB" -ge $LOW ] && [ "$ECHO_PUB" -le $HIGH ] || fail "port $ECHO_PUB outside the range"
out=$($PEER visits "$ECHO_PUB" 50) || fail "visitors: $out of 50 intact"
pass "50 visitors at once through three relay workers, each echo intact, half-close passed on"

# UDP: a burst of datagrams through an exposed UDP port to an echo.
UECHO=61402
python3 "$SRCDIR/tests/natlab/udpburst.py" echo "$UECHO" &
STARTED+=("$!")
udp_echoes() { # the echo is bound: datagrams sent before would be lost
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
s.sendto(b"ready?", ("127.0.0.1", int(sys.argv[1])))
assert s.recv(100) == b"ready?"' "$UECHO" 2>/dev/null
}
wait_for 50 udp_echoes || fail "the UDP echo did not start"
"${E[@]}" --token-file "$T/token" expose udp "$UECHO" >"$T/udp.out" 2>"$T/udp.err" &
UEXP=$!
STARTED+=("$UEXP")
wait_for 100 grep -q "^127.0.0.1:" "$T/udp.out" || fail "expose udp: $(cat "$T/udp.err")"
UPUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/udp.out" | tail -1)
out=$(python3 "$SRCDIR/tests/natlab/udpburst.py" burst "$UPUB" 300) || fail "udp: $out"
pass "UDP through the relay: $out"

# A visitor floods a session whose client has stopped reading: what waits
# for the client is bounded, the rest dropped and counted.
udp_from() { # phase: "open" (one echo back) or "flood", from one source port
	python3 - "$1" "$UPUB" 61403 "$METRICS_PORT" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[3])))
dst = ("127.0.0.1", int(sys.argv[2]))
if sys.argv[1] == "open":
    s.settimeout(5)
    s.sendto(b"open", dst)
    assert s.recv(100) == b"open"
else:
    # Until the relay has counted 1000 drops (or 300,000 are sent),
    # paced so that the relay, not the kernel's socket buffer, drops.
    import urllib.request
    def drops():
        url = "http://127.0.0.1:%s/metrics" % sys.argv[4]
        for line in urllib.request.urlopen(url).read().decode().splitlines():
            if line.startswith('natkit_drops_send_total{kind="relay"}'):
                return int(line.split()[1])
    start = drops()
    for i in range(300000):
        s.sendto(b"x" * 1000, dst)
        if i % 100 == 99:
            time.sleep(0.002)
        if i % 2000 == 1999 and drops() - start >= 1000:
            break
PY
}
udp_from open || fail "no echo through the UDP session"
before=$(metric 'natkit_drops_send_total{kind="relay"}')
pkill -STOP -P "$UEXP"
kill -STOP "$UEXP"
udp_from flood
after=$(metric 'natkit_drops_send_total{kind="relay"}')
pkill -CONT -P "$UEXP"
kill -CONT "$UEXP"
[ $((after - before)) -ge 1000 ] ||
    fail "a paced flood for a stopped client: only $((after - before)) datagrams dropped"
has_workers relay 3 || fail "a relay worker died"
pass "a flood for a stopped client is bounded: $((after - before)) datagrams dropped and counted"

# 1 GiB through a relayed port, byte-exact.
expose_bg sink.out "$SINK_PORT" --name sink
SINK_PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/sink.out" | tail -1)
out=$($PEER send "$SINK_PUB" 1073741824) || fail "1 GiB: $out"
pass "1 GiB through the relay arrived byte-exact (SHA-256)"

# The client comes back after a drop and gets its port again.
kill "$EXPOSER"
wait "$EXPOSER" 2>/dev/null
expose_bg sink2.out "$SINK_PORT" --name sink
again=$(sed -n 's/^127\.0\.0\.1://p' "$T/sink2.out" | tail -1)
[ "$again" = "$SINK_PUB" ] || fail "port $SINK_PUB, then $again after the reconnect"
pass "the port ($again) came back after a reconnect"

# Bad input on the control port: an error each, or a refusal.
session() {
	exec 3<>"/dev/tcp/127.0.0.1/$RELAY_PORT"
	printf '%s\n' "$@" >&3
	timeout 2 cat <&3 2>/dev/null
	exec 3<&-
}
out=$(session 'not json')
grep -q '"code":"bad_message"' <<<"$out" || fail "not json: $out"
# A peer that keeps sending after the error is still closed on, by the
# lingering close's own deadline (2 s), not kept while it drips.
python3 - "$RELAY_PORT" <<'PY' || fail "a dripping peer was kept after an error"
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"not json\n")
c.settimeout(5)
while c.recv(4096) != b"":  # the error, then the server's half-close
    pass
end = time.time() + 8
while time.time() < end:  # the server still reads; then it resets
    try:
        c.sendall(b"x")
    except OSError:
        sys.exit(0)
    time.sleep(0.3)
sys.exit(1)
PY
out=$(session '{"type":"hello","version":1,"client_id":"x y"}')
grep -q '"code":"bad_hello"' <<<"$out" || fail "hello: $out"
out=$(session '{"type":"hello","version":1,"client_id":"abc"}' '{"type":"expose","proto":"tcp"}')
grep -q '"code":"not_authenticated"' <<<"$out" || fail "expose before auth: $out"
out=$(session "{\"type\":\"hello\",\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}")
grep -q '"code":"too_long"' <<<"$out" || fail "long line: $out"
out=$(session '{"type":"data","id":"00112233445566778899aabbccddeeff"}')
grep -q '"code":"unknown_id"' <<<"$out" || fail "unknown id: $out"
out=$(session '{"type":"data","id":"nothex"}')
grep -q '"code":"unknown_id"' <<<"$out" || fail "bad id: $out"
out=$("${E[@]}" --token-file "$T/token" --remote-port 80 expose tcp "$ECHO_PORT" 2>&1) &&
    fail "a port outside the range was given"
grep -q "port_not_allowed" <<<"$out" || fail "$out"
has_workers relay 3 || fail "a relay worker died"
pass "malformed, oversized and unauthenticated messages, unknown ids and ports outside the range refused"

# A relay worker killed mid-transfer: that transfer fails, the client
# reconnects, new visitors get through.
$PEER send "$SINK_PUB" 4294967296 >"$T/cut" 2>&1 &
cut=$!
sleep 1
kill -KILL $(workers relay)
wait "$cut" && fail "a transfer survived the death of its worker"
wait_for 50 has_workers relay 3 || fail "relay workers not respawned"
wait_for 200 eval '[ "$(grep -c "^127.0.0.1:" "$T/sink2.out")" -ge 2 ]' ||
    fail "the client did not reconnect: $(cat "$T/sink2.out.err")"
again=$(sed -n 's/^127\.0\.0\.1://p' "$T/sink2.out" | tail -1)
out=$($PEER send "$again" 1000000) || fail "after the respawn: $out"
pass "a killed worker cut its transfer cleanly; the client reconnected (port $again) and new visitors work"

# With relay.splice = no, streams are copied through a buffer, with the
# same guarantees.
pkill -P $$ -f "expose (tcp|udp)"
kill -TERM "$MASTER"
wait_gone "$MASTER" 100 || fail "natserver did not stop"
start_server "relay.token_file = $T/token" "relay.splice = no" \
    "relay.port_range = 61000-61099" \
    "relay.auth_fail_burst = 3" "relay.auth_fail_per_minute = 1"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT")
expose_bg copy-echo.out "$ECHO_PORT" --name echo
ECHO_PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/copy-echo.out" | tail -1)
out=$($PEER visits "$ECHO_PUB" 50) || fail "visitors, copying: $out of 50 intact"
expose_bg copy-sink.out "$SINK_PORT" --name sink
SINK_PUB=$(sed -n 's/^127\.0\.0\.1://p' "$T/copy-sink.out" | tail -1)
out=$($PEER send "$SINK_PUB" 268435456) || fail "256 MiB, copying: $out"
copied=$(metric 'natkit_streams_copied_total{kind="relay"}')
[ "$copied" -ge 102 ] || fail "$copied stream directions copied, not 102"
pass "relay.splice = no: 50 visitors with half-close and 256 MiB byte-exact, copied ($copied directions)"

# A wrong token is refused and logged; then its address is rate-limited.
out=$("${E[@]}" --token-file "$T/wrong" expose tcp 9 2>&1) && fail "a wrong token got in"
grep -q "wrong token (auth_failed)" <<<"$out" || fail "$out"
grep -q "wrong token from 127.0.0.1" "$T/log" || fail "the failure was not logged"
# (Last: the limit then holds for this address.)
"${E[@]}" --token-file "$T/wrong" expose tcp 9 >/dev/null 2>&1
"${E[@]}" --token-file "$T/wrong" expose tcp 9 >/dev/null 2>&1
# natclient keeps trying after a rate limit: stop it.
out=$(timeout 3 "${E[@]}" --token-file "$T/token" expose tcp 9 2>&1)
grep -q "rate_limited" <<<"$out" || fail "no rate limit after 3 failures: $out"
pass "wrong tokens refused, logged, then rate-limited"
