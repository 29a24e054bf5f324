#!/bin/sh
# Chaos benchmark (issue 12): STUN, group registrations, named sessions
# and relayed streams at once (tests/bench/chaos.py) against natserver
# with two workers of each kind, while one worker of each kind is killed
# with SIGKILL every second for SECS (30) seconds.  Loopback only.
# Reports what chaos.py counted, what udp_load (heavy closed-loop STUN
# load beside it) counted, and how many workers were killed.
# Run from the build directory after make.
set -eu
B=tests/bench
SECS=${SECS:-30}
T=$(mktemp -d /tmp/natkit-chaos.XXXXXX)
chmod 711 "$T"
BASE=$((30000 + $$ % 20000))
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 1; rm -rf "$T"; }
trap cleanup EXIT
echo "chaos-bench-token-0123456789" >"$T/token"
chmod 600 "$T/token"
cat >"$T/natserver.conf" <<CONF
[server]
pidfile = $T/natserver.pid
metrics_listen =
[tracker]
listen = 127.0.0.1:$BASE
workers = 2
# All the load comes from 127.0.0.1: per-source limits would measure
# themselves, not the kills.
register_burst = 1000000
register_per_minute = 1000000
[rendezvous]
listen = 127.0.0.1:$((BASE + 1))
named_listen = 127.0.0.1:$((BASE + 2))
workers = 2
name_ttl = 30
register_burst = 1000000
register_per_minute = 1000000
[relay]
listen = 127.0.0.1:$((BASE + 3))
workers = 2
token_file = $T/token
port_range = $((BASE + 10))-$((BASE + 19))
CONF
server/natserver -d -c "$T/natserver.conf" >"$T/log" 2>&1 &
pids="$pids $!"
sleep 1
python3 tests/integration/relaypeer.py echo $((BASE + 5)) &
pids="$pids $!"
client/natclient -s 127.0.0.1:$((BASE + 3)) --token-file "$T/token" \
    expose tcp $((BASE + 5)) --remote-port $((BASE + 10)) >"$T/expose" 2>&1 &
pids="$pids $!"
sleep 2
python3 $B/chaos.py "$SECS" "$BASE" $((BASE + 2)) $((BASE + 10)) >"$T/result" &
load=$!
# Heavy STUN load beside it, closed-loop (a request lost is sent again
# after 200 ms of silence and counted as resent).
$B/udp_load 127.0.0.1 "$BASE" "$SECS" stun 8 2 >"$T/udp_load" &
heavy=$!
kills=0
i=0
while [ "$i" -lt "$SECS" ]; do
	sleep 1
	for kind in tracker rendezvous relay; do
		p=$(pgrep -f "^natserver: $kind worker" | shuf -n 1 || true)
		[ -n "$p" ] && kill -KILL "$p" && kills=$((kills + 1))
	done
	i=$((i + 1))
done
wait "$load" "$heavy"
echo "seconds=$SECS workers_killed=$kills $(cat "$T/result")"
echo "udp_load: $(cat "$T/udp_load")"
echo "expose reconnects: $(grep -c reconnect "$T/expose" || true)"
