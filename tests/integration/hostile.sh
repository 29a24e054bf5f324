# Hostile clients (issue 12's defects): what they must not do to a
# worker.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

start_server "relay.handshake_timeout = 8"
relay=$(workers relay)
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Half a first line on the relay port, held for 4 s: the worker waits
# for the rest instead of spinning (it used to burn a core until the
# handshake timeout).
before=$(cputicks "$relay")
python3 - "$RELAY_PORT" <<'PY' || fail "the partial line's connection: $?"
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b'{"type":"hel')
time.sleep(4)
c.sendall(b'lo"}')          # still no newline: more waiting, no spin
time.sleep(1)
PY
used=$(($(cputicks "$relay") - before))
# A spin uses up to 100 ticks a second; waiting, next to none.
[ "$used" -lt 25 ] || fail "the relay worker used $used ticks of CPU on a partial line in 5 s"
pass "a partial first line is waited for, not spun on ($used ticks of CPU in 5 s)"

# accept() without descriptors: the worker pauses accepting for a moment,
# counts it and warns once in a while, instead of spinning and flooding
# the log; once descriptors are free it serves again.
command -v prlimit >/dev/null || skip "prlimit is not installed"
kill -TERM "$MASTER"
wait_gone "$MASTER" 100 || fail "natserver did not stop"
printf '#!/bin/sh\nexec prlimit --nofile=48:48 -- "%s" "$@"\n' "$NATSERVER" >"$T/limited"
chmod +x "$T/limited"
NATSERVER=$T/limited start_server
limit=$(awk '/Max open files/ { print $4 }' "/proc/$(workers tracker | head -1)/limits")
if [ "$limit" -gt 64 ]; then
	echo "SKIP: the master could raise its limit to $limit (CAP_SYS_RESOURCE)"
	exit 0
fi
lines=$(wc -l <"$T/log")
refused=$(metric 'natkit_tcp_refused_total{kind="tracker"}')
python3 - "$TRACKER_PORT" <<'PY' || fail "holding connections"
import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(150)]
time.sleep(3)
PY
grep -c "accept" <(tail -n +"$((lines + 1))" "$T/log") >"$T/n" || true
n=$(cat "$T/n")
[ "$n" -le 4 ] || fail "$n accept lines in the log in 3 s"
[ "$(metric 'natkit_tcp_refused_total{kind="tracker"}')" -gt "$refused" ] || fail "not counted"
tcp_nat() {
	exec 4<>"/dev/tcp/127.0.0.1/$TRACKER_PORT" || return 1
	printf '//nat\n' >&4
	timeout 3 head -n 1 <&4 | grep -q "^127.0.0.1:"
	local rc=$?
	exec 4<&-
	return $rc
}
wait_for 50 tcp_nat || fail "the tracker does not answer over TCP again"
pass "out of descriptors: accepting paused and counted, $n log lines, served again afterwards"
