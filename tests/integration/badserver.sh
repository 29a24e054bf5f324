# natclient against a server that answers garbage: a clear error, exit 1,
# nothing unprintable on the terminal, never a crash or a hang.
. "$TESTLIB"

pick_ports
fake() {
	"$PROBE" -l 127.0.0.1 "$TRACKER_PORT" 1500 "$1" &
	sleep 0.2
}

for answer in 'not an address' '\x00\x01\x02' '1.2.3.4' '1.2.3.4:0' \
    '[::1' "$(head -c 3000 /dev/zero | tr '\0' 9)" ''; do
	fake "$answer"
	out=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$TRACKER_PORT" nat 2>&1)
	rc=$?
	wait
	[ $rc -eq 1 ] || fail "answer '$answer': exit $rc ($out)"
	echo "$out" | grep -q "bad answer" || fail "answer '$answer': $out"
	printf '%s' "$out" | LC_ALL=C grep -q '[^[:print:][:space:]]' &&
	    fail "unprintable bytes passed to the terminal: $out"
done
pass "garbage answers refused"

fake 'error: rate limited'
out=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$TRACKER_PORT" nat 2>&1); rc=$?
wait
[ $rc -eq 1 ] || fail "error answer: exit $rc"
echo "$out" | grep -q "answered 'error: rate limited'" || fail "$out"
pass "error answers reported"

# Nobody there: refused at once (the port's ICMP answer), not a hang.
out=$("$NATCLIENT" --timeout 1 -s "127.0.0.1:$TRACKER_PORT" nat 2>&1); rc=$?
[ $rc -eq 1 ] || fail "no server: exit $rc"
echo "$out" | grep -q "no answer from 127.0.0.1:$TRACKER_PORT: Connection refused" || fail "$out"
pass "no server: connection refused"

# A tracker answer with terminal escapes: register prints it cleaned.
fake '198.51.100.1:1\n\x1b[2J\x1b]0;owned\x07198.51.100.2:2'
out=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$TRACKER_PORT" register --once natkit-bad-group 2>&1)
rc=$?
wait
[ $rc -eq 0 ] || fail "register against the fake: exit $rc ($out)"
printf '%s' "$out" | LC_ALL=C grep -q '[^[:print:][:space:]]' &&
    fail "escape bytes passed to the terminal: $out"
echo "$out" | grep -q '^+ ?\[2J?\]0;owned?198.51.100.2:2$' || fail "register printed: $out"
pass "control bytes in tracker answers cleaned"
