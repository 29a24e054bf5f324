# natclient's tracker commands as a user runs them: register follows the
# group as members come and go; the server comes from natclient.conf;
# --interface binds to a device.
. "$TESTLIB"

G=natkit-client-group
start_server tracker.member_ttl=2

# The server named in the config file, not on the command line.
printf '[client]\nserver = 127.0.0.1:%s\ntimeout = 3\n' "$TRACKER_PORT" >"$T/client.conf"
out=$("$NATCLIENT" -c "$T/client.conf" nat) || fail "server from natclient.conf"
echo "$out" | grep -Eq '^127\.0\.0\.1:[0-9]+$' || fail "nat: $out"
pass "server from natclient.conf"

# --interface: lo reaches loopback; a device that does not exist is named.
"$NATCLIENT" -c "$T/client.conf" --interface lo nat >/dev/null || fail "--interface lo"
out=$("$NATCLIENT" -c "$T/client.conf" --interface nosuchdev0 nat 2>&1) &&
    fail "a missing device accepted"
echo "$out" | grep -q "interface nosuchdev0: No such device" || fail "$out"
pass "--interface"

# register, refreshed every second, reports a member that joins and,
# when it stops registering, leaves (member_ttl 2 s).
"$NATCLIENT" -c "$T/client.conf" --interval 1 --public 198.51.100.1:1 \
    register "$G" >"$T/follow" 2>&1 &
follower=$!
STARTED+=("$follower")
wait_for 50 grep -q "^registered as 198.51.100.1:1" "$T/follow" ||
    fail "register: $(cat "$T/follow")"
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/$G/198.51.100.2:2/0" >/dev/null
wait_for 50 grep -q "^+ 198.51.100.2:2" "$T/follow" || fail "no join: $(cat "$T/follow")"
wait_for 80 grep -q "^- 198.51.100.2:2" "$T/follow" || fail "no leave: $(cat "$T/follow")"
kill "$follower"
pass "register follows joins and leaves"

# The same with --json: one object per event.
"$NATCLIENT" -c "$T/client.conf" --json --interval 1 --public 198.51.100.3:3 \
    register "$G" >"$T/follow.json" 2>&1 &
follower=$!
STARTED+=("$follower")
wait_for 50 grep -q '"event":"registered"' "$T/follow.json" || fail "json: $(cat "$T/follow.json")"
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/$G/198.51.100.4:4/0" >/dev/null
wait_for 50 grep -q '{"event":"join","member":"198.51.100.4:4' "$T/follow.json" ||
    fail "json join: $(cat "$T/follow.json")"
kill "$follower"
pass "register --json"

# A lost answer does not end a long-running register: it tries again.
kill -TERM "$MASTER"
wait_gone "$MASTER" 100
"$NATCLIENT" -c "$T/client.conf" --timeout 1 --interval 1 register "$G" >"$T/lost" 2>&1 &
follower=$!
STARTED+=("$follower")
wait_for 50 grep -q "no answer from 127.0.0.1:$TRACKER_PORT: Connection refused; trying again" "$T/lost" ||
    fail "no retry message: $(cat "$T/lost")"
alive "$follower" || fail "register gave up"
kill "$follower"
pass "register keeps trying when answers are lost"
