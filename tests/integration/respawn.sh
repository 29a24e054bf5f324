# A killed worker comes back at once; what was queued on the shared socket
# is still answered; a worker that keeps dying is respawned with back-off.
. "$TESTLIB"

TRACKER_WORKERS=1 start_server

# Let the worker live past the quick-death limit (2 s), so that its death
# is not counted as a crash loop.
sleep 2.2
old=$(workers tracker)
kill -KILL "$old"
# Sent while no tracker worker exists: it waits in the socket's queue.
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 5000 '//nat' >"$T/answer" &
probe=$!
new_worker() { [ -n "$(workers tracker)" ] && [ "$(workers tracker)" != "$old" ]; }
wait_for 10 new_worker || fail "no new tracker worker within a second"
new=$(workers tracker)
pass "worker $old killed, $new started within a second"
wait "$probe" || fail "the request sent during the respawn got no answer"
grep -Eq '^127\.0\.0\.1:[0-9]+$' "$T/answer" || fail "answer: $(cat "$T/answer")"
nat_ok || fail "no answer after the respawn"
grep -q "tracker worker 0 (pid $old) was killed by signal 9: respawning in 0 ms" \
    "$T/log" || fail "the master did not log the death"
pass "queued request answered, death logged"

# Killed again and again from outside (SIGKILL), young or not: back at
# once each time (it did not fail by itself).
for i in 1 2 3; do
	old=$(workers tracker)
	sleep 0.3
	kill -KILL "$old"
	wait_for 50 grep -q "(pid $old) was killed by signal 9: respawning in 0 ms" "$T/log" ||
	    fail "a young worker killed by SIGKILL was held back: $(tail -1 "$T/log")"
	wait_for 50 new_worker || fail "not respawned at once"
done
pass "a worker killed by SIGKILL three times in a row comes back at once each time"

# A crash loop (here SIGSEGV, as a crash would give): each quick death
# doubles the delay.
for delay in 250 500 1000; do
	old=$(workers tracker)
	kill -SEGV "$old"
	wait_for 50 grep -q "(pid $old) was killed by signal 11: respawning in $delay ms" "$T/log" ||
	    fail "no back-off of $delay ms"
	wait_for 50 new_worker || fail "not respawned after $delay ms"
done
pass "crash loop: back-off 250, 500, 1000 ms"
# The dead workers' counts are not lost: the requests answered so far.
before=$(metric 'natkit_requests_total{kind="tracker"}')
nat_ok >/dev/null
after=$(metric 'natkit_requests_total{kind="tracker"}')
[ "$before" -ge 3 ] && [ "$after" -gt "$before" ] ||
    fail "request counts $before then $after"
pass "counters kept across respawns ($before, $after)"
# Other kinds were not touched.
has_workers rendezvous 1 && has_workers relay 1 || fail "other workers died"

# A worker whose heartbeat stops (here: stopped by SIGSTOP) is killed after
# 10 s and replaced.
hung=$(workers relay)
kill -STOP "$hung"
wait_for 150 grep -q "relay worker .* (pid $hung) is not responding: killing it" "$T/log" ||
    fail "a hung worker was not noticed"
wait_gone "$hung" || fail "hung worker $hung still there"
wait_for 50 has_workers relay 1 || fail "no new relay worker"
pass "hung worker $hung killed and replaced"
