# The master runs the configured workers, with titles, and raises the
# open-files limit to what the connection limits need.
. "$TESTLIB"

# Ask for more relayed connections than the current limit allows: lower
# it first, so there is room below the hard limit to raise it again.
ulimit -Sn 1024
conns=2000
need=$((conns * 2))
TRACKER_WORKERS=3 RENDEZVOUS_WORKERS=2 RELAY_WORKERS=1 \
    start_server relay.max_connections=$conns

ps -o args= -p "$MASTER" | grep -q "^natserver: master" ||
    fail "master title: $(ps -o args= -p "$MASTER")"
has_workers tracker 3 || fail "$(count_workers tracker) tracker workers, not 3"
has_workers rendezvous 2 || fail "$(count_workers rendezvous) rendezvous workers"
has_workers relay 1 || fail "$(count_workers relay) relay workers, not 1"
pass "master, 3 tracker, 2 rendezvous, 1 relay workers"
[ "$(metric 'natkit_workers{kind="tracker"}')" = 3 ] &&
    [ "$(metric 'natkit_workers{kind="rendezvous"}')" = 2 ] ||
    fail "metrics: workers"
[ -n "$(metric natkit_table_slots)" ] || fail "metrics: table"
pass "metrics page"

# Relayed connections need two descriptors each.
w=$(workers relay)
soft=$(awk '/Max open files/ { print $4 }' "/proc/$w/limits")
hard=$(awk '/Max open files/ { print $5 }' "/proc/$w/limits")
if [ "$(id -u)" -eq 0 ] || [ "$hard" -ge "$need" ]; then
	[ "$soft" -ge "$need" ] || fail "relay worker may open only $soft files, needs $need"
	pass "open files limit raised from 1024 to $soft"
else
	grep -q "open files limited to" "$T/log" ||
	    fail "low hard limit $hard not reported"
	pass "open files limit capped at the hard limit $hard, and logged"
fi

# The pidfile names the master.
[ "$(cat "$T/natserver.pid")" = "$MASTER" ] || fail "pidfile"
pass "pidfile"

# The rendezvous and relay workers hold their sockets: a connection is
# accepted (and, until their protocols land, closed at once).
for port in "$N4_PORT" "$NAMED_PORT" "$RELAY_PORT"; do
	exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "no listener on $port"
	exec 3<&-
done
has_workers rendezvous 2 && has_workers relay 1 || fail "a worker died"
pass "rendezvous and relay sockets open"
