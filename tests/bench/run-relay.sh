#!/bin/bash
# Relay throughput, latency and memory, side by side in one run, on
# loopback: iperf3 directly, through natserver's relay (natclient expose
# on the other side), through haproxy (TCP mode, splice; as it comes, and
# with 1 MiB pipes as the relay's busy streams get), through two such
# haproxies in a row (the relay's two hops) and through socat.  The
# paths take turns, ROUNDS times.  TLS between natclient and the relay
# as deployed (TLS=no: plaintext); BIDIR=yes: iperf3 --bidir, both
# directions at once, their sum; MUX=yes: natclient --mux (the visitors
# over one data connection).  Needs iperf3, haproxy, socat and
# python3 (Debian packages).
# Run from the build directory after make; prints Markdown tables.
set -e
. tests/bench/lib.sh
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-5}
TLS=${TLS:-yes}
BIDIR=${BIDIR:-no}
MUX=${MUX:-no}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; rm -rf "$T"' EXIT
base=$((20000 + $$ % 9000))
ECHO=$base IPERF=$((base + 1)) RELAY=$((base + 2)) HAP=$((base + 3))
SOCAT=$((base + 4)) HAPE=$((base + 5)) SOCE=$((base + 6)) HAPB=$((base + 8)) HAP2=$((base + 9))
(umask 077 && echo "bench-relay-token-0123456789" >"$T/token")
bench_relay_conf "$T/conf" "$T/pid" "127.0.0.1:$((base + 7))" "$TLS" "$RELAY" \
    "port_range = 61100-61199" "max_conns_per_port = 2000"
server/natserver -d -c "$T/conf" >"$T/log" 2>&1 &
python3 tests/integration/relaypeer.py echo "$ECHO" &
iperf3 -s -p "$IPERF" >/dev/null 2>&1 &
sleep 1
# In this shell, not in $(...), so that the EXIT trap stops them.
expose() { # local-port name
	printf '[client]\ntls = %s\n' "$TLS" >"$T/client.conf"
	XDG_CONFIG_HOME=$T/cfg client/natclient -c "$T/client.conf" \
	    -s "127.0.0.1:$RELAY" --token-file "$T/token" \
	    --name "$2" $(bench_mux) expose tcp "$1" >"$T/$2" 2>/dev/null &
}
public() { # name: the public port
	for i in $(seq 100); do grep -q : "$T/$1" 2>/dev/null && break; sleep 0.1; done
	sed 's/.*://' "$T/$1"
}
expose "$IPERF" iperf
expose "$ECHO" echo
R_IPERF=$(public iperf)
R_ECHO=$(public echo)
bench_mux_wait
cat >"$T/haproxy.cfg" <<CFG
global
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 1h
	timeout server 1h
	option splice-auto
listen iperf
	bind 127.0.0.1:$HAP
	server s 127.0.0.1:$IPERF
listen echo
	bind 127.0.0.1:$HAPE
	server s 127.0.0.1:$ECHO
CFG
haproxy -f "$T/haproxy.cfg" >/dev/null 2>&1 &
# The same with 1 MiB pipes, as the relay's busy streams get.
sed -e "s/^global/global\n\ttune.pipesize 1048576/" -e "s/127.0.0.1:$HAP\$/127.0.0.1:$HAPB/" \
    -e '/^listen echo/,$d' "$T/haproxy.cfg" >"$T/haproxy-big.cfg"
haproxy -f "$T/haproxy-big.cfg" >/dev/null 2>&1 &
# The relay's own topology, two hops, built from two such haproxies.
sed -e "s/127.0.0.1:$HAPB\$/127.0.0.1:$HAP2/" -e "s/127.0.0.1:$IPERF\$/127.0.0.1:$HAPB/" \
    "$T/haproxy-big.cfg" >"$T/haproxy-two.cfg"
haproxy -f "$T/haproxy-two.cfg" >/dev/null 2>&1 &
socat TCP-LISTEN:"$SOCAT",bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:"$IPERF" &
socat TCP-LISTEN:"$SOCE",bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:"$ECHO" &
sleep 1
bidir=
[ "$BIDIR" = yes ] && bidir=--bidir
gbps() { # port: one iperf3 stream, the receiver's Gbit/s (both ways: the sum)
	local try out
	# Again when the iperf3 server is still busy with the last test.
	for try in 1 2 3; do
		sleep 1
		out=$(iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" $bidir -J 2>/dev/null |
		    python3 -c 'import json,sys; e = json.load(sys.stdin)["end"]; print("%.2f" % ((e["sum_received"]["bits_per_second"] + e.get("sum_received_bidir_reverse", {}).get("bits_per_second", 0)) / 1e9))' 2>/dev/null) &&
		    { echo "$out"; return 0; }
	done
	echo "iperf3 through port $1 failed" >&2
	return 1
}
median() { tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# The paths take turns, $ROUNDS times, so that the machine's mood
# reaches all of them alike.
PATHS="direct:$IPERF relay:$R_IPERF haproxy:$HAP haproxy1m:$HAPB haproxy2:$HAP2 socat:$SOCAT"
declare -A all
echo "| round | direct Gbit/s | relay | haproxy | haproxy, 1 MiB pipes | two haproxies, 1 MiB pipes | socat | relay ÷ direct | relay ÷ haproxy |"
echo "|---|---|---|---|---|---|---|---|---|"
row() { # label, the name of an array of Gbit/s by path
	local -n f=$2
	printf '| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n' "$1" "${f[direct]}" \
	    "${f[relay]}" "${f[haproxy]}" "${f[haproxy1m]}" "${f[haproxy2]}" "${f[socat]}" \
	    "$(echo "${f[relay]} / ${f[direct]}" | bc -l)" \
	    "$(echo "${f[relay]} / ${f[haproxy]}" | bc -l)"
}
declare -A g med
for r in $(seq "$ROUNDS"); do
	for p in $PATHS; do
		g[${p%%:*}]=$(gbps "${p##*:}")
		all[${p%%:*}]="${all[${p%%:*}]:-} ${g[${p%%:*}]}"
	done
	row "$r" g
done
for p in $PATHS; do med[${p%%:*}]=$(echo ${all[${p%%:*}]} | median); done
row median med
echo
echo "| path | 64-byte ping-pong p50 | p99 |"
echo "|---|---|---|"
for row in "direct:$ECHO" "natserver relay:$R_ECHO" "haproxy:$HAPE" "socat:$SOCE"; do
	read -r p50 p99 <<<"$(python3 tests/bench/relay_ping.py "${row##*:}" 20000 |
	    sed 's/p50_us=\([0-9]*\) p99_us=\([0-9]*\)/\1 \2/')"
	echo "| ${row%:*} | $p50 µs | $p99 µs |"
done
worker=$(pgrep -P "$(cat "$T/pid")" -f "^natserver: relay worker" | head -1)
private() { awk '/^Private_(Clean|Dirty)/ { s += $2 } END { print s }' "/proc/$worker/smaps_rollup"; }
before=$(private)
python3 tests/bench/relay_idle.py "$R_ECHO" 1000 8 >"$T/idle" &
for i in $(seq 100); do grep -q open= "$T/idle" 2>/dev/null && break; sleep 0.1; done
sleep 1
with=$(private)
echo
echo "| idle relayed connections | relay worker private memory before / with them | per connection |"
echo "|---|---|---|"
echo "| $(sed 's/open=//' "$T/idle") | $before / $with kB | $(( (with - before) * 1024 / 1000 )) B |"
