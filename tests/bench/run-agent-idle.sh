#!/bin/bash
# The agent's memory with N concurrent idle visitors through one
# exposure (natclient expose: one event loop, no process per visitor):
# RSS before they come, with all of them open (each had 1 KiB echoed
# and then waits), and per visitor; then how many of them still carry
# 64 KiB both ways and a clean end.  Relay TLS on (as deployed) or off
# with TLS=no; MUX=yes carries them over one data connection (natclient
# --mux: a visitor holds its local socket in the agent, 1 descriptor).  A visitor holds 2 descriptors in the agent over TLS (the
# data connection, whose TLS pump writes the local service's socket
# itself, and that socket) and 6 in plaintext (two spliced sockets and
# their two pipes), 2 in the relay worker (relay.splice = no), so it
# raises its own limit where it may; where it cannot, the visitors past
# it fail, and the last column says how many were really held.  Needs
# python3.
# Run from the build directory after make; prints a Markdown row.
set -e
. tests/bench/lib.sh
N=${N:-10000}
TLS=${TLS:-yes}
MUX=${MUX:-no}
ulimit -n $((N * 5 + 1000)) 2>/dev/null ||
    echo "note: open files stay limited to $(ulimit -n); about 4 per visitor are needed" >&2
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
base=$((20000 + $$ % 9000))
ECHO=$base RELAY=$((base + 1)) PUB=$((base + 2))
(umask 077 && echo "bench-idle-token-0123456789" >"$T/token")
bench_relay_conf "$T/conf" "$T/pid" "" "$TLS" "$RELAY" \
    "port_range = $PUB-$PUB" "splice = no" "idle_timeout = 3600" \
    "max_connections = $((N + 100))" "max_connections_per_ip = $((N + 100))" \
    "max_conns_per_port = $((N + 100))"
python3 tests/integration/relaypeer.py echo "$ECHO" &
server/natserver -c "$T/conf" -d >"$T/log" 2>&1 &
sleep 1
printf '[client]\ntls = %s\n' "$TLS" >"$T/client.conf"
XDG_CONFIG_HOME=$T/cfg client/natclient -c "$T/client.conf" -s "127.0.0.1:$RELAY" \
    --token-file "$T/token" --remote-port "$PUB" $(bench_mux) expose tcp "$ECHO" >"$T/expose.out" 2>"$T/expose.err" &
AGENT=$!
for i in $(seq 100); do grep -q ":$PUB" "$T/expose.out" && break; sleep 0.1; done
grep -q ":$PUB" "$T/expose.out" || { cat "$T/expose.err"; exit 1; }
bench_mux_wait
rss() { awk '/VmRSS/ {print $2}' "/proc/$AGENT/status"; }
before=$(rss)
mkfifo "$T/go"
python3 tests/integration/relaypeer.py hold "$PUB" "$N" <"$T/go" >"$T/hold.out" 2>"$T/hold.err" &
HOLD=$!
exec 7>"$T/go"
for i in $(seq 3000); do grep -q ready "$T/hold.err" && break; sleep 0.1; done
grep -q ready "$T/hold.err" || { tail -3 "$T/hold.err"; exit 1; }
sleep 2
with=$(rss)
# Then each visitor sends 64 KiB and ends: how many came back whole (a
# visitor whose path was gone by then was not really held).
exec 7>&-
wait "$HOLD" || true
alive=$(tail -1 "$T/hold.out")
echo "| $N | $TLS | $before KiB | $with KiB | $(( (with - before) * 1024 / N )) B | $(( with / 1024 )) MiB | ${alive:-0} |"
