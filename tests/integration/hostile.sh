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
