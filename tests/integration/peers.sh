# listen and connect as a user runs them: status lines reach a file at
# once, a peer that goes away (killed, or stopped by a signal) is seen
# within seconds on the other side, which says so and unregisters, or
# with --keep-listening waits for the next peer.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
BURST="python3 $SRCDIR/tests/natlab/udpburst.py"

start_server
C=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" "${TRUST[@]}")
registered() { named_session "{\"type\":\"lookup\",\"name\":\"$1\"}" | grep -q '"public":"127'; }
UECHO=$((TRACKER_PORT + 6))
LOCAL=$((TRACKER_PORT + 7))
$BURST echo "$UECHO" &
STARTED+=("$!")

# pair NAME [listen options]: a datagram listener and its connector.
pair() {
	local name=$1
	shift
	"${C[@]}" "$@" listen "$name" --forward "127.0.0.1:$UECHO" >"$T/$name.l" 2>"$T/$name.le" &
	LISTENER=$!
	STARTED+=("$LISTENER")
	wait_for 100 registered "$name" || fail "$name did not register: $(cat "$T/$name.le")"
	"${C[@]}" connect "$name" --local "$LOCAL" >"$T/$name.c" 2>"$T/$name.ce" &
	CONNECTOR=$!
	STARTED+=("$CONNECTOR")
	# The result lines are in the files while both still run.
	wait_for 150 grep -q "^connected to" "$T/$name.c" || fail "connector: $(cat "$T/$name.c" "$T/$name.ce")"
	wait_for 50 grep -q "^connected to" "$T/$name.l" || fail "listener: $(cat "$T/$name.l" "$T/$name.le")"
	out=$($BURST burst "$LOCAL" 50) || fail "datagrams: $out"
}

pair gone
pass "status lines reach files at once while both sides run; datagrams: $out"

# The connector is killed without a word: the listener sees the silence,
# says so, unregisters and exits 1.
kill -KILL "$CONNECTOR"
wait_for 200 dead "$LISTENER" || fail "the listener did not notice: $(cat "$T/gone.le")"
wait "$LISTENER"
code=$?
[ "$code" -eq 1 ] || fail "the listener exited $code"
grep -q "the peer went away" "$T/gone.le" || fail "the listener did not say why: $(cat "$T/gone.le")"
registered gone && fail "the name is still registered"
out=$("${C[@]}" --timeout 3 connect gone 2>&1) && fail "a connect to a listener that left succeeded"
grep -q "not_found\|no such name\|not found" <<<"$out" || fail "connect to a listener that left: $out"
pass "a killed connector is seen by the listener, which says so, unregisters and exits 1"

# --keep-listening: the connector stops on SIGTERM and says goodbye; the
# listener registers again, and the next connector gets through.
pair again --keep-listening
kill -TERM "$CONNECTOR"
wait_for 100 grep -q "listening again as 'again'" "$T/again.le" ||
    fail "the listener did not listen again: $(cat "$T/again.le")"
alive "$LISTENER" || fail "the listener exited"
wait_for 100 registered again || fail "not registered again"
: >"$T/again.l"
"${C[@]}" connect again --local "$LOCAL" >"$T/again.c" 2>"$T/again.ce" &
CONNECTOR=$!
STARTED+=("$CONNECTOR")
wait_for 150 grep -q "^connected to" "$T/again.c" || fail "the next connector: $(cat "$T/again.ce")"
out=$($BURST burst "$LOCAL" 50) || fail "datagrams to the next peer: $out"
pass "--keep-listening: a connector's goodbye (SIGTERM) is seen, the listener waits again and serves the next ($out)"

# A stream (ENet): the connector is interrupted; the listener, whose
# input is still open, ends with the peer.
mkfifo "$T/in1" "$T/in2"
sleep 300 >"$T/in1" &
STARTED+=("$!")
sleep 300 >"$T/in2" &
STARTED+=("$!")
"${C[@]}" listen stream <"$T/in1" >/dev/null 2>"$T/stream.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered stream || fail "stream did not register"
"${C[@]}" connect stream <"$T/in2" >/dev/null 2>"$T/stream.ce" &
CONNECTOR=$!
STARTED+=("$CONNECTOR")
wait_for 150 grep -q "connected to" "$T/stream.ce" || fail "stream connector: $(cat "$T/stream.ce")"
kill -INT "$CONNECTOR"
wait_for 100 dead "$LISTENER" || fail "the stream listener did not notice: $(cat "$T/stream.le")"
grep -q "the peer went away" "$T/stream.le" || fail "$(cat "$T/stream.le")"
kill -KILL "$CONNECTOR" 2>/dev/null
pass "an interrupted stream peer is seen by the listener, which ends"
