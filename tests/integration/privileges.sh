# Started as root, workers run unprivileged and the master stays root.
# A worker that cannot drop privileges exits with the "do not respawn"
# code; the master does not restart it, says why, and exits when no worker
# is left.
. "$TESTLIB"

[ "$(id -u)" -eq 0 ] || skip "needs root"

start_server
uid=$(ps -o uid= -p "$MASTER" | tr -d ' ')
[ "$uid" -eq 0 ] || fail "master runs as uid $uid"
want=$(id -u natserver 2>/dev/null || id -u nobody)
for p in $(pgrep -P "$MASTER"); do
	u=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$p/status")
	[ "$u" = "$want$want$want$want" ] || fail "worker $p has uids $u"
	g=$(awk '/^Groups:/ { print $2 }' "/proc/$p/status")
	[ "$g" != "0" ] || fail "worker $p kept group 0"
done
id natserver >/dev/null 2>&1 ||
    grep -q "user 'natserver' does not exist: workers run as nobody" "$T/log" ||
    fail "no warning about the missing user"
pass "workers run as uid $want, master as root"
kill -TERM "$MASTER"
wait_gone "$MASTER" 100

# Without CAP_SETUID and CAP_SETGID the workers cannot drop privileges.
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
pick_ports
write_conf "$T/natserver.conf"
setpriv --bounding-set=-setuid,-setgid "$NATSERVER" -d \
    -c "$T/natserver.conf" >"$T/log" 2>&1 &
MASTER=$!
STARTED+=("$MASTER")
wait_gone "$MASTER" 100 || fail "master still runs with no worker left"
wait "$MASTER"
rc=$?
[ $rc -eq 1 ] || fail "master exited $rc"
grep -q "cannot drop privileges" "$T/log" || fail "worker did not say why"
grep -q "exited with code 2, the code for a fatal error: not respawning it" \
    "$T/log" || fail "master did not say it will not respawn"
grep -q "respawning in" "$T/log" && fail "a fatal worker was respawned"
grep -q "no worker is left running: exiting" "$T/log" || fail "exit reason"
pass "fatal worker not respawned; master exits when none is left"
