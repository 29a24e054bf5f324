# Hostile clients (issue 12's defects): what they must not do to a
# worker.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
start_server "relay.handshake_timeout = 8" "relay.token_file = $T/token"
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

# A peer's words in the log are cleaned: a newline cannot forge a line,
# an escape cannot reach an admin's terminal.
python3 - "$RELAY_PORT" "$T/token" <<'PY' || fail "the hostile type's connection"
import hashlib, hmac, json, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = c.makefile("rb")
c.sendall(b'{"type":"hello","version":1,"client_id":"abc"}\n')
nonce = bytes.fromhex(json.loads(f.readline())["nonce"])
token = open(sys.argv[2], "rb").read().strip()
mac = hmac.new(token, nonce, hashlib.sha256).hexdigest()
c.sendall(json.dumps({"type": "auth", "hmac": mac}).encode() + b"\n")
assert json.loads(f.readline())["type"] == "ok"
c.sendall(json.dumps({"type": "x\nFORGED natserver line \x1b[2J\x07"}).encode() + b"\n")
assert json.loads(f.readline())["code"] == "unknown_type"
PY
wait_for 50 grep -q "unknown_type: x?FORGED natserver line ?\[2J?" "$T/log" ||
    fail "not logged as cleaned: $(grep unknown_type "$T/log")"
grep -q "^FORGED" "$T/log" && fail "a peer forged a log line: $(grep FORGED "$T/log")"
LC_ALL=C grep -q $'\x1b' "$T/log" && fail "an escape reached the log"
pass "peer strings are sanitized before they are logged"

# A metrics client dripping bytes is closed at the drain deadline (2 s
# in all), not kept while it drips; at most 16 are held at once.
python3 - "$METRICS_PORT" <<'PY' || fail "a dripping metrics client was kept"
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.settimeout(0.2)
end = time.time() + 8
while time.time() < end:
    try:
        c.sendall(b"x")
        c.recv(65536)        # the page, then the end of it
    except socket.timeout:
        continue
    except OSError:
        sys.exit(0)          # reset: the server closed on us
    time.sleep(0.3)
sys.exit(1)
PY
# 40 clients at once: the master never holds more than 16 (it closes
# the rest at once), counted from its own descriptors while they wait.
python3 - "$METRICS_PORT" >"$T/many" <<'PY' &
import socket, sys, time
cs = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(40)]
print("open", flush=True)
time.sleep(3)
PY
many=$!
wait_for 100 grep -q open "$T/many" || fail "40 metrics clients did not connect"
most=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	n=$(ss -tnpH "( sport = :$METRICS_PORT )" | grep -c "pid=$MASTER,")
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
done
wait "$many"
[ "$most" -le 16 ] && [ "$most" -ge 1 ] || fail "the master held $most metrics connections at once"
held=$most
pass "metrics clients: a drip does not extend the 2 s deadline; of 40 at once the master held at most $held (bound 16)"

# A metrics connection open while a worker is respawned is not inherited.
exec 5<>"/dev/tcp/127.0.0.1/$METRICS_PORT"
ino=$(ss -tneH "( sport = :$METRICS_PORT )" | sed -n 's/.*ino:\([0-9]*\).*/\1/p' | head -1)
[ -n "$ino" ] || fail "no metrics connection found"
old=$(workers tracker | head -1)
kill -KILL "$old"
wait_for 50 eval '[ "$(count_workers tracker)" -eq 2 ] && ! workers tracker | grep -qx "$old"'
for p in $(workers tracker); do
	ls -l "/proc/$p/fd" 2>/dev/null | grep -q "socket:\[$ino\]" &&
	    fail "worker $p inherited the metrics connection"
done
exec 5<&-
pass "a respawned worker does not inherit open metrics connections${ino:+ (socket $ino)}"

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

# One peer's junk cannot flood the log: 200 bad first lines from
# 127.0.0.1 are each refused, but only a few are logged; the rest are
# counted as held back.  (Another source's line would still be logged:
# the buckets are per source IP.)
before=$(grep -c "hello or data first from 127.0.0.1" "$T/log" || true)
python3 - "$RELAY_PORT" <<'PY' || fail "bad first lines: $?"
import json, socket, sys
for i in range(200):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b'{"type":"nonsense"}\n')
    answer = json.loads(c.makefile("rb").readline())
    assert answer["code"] == "bad_message", answer
    c.close()
PY
wait_for 50 eval '[ "$(metric "natkit_log_lines_held_total{kind=\"relay\"}")" -ge 190 ]' ||
    fail "held back: $(metric 'natkit_log_lines_held_total{kind="relay"}')"
logged=$(($(grep -c "hello or data first from 127.0.0.1" "$T/log") - before))
[ "$logged" -le 10 ] || fail "$logged lines logged for one peer's 200 bad first lines"
pass "200 bad first lines from one peer: each refused with bad_message, $logged logged, the rest counted as held back"
