#!/bin/sh
# Tracker benchmark, all on loopback, one after another in one run:
#  - STUN Binding answers/s from natserver's tracker (2 workers), coturn's
#    turnserver --stun-only (2 relay threads) and a recvmmsg/sendmmsg UDP
#    echo (2 processes) as the ceiling, under the same closed-loop load;
#  - natserver's //nat and group registration rates;
#  - instructions per STUN request in the tracker worker (callgrind),
#    which stays repeatable on a noisy machine.
# Run from the build directory after make.  Needs coturn and valgrind.
set -eu
B=tests/bench
SECS=${SECS:-5}
SOCKS=${SOCKS:-64}
DEPTH=${DEPTH:-8}
T=$(mktemp -d /tmp/natkit-bench.XXXXXX)
# Workers drop privileges; callgrind must be able to write here.
chmod 1777 "$T"
PORT=$((30000 + $$ % 20000))
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

conf() { # conf WORKERS: a tracker-only natserver on 127.0.0.1:$PORT
	cat >"$T/natserver.conf" <<CONF
[server]
pidfile = $T/natserver.pid
metrics_listen =
[tracker]
listen = 127.0.0.1:$PORT
workers = $1
register_burst = 1000000
register_per_minute = 1000000
max_group_members = 255
[rendezvous]
workers = 0
[relay]
workers = 0
CONF
}
ready() { # ready PORT: something answers STUN there
	i=0
	until $B/udp_load 127.0.0.1 "$1" 1 stun 1 1 1 | grep -q "answers=1 "; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "nothing on $1" >&2; exit 1; }
		sleep 0.2
	done
}
rate() { # rate KIND PORT: answers per second
	$B/udp_load 127.0.0.1 "$2" "$SECS" "$1" "$SOCKS" "$DEPTH" |
	    tr ' ' '\n' | awk -F= '$1 == "rate" { print $2 }'
}

conf 2
server/natserver -f -c "$T/natserver.conf" 2>"$T/natserver.log" &
pids="$pids $!"; ns=$!
ready $PORT
ns_stun=$(rate stun $PORT)
ns_nat=$(rate nat $PORT)
ns_reg=$(rate register $PORT)
kill $ns; wait $ns 2>/dev/null || true

turnserver -n --stun-only -L 127.0.0.1 -p $((PORT + 1)) -m 2 --no-cli \
    --no-tls --no-dtls --log-file stdout >"$T/coturn.log" 2>&1 &
pids="$pids $!"; ct=$!
ready $((PORT + 1))
ct_stun=$(rate stun $((PORT + 1)))
kill $ct; wait $ct 2>/dev/null || true

$B/udp_echo 127.0.0.1 $((PORT + 2)) 2 &
pids="$pids $!"; ec=$!
ready $((PORT + 2))
ec_stun=$(rate stun $((PORT + 2)))
kill $ec; wait $ec 2>/dev/null || true

# Instructions per request: the worker's total for N and for 2N requests;
# the difference is N requests' worth, start-up and shutdown cancel out.
irs() { # irs N: sent requests and the tracker worker's instruction count
	conf 1
	rm -f "$T"/cg.*
	valgrind --tool=callgrind --trace-children=yes \
	    --callgrind-out-file="$T/cg.%p" \
	    server/natserver -f -c "$T/natserver.conf" 2>"$T/vg.log" &
	vg=$!
	ready $PORT
	sent=$($B/udp_load 127.0.0.1 $PORT 60 stun 8 4 "$1" |
	    tr ' ' '\n' | awk -F= '$1 == "sent" { print $2 }')
	kill $vg; wait $vg 2>/dev/null || true
	sleep 1
	# The worker's file is the one with the most instructions.
	ir=$(grep -h "^summary:" "$T"/cg.* | awk '{ print $2 }' | sort -n | tail -n 1)
	echo "$sent $ir"
}
set -- $(irs 20000); s1=$1; i1=$2
set -- $(irs 40000); s2=$1; i2=$2
ipr=$(( (i2 - i1) / (s2 - s1) ))

printf '| server | STUN answers/s | vs coturn | vs echo |\n|---|---|---|---|\n'
awk -v n="$ns_stun" -v c="$ct_stun" -v e="$ec_stun" 'BEGIN {
	printf "| natserver tracker, 2 workers | %.0f | %.2f | %.2f |\n", n, n / c, n / e
	printf "| coturn turnserver --stun-only, 2 relay threads | %.0f | 1.00 | %.2f |\n", c, c / e
	printf "| recvmmsg/sendmmsg echo, 2 processes (ceiling) | %.0f | %.2f | 1.00 |\n", e, e / c
}'
printf '\n| natserver request | answers/s |\n|---|---|\n'
printf '| STUN Binding | %s |\n| //nat | %s |\n| group registration | %s |\n' \
    "$ns_stun" "$ns_nat" "$ns_reg"
printf '\nInstructions per STUN request in the tracker worker (callgrind): %s\n' "$ipr"
