# A visitor's data connection that the relay refuses (natclient expose
# --pool 0, connecting back per visitor): here the relay's bucket of
# new connections from the agent's address (relay.conn_burst = 1) is
# spent by its control connection, so the relay answers the agent's
# data connections with rate_limited at once.  That
# answer must never reach the local service as if the visitor had sent
# it: the agent waits for the relay's line (joined, or why not) before
# it joins the local connection, says the refusal in its log, and the
# local service gets no byte.  Every other test's dial-back visitors
# pass the same wait for "joined".
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

umask 077
echo "dialback-test-token-0123456789" >"$T/token"
R=$((61000 + RANDOM % 4000)) # public ports above the ephemeral range
start_server "relay.token_file = $T/token" "relay.port_range = $R-$R" \
    "relay.conn_burst = 1" "relay.conn_per_minute = 1"
SVC=$((R + 30))
# The service: echoes, and writes each connection's first bytes to $T/got.
python3 -c '
import socket, sys, threading
port, got = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(16)
print("serving", flush=True)
def one(c):
    first = b""
    c.settimeout(5)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            if not first:
                first = b[:64]
            c.sendall(b)
    except OSError:
        pass
    with open(got, "a") as f:
        f.write(repr(first) + "\n")
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=one, args=(c,), daemon=True).start()
' "$SVC" "$T/got" >"$T/svc.out" 2>&1 &
STARTED+=("$!")
wait_for 100 grep -q serving "$T/svc.out" || fail "the service: $(cat "$T/svc.out")"
"$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token" --remote-port "$R" --pool 0 \
    expose tcp "$SVC" >"$T/expose.out" 2>"$T/expose.err" &
STARTED+=("$!")
wait_for 100 grep -q ":$R" "$T/expose.out" || fail "not exposed: $(cat "$T/expose.err")"

for i in 1 2 3; do
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
try:
    s.sendall(b"hello")
    got = s.recv(100)
except (ConnectionResetError, BrokenPipeError):
    got = b""
assert got == b"", got  # closed, never echoed' "$R" || fail "visitor $i was answered"
done
wait_for 100 grep -q "a visitor's data connection was refused: too many new connections from your address (rate_limited)" \
    "$T/expose.err" || fail "the refusal was not said: $(cat "$T/expose.err")"
wait_for 100 test -s "$T/got" || fail "the service saw no connection of the agent's"
sleep 1
grep -v "^b''$" "$T/got" && fail "the local service was sent the relay's words: $(cat "$T/got")"
pass "3 visitors whose data connections the relay refused: rate_limited said by the agent, not a byte of it to the local service ($(wc -l <"$T/got") connections, each empty)"
