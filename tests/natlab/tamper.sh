# A flipped bit in a sealed stream: between symmetric random NATs the
# peers meet through the relay, and a man in the middle (tamper.py, in
# front of the relay for the connector) flips one bit of the connector's
# stream.  The listener must end the stream with an integrity error,
# having written only bytes that were sent (a prefix), never the
# altered ones.
# The man in the middle stands where the relay itself does: TLS to the
# relay is off here (with it, the flip only breaks the TLS connection),
# so the flip reaches the sealed stream, as a relay that alters what it
# carries would.
TLS=no
. "$TESTLIB"
. "$LABLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

lab_up
lab_server
lab_nat rA symmetric-random
lab_nat rB symmetric-random
C=("$NATCLIENT" --timeout 10 -s 203.0.113.1 --token-file "$T/lab-token" "${TRUST[@]}")
head -c 2000000 /dev/urandom >"$T/a"
ip netns exec "$LAB-srv" python3 "$SRCDIR/tests/natlab/tamper.py" 8899 203.0.113.1:8888 600000 &
STARTED+=("$!")
registered() { grep -q "^natclient: listening as" "$T/errA"; }
wait_for 100 eval 'lab_in srv ss -Htln "( sport = :8899 )" | grep -q 8899' || fail "tamper.py did not listen"
lab_in hA "${C[@]}" --json listen bits </dev/null >"$T/outA" 2>"$T/errA" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 200 registered || fail "the listener did not register: $(cat "$T/errA")"
lab_in hB "${C[@]}" --relay 203.0.113.1:8899 --json connect bits <"$T/a" >/dev/null 2>"$T/errB"
wait "$LISTENER" && fail "the listener took an altered stream: $(cat "$T/errA")"
grep -q '"result":"relay"' "$T/errA" || fail "not through the relay: $(cat "$T/errA")"
grep -q "natclient: integrity error: a message that fails to authenticate; the stream is ended" "$T/errA" ||
    fail "no integrity error: $(cat "$T/errA")"
got=$(stat -c %s "$T/outA")
[ "$got" -lt 600000 ] || fail "$got bytes written, past the flipped one"
cmp -s -n "$got" "$T/a" "$T/outA" || fail "the listener wrote altered bytes"
pass "a bit flipped at byte 600000 of the sealed stream: the listener ended it with an integrity error after $got bytes, all of them as sent"
