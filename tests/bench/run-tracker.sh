#!/bin/sh
# Tracker benchmark, all on loopback, one after another in one run:
#  - STUN Binding answers/s from natserver's tracker (2 workers), coturn's
#    turnserver --stun-only (2 relay threads) and a recvmmsg/sendmmsg UDP
#    echo (2 processes) as the ceiling, under the same closed-loop load,
#    taking turns for ROUNDS rounds;
#  - natserver's //nat and group registration rates;
#  - instructions per STUN request in the tracker worker (callgrind),
#    which stays repeatable on a noisy machine.
# Run from the build directory after make.  Needs coturn and valgrind.
set -eu
B=tests/bench
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-5}
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
turnserver -n --stun-only -L 127.0.0.1 -p $((PORT + 1)) -m 2 --no-cli \
    --no-tls --no-dtls --log-file stdout >"$T/coturn.log" 2>&1 &
pids="$pids $!"; ct=$!
ready $((PORT + 1))
$B/udp_echo 127.0.0.1 $((PORT + 2)) 2 &
pids="$pids $!"; ec=$!
ready $((PORT + 2))

# The three take turns, $ROUNDS times (an idle one costs nothing), so
# that the machine's mood reaches all of them alike; medians at the end.
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
all_ns="" all_ct="" all_ec=""
printf '| round | natserver STUN/s | coturn STUN/s | echo/s (ceiling) | natserver ÷ coturn | natserver ÷ echo | echo ÷ coturn |\n|---|---|---|---|---|---|---|\n'
row() { # label natserver coturn echo
	awk -v r="$1" -v n="$2" -v c="$3" -v e="$4" 'BEGIN {
		printf "| %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f |\n", r, n, c, e, n / c, n / e, e / c }'
}
for r in $(seq "$ROUNDS"); do
	n=$(rate stun $PORT)
	c=$(rate stun $((PORT + 1)))
	e=$(rate stun $((PORT + 2)))
	all_ns="$all_ns $n" all_ct="$all_ct $c" all_ec="$all_ec $e"
	row "$r" "$n" "$c" "$e"
done
ns_stun=$(echo $all_ns | median)
row median "$ns_stun" "$(echo $all_ct | median)" "$(echo $all_ec | median)"
ns_nat=$(rate nat $PORT)
ns_reg=$(rate register $PORT)
kill $ns $ct $ec; wait $ns $ct $ec 2>/dev/null || true

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

printf '\n| natserver request | answers/s |\n|---|---|\n'
printf '| STUN Binding | %s |\n| //nat | %s |\n| group registration | %s |\n' \
    "$ns_stun" "$ns_nat" "$ns_reg"
printf '\nInstructions per STUN request in the tracker worker (callgrind): %s\n' "$ipr"
