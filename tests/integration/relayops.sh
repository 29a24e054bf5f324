# The relay in normal operation: an idle exposure stays up past the
# handshake timeout, a visitor to a service that is down is closed at
# once while the exposure stays, a taken port ends natclient, and a
# reload (SIGHUP) or a stop (SIGTERM) lets relayed streams finish.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
CONF=("relay.token_file = $T/token" "relay.port_range = 61100-61199"
    "relay.handshake_timeout = 2" "server.shutdown_grace = 30")
RELAY_WORKERS=2 start_server "${CONF[@]}"
wait_for 50 has_workers relay 2 || fail "no 2 relay workers"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token")
ECHO_PORT=61050
DOWN_PORT=61051
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")
expose_bg() { # out local-port [args]: natclient expose in the background
	local out=$1 port=$2
	shift 2
	"${E[@]}" "$@" expose tcp "$port" >"$T/$out" 2>"$T/$out.err" &
	EXPOSER=$!
	STARTED+=("$EXPOSER")
	wait_for 100 grep -q "^127.0.0.1:" "$T/$out" || fail "expose: $(cat "$T/$out.err")"
}
public() { sed -n 's/^127\.0\.0\.1://p' "$T/$1" | tail -1; }

# An exposure with no visitor outlives three handshake timeouts, with no
# reconnect, then serves visitors.
expose_bg echo.out "$ECHO_PORT" --name echo
ECHO_PUB=$(public echo.out)
sleep 7
out=$($PEER visits "$ECHO_PUB" 10) || fail "visitors after an idle spell: $out of 10"
[ "$(grep -c "^127.0.0.1:" "$T/echo.out")" -eq 1 ] && ! grep -q reconnecting "$T/echo.out.err" ||
    fail "the idle exposure reconnected: $(cat "$T/echo.out.err")"
pass "an idle exposure stays up past 3 x handshake_timeout (no reconnect), then serves 10 visitors"

# A service that is down: the visitor is closed at once (well before the
# 2 s handshake timeout would), it is logged and counted, and the
# exposure stays.
expose_bg down.out "$DOWN_PORT" --name down
DOWN_PUB=$(public down.out)
python3 - "$DOWN_PUB" <<'PY' || fail "the visitor to a service that is down was not closed"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.5)
t = time.time()
assert s.recv(10) == b""
PY
wait_for 50 grep -q "refused by the client: local service 127.0.0.1:$DOWN_PORT" "$T/log" ||
    fail "the refusal was not logged"
[ "$(metric 'natkit_visitors_refused_locally_total{kind="relay"}')" -ge 1 ] || fail "not counted"
$PEER echo "$DOWN_PORT" &
STARTED+=("$!")
wait_for 50 eval "$PEER visits $DOWN_PUB 1" || fail "the exposure did not stay"
[ "$(grep -c "^127.0.0.1:" "$T/down.out")" -eq 1 ] || fail "the exposure reconnected"
pass "a visitor to a service that is down is closed at once, logged and counted; the exposure stays"

# The metrics page passes promtool's rules (or, without promtool, the
# same rules checked here), and counts what the relay did.
page=$(exec 5<>"/dev/tcp/127.0.0.1/$METRICS_PORT" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5 && timeout 5 cat <&5 | sed '1,/^\r$/d')
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <<<"$page" 2>&1) || fail "promtool: $out"
	checked=promtool
else
	out=$(printf '%s\n' "$page" | python3 -c "$(cat <<'PY'

import re, sys
helped, typed, seen = set(), {}, set()
for line in sys.stdin.read().splitlines():
    if line.startswith("# HELP "):
        helped.add(line.split()[2])
    elif line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert name not in typed, "two TYPE lines for " + name
        typed[name] = kind
    elif line:
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        assert m, "bad line: " + line
        name = m.group(1)
        assert name in typed and name in helped, "no HELP/TYPE for " + name
        assert (typed[name] == "counter") == name.endswith("_total"), name
        assert line.rsplit(" ", 1)[0] not in seen, "repeated " + line
        seen.add(line.rsplit(" ", 1)[0])
PY
)" 2>&1) || fail "metrics rules: $out"
	checked="the rules in this test"
fi
for m in 'natkit_relay_logins_ok_total{kind="relay"}' \
    'natkit_exposure_bytes_total{name="echo",direction="in"}' \
    'natkit_exposure_bytes_total{name="echo",direction="out"}' \
    'natkit_relayed_bytes_in_total{kind="relay"}' natkit_relay_exposures; do
	v=$(metric "$m")
	[ -n "$v" ] && [ "$v" -ge 1 ] || fail "$m is '$v'"
done
[ "$(metric natkit_relay_exposures)" -eq 2 ] || fail "$(metric natkit_relay_exposures) exposures, not 2"
pass "metrics pass $checked; logins, exposures and bytes per exposure are counted"

# A port that is taken ends natclient with a clear message and code 1.
out=$(timeout 20 "${E[@]}" --remote-port "$ECHO_PUB" expose tcp 9 2>&1)
code=$?
[ "$code" -eq 1 ] && grep -q "remote_port is taken (port_busy)" <<<"$out" ||
    fail "a taken port: exit $code, $out"
pass "a taken remote port ends natclient (exit 1): $out"

# Reload: 50 streams carrying data both ways through the relay, and one
# long one, go on across a SIGHUP byte-exact; the exposure moves to the
# new workers on the same port.
old=$(workers relay | tr '\n' ' ')
$PEER streams "$ECHO_PUB" 50 6 >"$T/many" 2>"$T/many.err" &
many=$!
$PEER streams "$ECHO_PUB" 1 10 >"$T/long" 2>"$T/long.err" &
long=$!
wait_for 300 grep -q ready "$T/many.err" || fail "streams: $(cat "$T/many" "$T/many.err")"
wait_for 300 grep -q ready "$T/long.err" || fail "stream: $(cat "$T/long" "$T/long.err")"
kill -HUP "$MASTER"
wait_for 100 grep -q "the relay asked to reconnect" "$T/echo.out.err" ||
    fail "the exposer was not asked to reconnect"
wait_for 100 eval '[ "$(grep -c "^127.0.0.1:" "$T/echo.out")" -ge 2 ]' ||
    fail "the exposer did not come back: $(cat "$T/echo.out.err")"
[ "$(public echo.out)" = "$ECHO_PUB" ] || fail "the port changed over the reload"
out=$($PEER visits "$ECHO_PUB" 10) || fail "new visitors after the reload: $out of 10"
wait "$many" || fail "50 streams across a reload: $(cat "$T/many") intact"
wait "$long" || fail "the long stream across a reload: $(cat "$T/long")"
for p in $old; do
	wait_for 100 dead "$p" || fail "an old relay worker did not finish"
done
pass "SIGHUP: 50 streams and a long one both ways byte-exact; the exposure came back on port $ECHO_PUB; old workers ended with their streams"

# Stop: streams that end within the grace period finish byte-exact, and
# natserver exits once they have.
$PEER streams "$ECHO_PUB" 20 4 >"$T/stop" 2>"$T/stop.err" &
stop=$!
wait_for 300 grep -q ready "$T/stop.err" || fail "streams: $(cat "$T/stop" "$T/stop.err")"
kill -TERM "$MASTER"
wait "$stop" || fail "20 streams across SIGTERM: $(cat "$T/stop") intact"
wait_gone "$MASTER" 150 || fail "natserver did not stop once the streams ended"
pass "SIGTERM: 20 streams finished byte-exact within the grace period, then natserver stopped"
