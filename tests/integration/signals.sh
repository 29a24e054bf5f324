# SIGTERM stops everything and removes the pidfile; SIGUSR1 reopens the
# log file; workers leave when their master is gone; daemon mode works.
. "$TESTLIB"

start_server "server.log_file = $T/natserver.log"
all=$(pgrep -P "$MASTER")
[ -n "$all" ] || fail "no workers"

# Log rotation: the old file is moved away, SIGUSR1 opens a new one, and
# worker lines (which pass through the master) land in it too.
mv "$T/natserver.log" "$T/natserver.log.1"
kill -USR1 "$MASTER"
wait_for 50 grep -q "master: log file reopened" "$T/natserver.log" ||
    fail "no new log file after SIGUSR1"
victim=$(workers relay)
kill -KILL "$victim"
wait_for 50 grep -q "relay: serving" "$T/natserver.log" ||
    fail "the new relay worker's lines are not in the new log"
grep -q "relay worker .* (pid $victim) was killed" "$T/natserver.log" ||
    fail "master line missing"
pass "SIGUSR1 reopened the log file"

all=$(pgrep -P "$MASTER")
kill -TERM "$MASTER"
wait_gone "$MASTER" 100 || fail "master still runs after SIGTERM"
for p in $all; do
	dead "$p" || fail "worker $p outlived the master"
done
[ ! -e "$T/natserver.pid" ] || fail "pidfile left behind"
grep -q "master: stopped" "$T/natserver.log" || fail "stop not logged"
pass "SIGTERM: no process, no pidfile"

# A worker that does not finish (stopped, so it cannot act on SIGTERM) is
# killed when the grace period ends, on reload and on stop.
start_server server.shutdown_grace=1
hung=$(workers tracker | head -n 1)
kill -STOP "$hung"
kill -HUP "$MASTER"
wait_for 50 grep -q "tracker worker .* (pid $hung) did not finish within 1 s: killing it" "$T/log" ||
    fail "a hung worker outlived its grace period on reload"
wait_gone "$hung" || fail "hung worker $hung still there"
hung=$(workers relay)
kill -STOP "$hung"
kill -TERM "$MASTER"
wait_gone "$MASTER" 100 || fail "master did not stop with a hung worker"
grep -q "relay worker .* (pid $hung) did not finish within 1 s: killing it" "$T/log" ||
    fail "hung worker not killed on stop"
dead "$hung" || fail "hung worker $hung outlived the master"
pass "hung workers killed after the grace period"

# SIGINT stops it too.
start_server
kill -INT "$MASTER"
wait_gone "$MASTER" 100 || fail "master still runs after SIGINT"
pass "SIGINT"

# A master killed outright: its workers notice and exit.
start_server
all=$(pgrep -P "$MASTER")
kill -KILL "$MASTER"
for p in $all; do
	wait_gone "$p" 50 || { kill -KILL $all; fail "worker $p outlived a killed master"; }
done
pass "workers exit when the master dies"

# Daemon mode: natserver returns, the pidfile names the running master.
# The killed master's pidfile is still there: a new one takes it over.
stale=$(cat "$T/natserver.pid")
[ "$stale" = "$MASTER" ] || fail "no stale pidfile to take over"
pick_ports
write_conf "$T/natserver.conf" "server.log_file = $T/daemon.log"
"$NATSERVER" -c "$T/natserver.conf" || fail "natserver (daemon) failed"
new_pid() { [ -s "$T/natserver.pid" ] && [ "$(cat "$T/natserver.pid")" != "$stale" ]; }
wait_for 50 new_pid || fail "the pidfile was not taken over"
MASTER=$(cat "$T/natserver.pid")
STARTED+=("$MASTER")
ps -o args= -p "$MASTER" | grep -q "^natserver: master" || fail "no master"
wait_for 50 nat_ok || fail "daemon does not answer"
# A second one refuses to start while the first holds the pidfile.
out=$("$NATSERVER" -c "$T/natserver.conf" 2>&1) && fail "a second natserver started"
echo "$out" | grep -q "already running (pid $MASTER" || fail "message: $out"
kill -TERM "$MASTER"
wait_gone "$MASTER" 100 || fail "daemon did not stop"
[ ! -e "$T/natserver.pid" ] || fail "daemon left its pidfile"
pass "daemon mode"
