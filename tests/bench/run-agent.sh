#!/bin/bash
# New connections per second through natkit's relay with the agent
# (natclient expose: one event loop, no process per visitor), against a
# small HTTP responder directly and through one haproxy TCP hop, taking
# turns ROUNDS times; each is `ab -n N -c C` of HTTP/1.0 requests, one
# connection each.  Also the first-byte time (ab's median and 99th
# percentile), the first byte's time one connection at a time
# (first_byte.py), and the agent's RSS.  Relay TLS is on (as deployed) or
# off with TLS=no; POOL=0 makes the agent connect back for every
# visitor; MUX=yes carries all visitors over one data connection
# (natclient --mux).  Needs ab (apache2-utils) and haproxy.
# Run from the build directory after make; prints a Markdown table.
set -e
. tests/bench/lib.sh
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
C=${C:-50}
TLS=${TLS:-yes}
POOL=${POOL:-8} # ready data connections (natclient --pool; relay.pool_max 8)
MUX=${MUX:-no}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
base=$((20000 + $$ % 9000))
WEB=$base RELAY=$((base + 1)) HAP=$((base + 2)) PUB=$((base + 3))
(umask 077 && echo "bench-agent-token-0123456789" >"$T/token")
bench_relay_conf "$T/conf" "$T/pid" "127.0.0.1:$((base + 4))" "$TLS" "$RELAY" \
    "port_range = $PUB-$PUB" "max_connections_per_ip = 100000" \
    "max_conns_per_port = 100000" "max_connections = 100000"
# The responder: haproxy answering every request itself.
bench_responder "$T/web.cfg" "$WEB"
bench_start "$T" tcp "$HAP" "$WEB" "default_backend web"
printf '[client]\ntls = %s\n' "$TLS" >"$T/client.conf"
XDG_CONFIG_HOME=$T/cfg client/natclient -c "$T/client.conf" -s "127.0.0.1:$RELAY" \
    --token-file "$T/token" --remote-port "$PUB" --pool "$POOL" $(bench_mux) expose tcp "$WEB" >"$T/expose.out" 2>"$T/expose.err" &
AGENT=$!
for i in $(seq 100); do grep -q ":$PUB" "$T/expose.out" && break; sleep 0.1; done
grep -q ":$PUB" "$T/expose.out" || { cat "$T/expose.err"; exit 1; }
bench_mux_wait
run() { # port: "conn/s p50 p99 failed"
	ab -q -n "$N" -c "$C" "http://127.0.0.1:$1/" 2>&1 |
	    awk '/Requests per second/ {r = $4} /Failed requests/ {f = $3}
		 /^  50%/ {p50 = $2} /^  99%/ {p99 = $2}
		 END {printf "%.0f %s %s %s\n", r, p50, p99, f}'
}
for r in $(seq "$ROUNDS"); do
	for path in direct haproxy relay; do
		case $path in
		direct) port=$WEB ;; haproxy) port=$HAP ;; relay) port=$PUB ;;
		esac
		echo "$r $path $(run "$port")" >>"$T/results"
	done
done
# Light load: one connection at a time, the first byte's time (µs).
for r in $(seq "$ROUNDS"); do
	for path in direct haproxy relay; do
		case $path in
		direct) port=$WEB ;; haproxy) port=$HAP ;; relay) port=$PUB ;;
		esac
		echo "$path $(python3 tests/bench/first_byte.py "$port" 2000 |
		    sed 's/p50_us=\([0-9]*\) p99_us=\([0-9]*\)/\1 \2/')" >>"$T/light"
	done
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT/status")
echo "| path | conn/s (median of $ROUNDS) | rounds | first byte p50 / p99 ms | failed |"
echo "|---|---|---|---|---|"
for path in direct haproxy relay; do
	awk -v p=$path '$2 == p' "$T/results" | sort -k3 -n | awk -v p=$path -v n="$ROUNDS" '
	    {v[NR] = $3; all = all (NR > 1 ? ", " : "") $3; lat[NR] = $4 " / " $5; f += $6}
	    END {m = int((n + 1) / 2); printf "| %s | %s | %s | %s | %d |\n", p, v[m], all, lat[m], f}'
done
hap=$(awk '$2 == "haproxy" {print $3}' "$T/results" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
rel=$(awk '$2 == "relay" {print $3}' "$T/results" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
echo
echo "| path, one connection at a time | first byte p50 µs (median of $ROUNDS) | p99 µs |"
echo "|---|---|---|"
for path in direct haproxy relay; do
	awk -v p=$path '$1 == p' "$T/light" | sort -k2 -n | awk -v p=$path -v n="$ROUNDS" '
	    {a[NR] = $2; b[NR] = $3} END {m = int((n + 1) / 2); printf "| %s | %s | %s |\n", p, a[m], b[m]}'
done
echo
echo "relay with the agent ÷ one haproxy hop: $(echo "scale=2; $rel / $hap" | bc) ×; agent RSS after the run: $rss KiB; TLS to the relay: $TLS; pool $POOL; mux $MUX; ab -n $N -c $C"
