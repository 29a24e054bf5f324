# SIGHUP re-reads the config and replaces the workers; a broken config,
# or one whose ports cannot be bound, is refused and the old one serves.
. "$TESTLIB"

TRACKER_WORKERS=2 start_server
old=$(workers tracker)
old_port=$TRACKER_PORT

# More workers, and the tracker on another port.
new_port=$((TRACKER_PORT + 4))
sed -i "s/^workers = 2\$/workers = 4/; s/:$TRACKER_PORT /:$new_port /; s/:$TRACKER_PORT\$/:$new_port/" \
    "$T/natserver.conf"
kill -HUP "$MASTER"
wait_for 100 has_workers tracker 4 || fail "$(count_workers tracker) tracker workers after SIGHUP, not 4"
for p in $old; do
	wait_gone "$p" || fail "old worker $p still runs"
done
nat_ok "$new_port" || fail "new port $new_port not answered"
nat_ok "$new_port" "[::1]" || fail "new port not answered on v6"
"$NATCLIENT" --timeout 1 -s "127.0.0.1:$old_port" nat >/dev/null 2>&1 &&
    fail "old port still answered"
grep -q "reloaded: 4 tracker" "$T/log" || fail "reload not logged"
pass "SIGHUP: 4 tracker workers on port $new_port"
TRACKER_PORT=$new_port

# A broken config: refused, named, and nothing changes.
before=$(workers tracker)
cp "$T/natserver.conf" "$T/good.conf"
printf '[relay]\nport_range = 5-1\n' >>"$T/natserver.conf"
line=$(wc -l <"$T/natserver.conf")
kill -HUP "$MASTER"
wait_for 50 grep -q "reload refused: $T/natserver.conf:$line: relay.port_range" "$T/log" ||
    fail "broken config not reported with file:line"
grep -q "still serving the old configuration" "$T/log" || fail "message"
[ "$(workers tracker)" = "$before" ] || fail "workers replaced anyway"
nat_ok || fail "not serving after a refused reload"
pass "SIGHUP with a broken config: refused, still serving"

# A port that is taken: refused as well, naming the address.
cp "$T/good.conf" "$T/natserver.conf"
sed -i "s/^listen = 127.0.0.1:$RELAY_PORT\$/listen = 127.0.0.1:$N4_PORT/" \
    "$T/natserver.conf"
kill -HUP "$MASTER"
wait_for 50 grep -q "reload refused: cannot listen on tcp 127.0.0.1:$N4_PORT (relay): Address already in use" "$T/log" ||
    fail "taken port not reported"
[ "$(workers tracker)" = "$before" ] || fail "workers replaced anyway"
nat_ok || fail "not serving after a refused reload"
pass "SIGHUP with a taken port: refused, still serving"
