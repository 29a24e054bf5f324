# Memory that runs out for one connection refuses that connection,
# counts it, and the worker goes on serving: with the fault injector
# (failalloc.so) making every libevent event allocation fail, a relay
# connection, an N4 connection and a visitor to an exposed port are each
# closed at once; the same workers then serve again, and the refusals
# are counted as natkit_out_of_memory_total.  (It was fatal: the worker
# died, and with it every stream and exposure it held.)
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
: "${FAILALLOC:?run from make check}"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
cat >"$T/natserver" <<SH
#!/bin/sh
LD_PRELOAD='$FAILALLOC' FAILALLOC_FILE='$T/fail' exec '$NATSERVER' "\$@"
SH
chmod +x "$T/natserver"
chmod 711 "$T" # the workers (another user) look for $T/fail
NATSERVER=$T/natserver start_server "relay.token_file = $T/token"
relay=$(workers relay)
rdv=$(workers rendezvous)
ECHO_PORT=$(free_port)
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")
"$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token" \
    expose tcp "$ECHO_PORT" >"$T/out" 2>"$T/err" &
STARTED+=("$!")
wait_for 100 grep -q "^127.0.0.1:" "$T/out" || fail "expose: $(cat "$T/err")"
pub=$(sed -n 's/^127\.0\.0\.1://p' "$T/out")

# closed PORT: a connection to PORT is closed by the server, unasked.
closed() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
assert s.recv(100) == b""
PY
}
touch "$T/fail"
closed "$RELAY_PORT" || fail "a relay connection with no memory for it was not closed"
closed "$N4_PORT" || fail "an N4 connection with no memory for it was not closed"
closed "$pub" || fail "a visitor with no memory for it was not closed"
rm "$T/fail"

[ "$(workers relay)" = "$relay" ] && [ "$(workers rendezvous)" = "$rdv" ] ||
    fail "a worker died: relay $relay -> $(workers relay), rendezvous $rdv -> $(workers rendezvous)"
out=$($PEER visits "$pub" 10) || fail "visitors after the failures: $out of 10"
[ "$(grep -c "^127.0.0.1:" "$T/out")" -eq 1 ] || fail "the exposure was lost"
[ "$(metric 'natkit_out_of_memory_total{kind="relay"}')" -ge 2 ] &&
    [ "$(metric 'natkit_out_of_memory_total{kind="rendezvous"}')" -ge 1 ] ||
    fail "not counted: $(metric 'natkit_out_of_memory_total{kind="relay"}') relay"
pass "no memory for a relay connection, an N4 connection or a visitor: each refused and counted; the same workers serve on, the exposure kept"
