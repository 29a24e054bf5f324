#!/bin/bash
# Requests per second through the relay's HTTP virtual host with the
# agent (natclient expose http --domain), against a small HTTP
# responder directly and through one haproxy hop in HTTP mode (routing
# by Host too), taking turns ROUNDS times: wrk with keep-alive
# (requests/s, p99 latency) and ab without (new connections/s, one
# request each, p99).  Relay TLS (client to relay) is on as deployed,
# or off with TLS=no.  Needs wrk, ab (apache2-utils) and haproxy.
# Run from the build directory after make; prints Markdown tables.
set -e
. tests/bench/lib.sh
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
C=${C:-50}
SECS=${SECS:-5}
TLS=${TLS:-yes}
POOL=${POOL:-8}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
base=$((20000 + $$ % 9000))
WEB=$base RELAY=$((base + 1)) HAP=$((base + 2)) HTTP=$((base + 3))
(umask 077 && echo "bench-vhost-token-0123456789" >"$T/token")
bench_relay_conf "$T/conf" "$T/pid" "127.0.0.1:$((base + 4))" "$TLS" "$RELAY" \
    "http_listen = 127.0.0.1:$HTTP" "max_connections_per_ip = 100000" \
    "max_conns_per_port = 100000" "max_connections = 100000" \
    "pool_max = ${POOL_MAX:-8}"
bench_responder "$T/web.cfg" "$WEB"
bench_start "$T" http "$HAP" "$WEB" "use_backend web if { hdr(host) -i bench.test }"
printf '[client]\ntls = %s\n' "$TLS" >"$T/client.conf"
XDG_CONFIG_HOME=$T/cfg client/natclient -c "$T/client.conf" -s "127.0.0.1:$RELAY" \
    --token-file "$T/token" --pool "$POOL" expose http "$WEB" --domain bench.test \
    >"$T/expose.out" 2>"$T/expose.err" &
for i in $(seq 100); do grep -q "bench.test" "$T/expose.out" && break; sleep 0.1; done
grep -q "bench.test" "$T/expose.out" || { cat "$T/expose.err" "$T/log"; exit 1; }
keepalive() { # port: "req/s p99_ms"
	wrk -t 2 -c "$C" -d "${SECS}s" --latency -H "Host: bench.test" "http://127.0.0.1:$1/" |
	    awk '/Requests\/sec/ {r = $2} /^ +99%/ {p = $2}
		 END {sub(/ms/, "", p); if (p ~ /us/) {sub(/us/, "", p); p = p / 1000}
		      if (p ~ /s$/) {sub(/s/, "", p); p = p * 1000}
		      printf "%.0f %s\n", r, p}'
}
newconn() { # port: "conn/s p99_ms failed"
	ab -q -n "$N" -c "$C" -H "Host: bench.test" "http://127.0.0.1:$1/" 2>&1 |
	    awk '/Requests per second/ {r = $4} /Failed requests/ {f = $3}
		 /^  99%/ {p99 = $2} END {printf "%.0f %s %s\n", r, p99, f}'
}
for r in $(seq "$ROUNDS"); do
	for path in direct haproxy relay; do
		case $path in
		direct) port=$WEB ;; haproxy) port=$HAP ;; relay) port=$HTTP ;;
		esac
		echo "$r $path $(keepalive "$port")" >>"$T/ka"
		echo "$r $path $(newconn "$port")" >>"$T/nc"
	done
done
median() { # file path column
	awk -v p="$2" -v c="$3" '$2 == p {print $c}' "$1" | sort -n |
	    awk -v n="$ROUNDS" '{v[NR] = $1} END {print v[int((n + 1) / 2)]}'
}
rounds() { awk -v p="$2" -v c="$3" '$2 == p {printf "%s%s", (n++ ? ", " : ""), $c}' "$1"; }
echo "| path | keep-alive req/s (median of $ROUNDS) | rounds | p99 ms | new conn/s (median) | rounds | p99 ms | failed |"
echo "|---|---|---|---|---|---|---|---|"
for path in direct haproxy relay; do
	echo "| $path | $(median "$T/ka" $path 3) | $(rounds "$T/ka" $path 3) | $(median "$T/ka" $path 4) |" \
	    "$(median "$T/nc" $path 3) | $(rounds "$T/nc" $path 3) | $(median "$T/nc" $path 4) |" \
	    "$(awk -v p=$path '$2 == p {f += $5} END {print f + 0}' "$T/nc") |"
done
ka=$(median "$T/ka" relay 3) kh=$(median "$T/ka" haproxy 3)
na=$(median "$T/nc" relay 3) nh=$(median "$T/nc" haproxy 3)
echo
echo "relay / haproxy: keep-alive $(awk -v a="$ka" -v b="$kh" 'BEGIN {printf "%.2f", a / b}') x" \
    "(goal >= 0.8), new connections $(awk -v a="$na" -v b="$nh" 'BEGIN {printf "%.2f", a / b}') x (goal >= 0.5)"
