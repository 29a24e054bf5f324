# natserver -t: good and broken configs, and the file:line of an error.
. "$TESTLIB"

pick_ports
write_conf "$T/good.conf"
out=$("$NATSERVER" -t -c "$T/good.conf" 2>&1) || fail "-t on a good config: $out"
echo "$out" | grep -q "OK" || fail "-t said: $out"
pass "good config"

cp "$T/good.conf" "$T/bad.conf"
sed -i 's/^workers = 2$/workers = lots/' "$T/bad.conf"
line=$(grep -n "workers = lots" "$T/bad.conf" | cut -d: -f1)
out=$("$NATSERVER" -t -c "$T/bad.conf" 2>&1); rc=$?
[ $rc -ne 0 ] || fail "-t on a broken config exited 0"
echo "$out" | grep -q "$T/bad.conf:$line: tracker.workers: must be" ||
    fail "error does not name file, line and key: $out"
pass "broken value: $out"

printf '[tracker]\nlisten = 127.0.0.1:99999\n' >"$T/bad2.conf"
out=$("$NATSERVER" -t -c "$T/bad2.conf" 2>&1) && fail "bad port accepted"
echo "$out" | grep -q "bad2.conf:2: tracker.listen: bad port" ||
    fail "bad port: $out"
printf '[trackr]\nworkers = 1\n' >"$T/bad3.conf"
out=$("$NATSERVER" -t -c "$T/bad3.conf" 2>&1) && fail "bad section accepted"
echo "$out" | grep -q "bad3.conf:1: unknown section \[trackr\]" ||
    fail "bad section: $out"
printf '[tracker]\nworkers = 0\n[rendezvous]\nworkers = 0\n[relay]\nworkers = 0\n' \
    >"$T/bad4.conf"
out=$("$NATSERVER" -t -c "$T/bad4.conf" 2>&1) && fail "no workers accepted"
echo "$out" | grep -q "no workers" || fail "no workers: $out"
printf '[server]\nexternal_address = 198.51.100.1:3478\n' >"$T/bad5.conf"
out=$("$NATSERVER" -t -c "$T/bad5.conf" 2>&1) && fail "an address with a port accepted"
echo "$out" | grep -q "server.external_address: not an IP address" || fail "external: $out"
printf '[tracker]\nlisten = 127.0.0.1:3478\nalternate_address = 127.0.0.2:9\nalternate_port = 3479\n' >"$T/bad6.conf"
out=$("$NATSERVER" -t -c "$T/bad6.conf" 2>&1) && fail "alternate with a port accepted"
echo "$out" | grep -q "tracker.alternate_address is not an IP address" || fail "alternate: $out"
out=$("$NATSERVER" -t -c "$T/missing.conf" 2>&1) && fail "missing file accepted"
echo "$out" | grep -q "missing.conf: No such file" || fail "missing: $out"
pass "other broken configs"

# The shipped sample config is valid, and so is one with no file at all.
"$NATSERVER" -t -c "$SRCDIR/etc/natserver.conf" >/dev/null ||
    fail "etc/natserver.conf does not pass -t"
pass "sample config"

# -t checks what the file cannot show: the user and the log directory.
write_conf "$T/user.conf" "server.user = no-such-user-natkit"
out=$("$NATSERVER" -t -c "$T/user.conf" 2>&1) && fail "-t took a missing server.user"
grep -q "server.user: no user 'no-such-user-natkit'" <<<"$out" || fail "user: $out"
write_conf "$T/log.conf" "server.log_file = $T/no/such/dir/natserver.log"
out=$("$NATSERVER" -t -c "$T/log.conf" 2>&1) && fail "-t took a log_file it cannot write"
grep -q "server.log_file: cannot write in $T/no/such/dir" <<<"$out" || fail "log_file: $out"
pass "-t refuses a missing server.user and a log directory it cannot write in"

# Startup says what it serves, and that a relay without tokens lets no
# one in.
start_server
grep -q "tracker listens on udp:127.0.0.1:$TRACKER_PORT tcp:127.0.0.1:$TRACKER_PORT udp:\[::1\]:$TRACKER_PORT" "$T/log" ||
    fail "no tracker listening line: $(cat "$T/log")"
grep -q "relay listens on tcp:127.0.0.1:$RELAY_PORT" "$T/log" || fail "no relay listening line"
grep -q "no relay.token_file, so the relay refuses every client" "$T/log" ||
    fail "no warning about the missing tokens"
pass "startup lines: each role's addresses, and the relay's missing tokens"

# TURN's files and ranges: each mistake named.
printf 'alice:pw\n' >"$T/turnusers" && chmod 644 "$T/turnusers"
turn_bad() { # LINES... then the expected message
	local want=${*: -1} out
	printf '[turn]\n' >"$T/turn.conf"
	printf '%s\n' "${@:1:$#-1}" >>"$T/turn.conf"
	out=$("$NATSERVER" -t -c "$T/turn.conf" 2>&1) && fail "accepted: $*"
	echo "$out" | grep -qF "$want" || fail "turn config '$*': $out"
}
turn_bad "users_file = $T/turnusers" "readable by others (chmod 600 it)"
chmod 600 "$T/turnusers"
printf 'alice\n' >>"$T/turnusers"
turn_bad "users_file = $T/turnusers" "$T/turnusers:2: expected name:password or name:0xKEY"
turn_bad "allowed_peer = 10.0.0.0/33" "turn.allowed_peer: not an address or IP/BITS: '10.0.0.0/33'"
turn_bad "relay_address = 192.0.2.1 192.0.2.2" "one IPv4 and one IPv6 address at most"
turn_bad "realm = $(printf 'r%.0s' $(seq 60))" "turn.realm"
pass "TURN config mistakes named"
