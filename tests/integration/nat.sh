# //nat over UDP, v4 and v6, plain and --json; junk is dropped, not fatal.
. "$TESTLIB"

start_server

out=$("$NATCLIENT" -s "127.0.0.1:$TRACKER_PORT" nat) || fail "nat v4"
echo "$out" | grep -Eq '^127\.0\.0\.1:[0-9]+$' || fail "nat v4 printed '$out'"
pass "nat v4: $out"

# Options may also follow the command.
out=$("$NATCLIENT" nat -s "[::1]:$TRACKER_PORT") || fail "nat v6"
echo "$out" | grep -Eq '^\[::1\]:[0-9]+$' || fail "nat v6 printed '$out'"
pass "nat v6: $out"

out=$("$NATCLIENT" --json -s "127.0.0.1:$TRACKER_PORT" nat) || fail "json"
echo "$out" | grep -Eq "^\{\"server\": *\"127.0.0.1:$TRACKER_PORT\", *\"public\": *\"127.0.0.1:[0-9]+\", *\"method\": *\"text\"\}$" ||
    fail "--json printed '$out'"
pass "nat --json: $out"

# The answer is exactly the source address of the request.
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 '//nat') || fail "probe //nat"
echo "$out" | grep -Eq '^127\.0\.0\.1:[0-9]+$' || fail "probe got '$out'"
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 '//nat\r\n') || fail "//nat CRLF"
echo "$out" | grep -Eq '^127\.0\.0\.1:[0-9]+$' || fail "CRLF got '$out'"
pass "raw //nat"

# The port defaults to 3478 when -s has none: a server there is not ours,
# so just check that the port we name is used.
"$NATCLIENT" --timeout 1 -s 127.0.0.1:1 nat >/dev/null 2>&1 &&
    fail "an answer from a port nobody serves"

# No one there: the ICMP port unreachable is reported at once as
# "connection refused", not after the whole --timeout (30 s here).
for how in "" --stun; do
	out=$(timeout 20 "$NATCLIENT" --timeout 30 $how -s 127.0.0.1:1 nat 2>&1)
	code=$?
	[ "$code" -eq 1 ] && grep -qi "connection refused" <<<"$out" ||
	    fail "nat $how against a closed port: exit $code, $out"
done
pass "a closed UDP port is reported as connection refused at once: $out"

# Junk: not answered, and the workers stay up.
before=$(workers tracker)
for payload in 'hello' '\x00\x01\x00\x00' '/' '\xff\xfe' "$(head -c 1400 /dev/zero | tr '\0' x)"; do
	"$PROBE" 127.0.0.1 "$TRACKER_PORT" 300 "$payload" &&
	    fail "junk '$payload' was answered"
done
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 '//bogus') || fail "//bogus"
[ "$out" = "error: unknown request" ] || fail "//bogus answered '$out'"
# An answer is never more than max(3 x request, 128) bytes.
[ ${#out} -le 128 ] || fail "answer too long"
# Datagrams to the rendezvous port are dropped by a worker that lives on.
"$PROBE" 127.0.0.1 "$N4_PORT" 300 'junk' && fail "rendezvous answered junk"
nat_ok || fail "tracker stopped answering after junk"
[ "$(workers tracker)" = "$before" ] || fail "a tracker worker died on junk"
pass "junk dropped, workers alive"

# Dropped and counted: five junk datagrams at the tracker, one at the
# rendezvous port, one unknown request answered with an error.
[ "$(metric 'natkit_drops_junk_total{kind="tracker"}')" = 5 ] ||
    fail "tracker junk count: $(metric 'natkit_drops_junk_total{kind="tracker"}')"
[ "$(metric 'natkit_drops_junk_total{kind="rendezvous"}')" = 1 ] ||
    fail "rendezvous junk count"
[ "$(metric 'natkit_errors_total{kind="tracker"}')" = 1 ] || fail "error count"
pass "junk counted in the metrics"
