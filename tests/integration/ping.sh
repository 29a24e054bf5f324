# natclient ping on loopback: a listener of datagrams (--forward, kept
# listening) answers every ping, each reply saying the path (direct, and
# its strategy) and a round trip; --json; a listener of a stream with
# --stream; the listener listens again after a ping; a pinger the
# listener does not accept is refused and exits 1; a name nobody holds
# fails.  The lab's matrix checks direct against relay for every pair.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
BURST="python3 $SRCDIR/tests/natlab/udpburst.py"

start_server
C=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" --timeout 5)
UECHO=$((TRACKER_PORT + 6))
$BURST echo "$UECHO" &
STARTED+=("$!")
again() { [ "$(grep -c "listening again as" "$T/dg.err")" -ge "$1" ]; }

"${C[@]}" "${TRUST[@]}" listen dg --forward "127.0.0.1:$UECHO" --keep-listening \
    </dev/null >/dev/null 2>"$T/dg.err" &
STARTED+=("$!")
wait_for 100 grep -q "listening as 'dg'" "$T/dg.err" || fail "the listener: $(cat "$T/dg.err")"
out=$("${C[@]}" "${TRUST[@]}" --count 3 ping dg 2>"$T/ping.err") || fail "ping: $out $(cat "$T/ping.err")"
[ "$(grep -c '^reply from dg: seq=[123] time=[0-9.]* ms via direct (' <<<"$out")" = 3 ] ||
    fail "three replies via direct: $out"
wait_for 100 again 1 || fail "the listener did not listen again: $(cat "$T/dg.err")"
out=$("${C[@]}" "${TRUST[@]}" --count 2 --json ping dg) || fail "ping --json: $out"
python3 -c 'import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["seq"] for l in lines] == [1, 2], lines
assert all(l["event"] == "reply" and l["name"] == "dg" and l["path"] == "direct" and l["ms"] >= 0 for l in lines), lines' "$out" ||
    fail "ping --json: $out"
pass "ping: 3 replies via direct from a datagram listener, which listens again; --json"

# A listener of a stream (stdin/stdout) answers --stream pings.
"${C[@]}" "${TRUST[@]}" listen st </dev/null >/dev/null 2>"$T/st.err" &
ST=$!
STARTED+=("$ST")
wait_for 100 grep -q "listening as 'st'" "$T/st.err" || fail "the stream listener: $(cat "$T/st.err")"
out=$("${C[@]}" "${TRUST[@]}" --count 2 --stream ping st 2>"$T/ping.err") ||
    fail "ping --stream: $out $(cat "$T/ping.err")"
[ "$(grep -c '^reply from st: seq=[12] time=.* via direct' <<<"$out")" = 2 ] || fail "--stream: $out"
pass "ping --stream: 2 replies from a listener of stdin/stdout"

# Not accepted (another secret): refused, exit 1, no reply printed.
(umask 077 && echo "another secret" >"$T/other")
out=$("${C[@]}" --secret-file "$T/other" --count 1 ping dg 2>"$T/ping.err") &&
    fail "a pinger with the wrong secret got: $out"
grep -q "refused" "$T/ping.err" && ! grep -q "^reply" <<<"$out" ||
    fail "the refusal: $out $(cat "$T/ping.err")"
out=$("${C[@]}" "${TRUST[@]}" --count 1 ping nobody 2>&1) && fail "a ping to nobody: $out"
grep -q "nobody\|not_found\|no such" <<<"$out" || fail "a ping to nobody: $out"
pass "a pinger the listener does not accept is refused (exit 1); a name nobody holds fails"
