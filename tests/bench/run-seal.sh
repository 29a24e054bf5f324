#!/bin/bash
# What security costs, side by side in one run (after make):
#   - relay throughput with TLS and without: iperf3 through natclient
#     expose and natserver's relay, two servers (server.tls yes and no),
#     in turns, ROUNDS times, on loopback;
#   - as root, stream throughput over a punched path sealed and unsealed
#     and the handshake against the round trip (tests/bench/seal.sh, in
#     the NAT lab), with a benchmark-only natclient built here with
#     NATKIT_BENCH_PLAINTEXT.
# Needs iperf3, python3, bc (Debian packages).  Prints Markdown.
set -e
. tests/bench/lib.sh
cd "$(dirname "$0")/../.."
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-5}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; for p in "$T"/pid*; do kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$T"' EXIT
export XDG_CONFIG_HOME=$T/config
base=$((20000 + $$ % 9000))
IPERF=$base
(umask 077 && echo "bench-seal-token-0123456789" >"$T/token")
server() { # name tls relay-port port-range
	bench_relay_conf "$T/$1.conf" "$T/pid$1" "" "$2" "$3" "port_range = $4"
	server/natserver -d -c "$T/$1.conf" >"$T/$1.log" 2>&1 &
}
server tls yes $((base + 1)) 61100-61149
server plain no $((base + 2)) 61150-61199
iperf3 -s -p "$IPERF" >/dev/null 2>&1 &
sleep 1
expose() { # name relay-port [natclient options]: the public port
	local name=$1 port=$2
	shift 2
	client/natclient -s "127.0.0.1:$port" --token-file "$T/token" "$@" \
	    expose tcp "$IPERF" >"$T/$name.out" 2>"$T/$name.err" &
	for _ in $(seq 1 100); do
		grep -q "^127.0.0.1:" "$T/$name.out" && break
		sleep 0.1
	done
	sed -n 's/^127\.0\.0\.1://p' "$T/$name.out"
}
PT=$(expose tls $((base + 1)))
PP=$(expose plain $((base + 2)) --no-tls)
[ -n "$PT" ] && [ -n "$PP" ] || { cat "$T"/*.err; exit 1; }
gbit() { # port: Gbit/s of one iperf3 run through it
	iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -J |
	    python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for i in $(seq 1 "$ROUNDS"); do
	gbit "$PT" >>"$T/r.tls"
	gbit "$PP" >>"$T/r.plain"
done
t=$(median <"$T/r.tls") p=$(median <"$T/r.plain")
echo "| relay (iperf3 through expose, loopback) | with TLS, Gbit/s | without, Gbit/s | with / without |"
echo "|---|---|---|---|"
echo "| median of $ROUNDS, ${SECS} s each | $t | $p | $(echo "scale=2; $t / $p" | bc) |"
echo
echo "rounds, TLS: $(tr '\n' ' ' <"$T/r.tls"); plain: $(tr '\n' ' ' <"$T/r.plain")"
echo
[ "$(id -u)" = 0 ] || { echo "(the lab part needs root)"; exit 0; }
# The benchmark-only natclient: this build's objects, secure.c again
# with NATKIT_BENCH_PLAINTEXT.
mkdir -p "$T/plainbuild"
gcc -O2 -DHAVE_CONFIG_H -DNATKIT_BENCH_PLAINTEXT -I. -Icommon -Iclient \
    $(pkg-config --cflags libsodium libenet) -c client/secure.c -o "$T/plainbuild/secure.o"
gcc -o "$T/plainbuild/natclient" $(ls client/natclient-*.o | grep -v secure) \
    "$T/plainbuild/secure.o" common/libnatkit.a \
    $(pkg-config --libs jansson libenet libsodium libssl libcrypto zlib) -lpthread
export NATSERVER="$PWD/server/natserver" NATCLIENT="$PWD/client/natclient"
export PROBE="$PWD/tests/integration/udp_probe" SRCDIR="$PWD"
export TESTLIB="$PWD/tests/integration/lib.sh" LABLIB="$PWD/tests/natlab/lab.sh"
PLAIN_NATCLIENT="$T/plainbuild/natclient" ROUNDS=$ROUNDS bash tests/bench/seal.sh | grep -v "^ok:"
