# A port that is already taken: a clear error naming the address.
. "$TESTLIB"

start_server
first=$MASTER
keep_tracker=$TRACKER_PORT

# Same tracker port, everything else elsewhere, another pidfile.
pick_ports
write_conf "$T/second.conf"
sed -i "s/:$TRACKER_PORT/:$keep_tracker/g; s|$T/natserver.pid|$T/second.pid|" \
    "$T/second.conf"
out=$("$NATSERVER" -f -c "$T/second.conf" 2>&1); rc=$?
[ $rc -eq 1 ] || fail "second natserver exited $rc"
echo "$out" | grep -q "cannot listen on udp 127.0.0.1:$keep_tracker (tracker): Address already in use" ||
    fail "message: $out"
[ ! -e "$T/second.pid" ] || fail "the failed server left a pidfile"
alive "$first" || fail "the first server died"
pass "$out"
