#!/bin/bash
# Rendezvous capacity: 10,000 N4 clients waiting at once on one
# rendezvous worker, and the worker's memory before and with them.
# Each waiting client holds one N4 record, and N4 records may fill 15%
# of the table: 131072 records leave room for 19660.
# Run from the build directory after make.
set -e
N=${N:-10000}
T=$(mktemp -d)
trap 'kill $(cat "$T/pid" 2>/dev/null) 2>/dev/null; cat "$T/log"; rm -rf "$T"' EXIT
# Below the ephemeral range, which the clients use up.
port=$((20000 + $$ % 10000))
cat >"$T/conf" <<CONF
[server]
pidfile = $T/pid
metrics_listen = 127.0.0.1:$((port + 1))
state_records = 131072
[tracker]
workers = 0
[rendezvous]
listen = 127.0.0.1:$port
named_listen = 127.0.0.1:$((port + 2))
workers = 1
wait_timeout = 120
max_connections = 16384
[relay]
workers = 0
CONF
server/natserver -d -c "$T/conf" >"$T/log" 2>&1 &
sleep 1
worker=$(pgrep -P "$(cat "$T/pid")" -f "^natserver: rendezvous worker" | head -1)
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$worker/status"; }
# The worker's own memory, without the shared table's pages.
private() { awk '/^Private_(Clean|Dirty)/ { s += $2 } END { print s }' "/proc/$worker/smaps_rollup"; }
before=$(rss)
pbefore=$(private)
tests/bench/n4_hold "$port" "$N" 5 >"$T/hold" &
hold=$!
sleep 4
with=$(rss)
pwith=$(private)
exec 3<>"/dev/tcp/127.0.0.1/$((port + 1))"
printf 'GET / HTTP/1.0\r\n\r\n' >&3
records=$(timeout 2 cat <&3 | awk '$1 == "natkit_table_records{type=\"n4\"}" { print $2 }')
exec 3<&-
wait $hold || { cat "$T/hold"; exit 1; }
echo "| waiting N4 clients | still open | N4 table records | worker RSS before / with them | private memory before / with them | private per client |"
echo "|---|---|---|---|---|---|"
echo "| $N | $(sed 's/.*open=//' "$T/hold") | ${records:-?} | $before / $with kB | $pbefore / $pwith kB | $(( (pwith - pbefore) * 1024 / N )) B |"
