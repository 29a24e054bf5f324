#!/bin/bash
# TCP forwarding over a peer path (listen --forward-tcp, connect
# --local-tcp) on loopback, side by side in one run: iperf3 directly,
# through one haproxy TCP hop (the peer), and through the punched path
# (ENet over UDP, sealed end to end); and a 64-byte ping-pong's p50/p99
# over each.  The paths take turns, ROUNDS times; medians.  (TCP
# punching, --tcp, is measured in the lab, not here: a simultaneous
# open between two sockets of one loopback does not reliably meet.)  Needs iperf3, haproxy and
# python3 (Debian packages).
# Run from the build directory after make; prints a Markdown table.
set -e
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; [ -n "$KEEP" ] || rm -rf "$T"' EXIT
base=$((20000 + $$ % 9000))
TRACKER=$base NAMED=$((base + 1)) N4=$((base + 2)) IPERF=$((base + 3))
ECHO=$((base + 4)) HAP=$((base + 5)) HAPE=$((base + 6))
LENET=$((base + 7)) EENET=$((base + 9))
cat >"$T/conf" <<CONF
[server]
pidfile = $T/pid
metrics_listen =
tls = no
[tracker]
listen = 127.0.0.1:$TRACKER
workers = 1
[rendezvous]
listen = 127.0.0.1:$N4
named_listen = 127.0.0.1:$NAMED
workers = 1
[relay]
workers = 0
CONF
server/natserver -d -c "$T/conf" >"$T/log" 2>&1 &
iperf3 -s -p "$IPERF" >/dev/null 2>&1 &
python3 -c '
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(16)
def one(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
while True:
    threading.Thread(target=one, args=(ls.accept()[0],), daemon=True).start()' "$ECHO" &
for p in "$IPERF:$HAP" "$ECHO:$HAPE"; do
	cat >"$T/hap-${p#*:}.cfg" <<CFG
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend f
    bind 127.0.0.1:${p#*:}
    default_backend b
backend b
    server s 127.0.0.1:${p%%:*}
CFG
	haproxy -q -f "$T/hap-${p#*:}.cfg" &
done
sleep 1
printf '[client]\ntls = no\n' >"$T/client.conf"
(umask 077 && echo "bench forward secret" >"$T/secret")
NC=(client/natclient -c "$T/client.conf" -s "127.0.0.1:$NAMED" --tracker "127.0.0.1:$TRACKER" --secret-file "$T/secret")
export XDG_CONFIG_HOME=$T/cfg
# One listener and one connector per service.
link() { # name service local
	"${NC[@]}" --keep-listening listen "$1" --forward-tcp "127.0.0.1:$2" </dev/null >/dev/null 2>"$T/l-$1.err" &
	for i in $(seq 100); do grep -q "listening as" "$T/l-$1.err" && break; sleep 0.1; done
	"${NC[@]}" --json connect "$1" --local-tcp "$3" </dev/null >"$T/c-$1.out" 2>"$T/c-$1.err" &
	for i in $(seq 200); do grep -q '"result"' "$T/c-$1.out" && break; sleep 0.1; done
	grep -q '"result":"direct"' "$T/c-$1.out" || { cat "$T/c-$1.out" "$T/c-$1.err"; exit 1; }
}
link ienet "$IPERF" "$LENET"
link eenet "$ECHO" "$EENET"
gbps() { # port: Gbit/s received
	iperf3 -c 127.0.0.1 -p "$1" -t "$SECS" -J | python3 -c '
import json, sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
pingpong() { # port: "p50 p99" in µs of 20,000 64-byte round trips
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
m, t = b"x" * 64, []
for i in range(20000):
    a = time.perf_counter()
    s.sendall(m)
    got = b""
    while len(got) < 64:
        got += s.recv(64 - len(got))
    t.append((time.perf_counter() - a) * 1e6)
t.sort()
print("%.0f %.0f" % (t[len(t) // 2], t[int(len(t) * 0.99)]))' "$1"
}
for r in $(seq "$ROUNDS"); do
	for path in direct haproxy forward; do
		case $path in
		direct) ip=$IPERF ep=$ECHO ;; haproxy) ip=$HAP ep=$HAPE ;;
		forward) ip=$LENET ep=$EENET ;;
		esac
		echo "$path $(gbps "$ip") $(pingpong "$ep")" >>"$T/results"
	done
done
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| path | iperf3 Gbit/s (median of $ROUNDS) | rounds | ping-pong p50 / p99 µs |"
echo "|---|---|---|---|"
for path in direct haproxy forward; do
	g=$(awk -v p=$path '$1 == p {print $2}' "$T/results" | med)
	all=$(awk -v p=$path '$1 == p {printf "%s%s", (n++ ? ", " : ""), $2}' "$T/results")
	p50=$(awk -v p=$path '$1 == p {print $3}' "$T/results" | med)
	p99=$(awk -v p=$path '$1 == p {print $4}' "$T/results" | med)
	echo "| $path | $g | $all | $p50 / $p99 |"
done
