#!/bin/bash
# TURN benchmark on loopback, natserver and coturn side by side in one run:
#  - relayed throughput, closed loop (tests/bench/turn_load): SESSIONS
#    allocations with a channel each to an echo peer keep DEPTH messages
#    of SIZE bytes in flight for SECS seconds, taking turns for ROUNDS
#    rounds: relayed datagrams per second (two per message) and loss;
#  - the same through turnutils_uclient: P processes at once, each with
#    CLIENTS sessions sending MSGS messages of SIZE bytes over channels to
#    turnutils_peer and back, through natserver's TURN (2 tracker workers)
#    and coturn's turnserver (-m 2, the same user), taking turns for
#    ROUNDS rounds: relayed datagrams per second (each message is relayed
#    twice, there and back) and the loss uclient reports;
#  - memory per idle allocation: private memory (smaps_rollup) of the
#    server's processes before and with N allocations held idle.
# Run from the build directory after make; needs coturn and python3.
# Prints Markdown rows.
set -eu
ROUNDS=${ROUNDS:-5}
P=${P:-4}
CLIENTS=${CLIENTS:-10}
MSGS=${MSGS:-1000}
SIZE=${SIZE:-100}
N=${N:-10000}
SECS=${SECS:-5}
SESSIONS=${SESSIONS:-32}
DEPTH=${DEPTH:-8}
ulimit -n $((N + 2000))
T=$(mktemp -d /tmp/natkit-turn.XXXXXX)
chmod 755 "$T"
base=$((30000 + $$ % 20000))
NS=$base CT=$((base + 1)) PEER=$((base + 2)) ECHO=$((base + 3))
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

(umask 077 && echo "bench:bench-pw" >"$T/users")
cat >"$T/natserver.conf" <<CONF
[server]
pidfile = $T/natserver.pid
metrics_listen =
tls = no
tls_dir = $T
[tracker]
listen = 127.0.0.1:$NS
workers = 2
[rendezvous]
workers = 0
[relay]
workers = 0
[turn]
realm = bench
users_file = $T/users
allowed_peer = 127.0.0.1
relay_port_range = 10000-39999
max_allocations = $((N + 1000))
user_quota = $((N + 1000))
allocate_burst = $((N + 1000))
max_bps = 0
CONF
server/natserver -f -c "$T/natserver.conf" 2>"$T/natserver.log" &
pids="$pids $!"
turnserver -n -L 127.0.0.1 -p "$CT" -m 2 --relay-ip 127.0.0.1 \
    --min-port 40000 --max-port 65535 --lt-cred-mech --user bench:bench-pw \
    --realm bench --allow-loopback-peers --user-quota 0 --total-quota 0 \
    --no-cli --no-tls --no-dtls --log-file stdout >"$T/coturn.log" 2>&1 &
pids="$pids $!"; coturn=$!
turnutils_peer -L 127.0.0.1 -p "$PEER" >/dev/null 2>&1 &
pids="$pids $!"
tests/bench/udp_echo 127.0.0.1 "$ECHO" 1 >/dev/null 2>&1 &
pids="$pids $!"
sleep 2

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

load() { # load PORT: "relayed-per-second lost sent"
	tests/bench/turn_load 127.0.0.1 "$1" bench bench-pw "$ECHO" "$SECS" \
	    "$SESSIONS" "$DEPTH" "$SIZE" | tr ' ' '\n' |
	    awk -F= '{ v[$1] = $2 } END { print 2 * v["rate"], v["lost"], v["sent"] }'
}
: >"$T/ns.load"; : >"$T/ct.load"
for r in $(seq "$ROUNDS"); do
	load "$NS" >>"$T/ns.load"
	load "$CT" >>"$T/ct.load"
	echo "closed loop round $r: natserver $(tail -1 "$T/ns.load"), coturn $(tail -1 "$T/ct.load") (relayed/s lost sent)" >&2
done
echo "| relayed datagrams/s, closed loop, $SESSIONS allocations × $DEPTH in flight, $SIZE B | $(cut -d' ' -f1 "$T/ns.load" | median) | $(cut -d' ' -f1 "$T/ct.load" | median) |"
echo "| messages lost, closed loop (median of rounds) | $(cut -d' ' -f2 "$T/ns.load" | median) | $(cut -d' ' -f2 "$T/ct.load" | median) |"

run() { # run PORT: "relayed-per-second loss-percent"
	local s e i sent=0 recv=0 lost
	s=$(date +%s.%N)
	for i in $(seq "$P"); do
		turnutils_uclient -p "$1" -u bench -w bench-pw -e 127.0.0.1 \
		    -r "$PEER" -n "$MSGS" -m "$CLIENTS" -l "$SIZE" -c -z 0 \
		    127.0.0.1 >"$T/uc.$i" 2>&1 &
	done
	wait $(jobs -p | grep -v -x -e ${pids// / -e } 2>/dev/null) 2>/dev/null || true
	e=$(date +%s.%N)
	for i in $(seq "$P"); do
		sent=$((sent + $(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\1/p' "$T/uc.$i" | tail -1)))
		recv=$((recv + $(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\2/p' "$T/uc.$i" | tail -1)))
	done
	lost=$(awk -v s="$sent" -v r="$recv" 'BEGIN { printf "%.2f", s ? 100 * (s - r) / s : 100 }')
	awk -v s="$sent" -v r="$recv" -v t="$(echo "$e - $s" | bc)" -v l="$lost" \
	    'BEGIN { printf "%d %s\n", (s + r) / t, l }'
}

: >"$T/ns.rate"; : >"$T/ct.rate"; : >"$T/ns.loss"; : >"$T/ct.loss"
for r in $(seq "$ROUNDS"); do
	read -r rate loss <<<"$(run "$NS")"; echo "$rate" >>"$T/ns.rate"; echo "$loss" >>"$T/ns.loss"
	read -r rate loss <<<"$(run "$CT")"; echo "$rate" >>"$T/ct.rate"; echo "$loss" >>"$T/ct.loss"
	echo "round $r: natserver $(tail -1 "$T/ns.rate")/s $(tail -1 "$T/ns.loss")% lost," \
	    "coturn $(tail -1 "$T/ct.rate")/s $(tail -1 "$T/ct.loss")% lost" >&2
done
echo "| relayed datagrams/s, turnutils_uclient, $P × $CLIENTS sessions, $SIZE B | $(median <"$T/ns.rate") | $(median <"$T/ct.rate") |"
echo "| loss, turnutils_uclient (median of rounds, %) | $(median <"$T/ns.loss") | $(median <"$T/ct.loss") |"

# Memory per idle allocation: the tracker workers, coturn's process.
private() { # private PID...: their private memory, KiB
	local p s=0
	for p in "$@"; do
		s=$((s + $(awk '/^Private_(Clean|Dirty)/ { s += $2 } END { print s }' "/proc/$p/smaps_rollup")))
	done
	echo $s
}
hold() { # hold PORT PIDS...: KiB per allocation with N held
	local port=$1 before after
	shift
	before=$(private "$@")
	mkfifo "$T/go.$port"
	python3 tests/bench/turn_hold.py 127.0.0.1 "$port" bench bench-pw "$N" \
	    <"$T/go.$port" 2>"$T/hold.$port" &
	exec 7>"$T/go.$port"
	for i in $(seq 1200); do grep -q ready "$T/hold.$port" && break; sleep 0.1; done
	held=$(sed -n 's/^ready \([0-9]*\) .*/\1/p' "$T/hold.$port")
	[ "${held:-0}" -ge $((N * 9 / 10)) ] || { echo "hold: $(cat "$T/hold.$port")" >&2; exit 1; }
	echo "hold $port: $(cat "$T/hold.$port")" >&2
	after=$(private "$@")
	exec 7>&-
	wait $! 2>/dev/null || true
	rm -f "$T/go.$port"
	awk -v b="$before" -v a="$after" -v n="$held" 'BEGIN { printf "%.2f", (a - b) / n }'
}
workers=$(pgrep -f "^natserver: tracker worker" | while read -r p; do
	[ "$(cat /proc/$p/status | awk '/PPid/ {print $2}')" = "$(cat "$T/natserver.pid")" ] && echo "$p"; done)
ns_kb=$(hold "$NS" $workers)
ct_kb=$(hold "$CT" "$coturn")
echo "| private memory per idle allocation, $N held (KiB) | $ns_kb | $ct_kb |"
