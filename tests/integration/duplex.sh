# Full duplex through natclient expose: one visitor sends 64 MiB to a
# TCP echo service while reading the echo back, byte-exact, with the
# relay splicing and with relay.splice = no.  Both directions full at
# once must never stall a loop (a blocking write in one direction held
# the other: the stream stopped after a few MiB).  The echo service has
# small socket buffers, as a busy one may: the loops cannot lean on the
# kernel buffering the whole transfer.
TLS=yes # the relay's TLS front and natclient's pump, under 64 MiB each way
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"
SIZE=$((64 << 20))

umask 077
echo "relay-test-token-0123456789" >"$T/token"
ECHO_PORT=$(free_port)
$PEER echo "$ECHO_PORT" 65536 &
STARTED+=("$!")

for splice in yes no; do
	start_server "relay.token_file = $T/token" "relay.splice = $splice"
	"$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token" \
	    expose tcp "$ECHO_PORT" >"$T/out.$splice" 2>"$T/err.$splice" &
	EXPOSER=$!
	STARTED+=("$EXPOSER")
	wait_for 100 grep -q "^127.0.0.1:" "$T/out.$splice" ||
	    fail "expose: $(cat "$T/err.$splice")"
	pub=$(sed -n 's/^127\.0\.0\.1://p' "$T/out.$splice")
	out=$($PEER duplex "$pub" "$SIZE") || fail "relay.splice = $splice: $out"
	pass "64 MiB full duplex through expose and an echo service, relay.splice = $splice: byte-exact"
	kill "$EXPOSER" "$MASTER"
	wait_gone "$MASTER" 100 || fail "natserver did not stop"
done
