# Per-client relay tokens: "NAME TOKEN [ports=] [max_ports=]" lines next
# to a bare token.  Each client keeps to its own limits and is named in
# the log; removing one client's line and reloading ends that client's
# exposure and no other.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
{
	echo "# client  token  limits"
	echo "alice alice-token-0123456789 ports=61210-61219 max_ports=1"
	echo "bob   bob-token-0123456789abc"
	echo "bare-token-0123456789abcdef"
} >"$T/tokens"
echo "alice-token-0123456789" >"$T/alice"
echo "bob-token-0123456789abc" >"$T/bob"
echo "bare-token-0123456789abcdef" >"$T/bare"
start_server "relay.token_file = $T/tokens" "relay.port_range = 61200-61299"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT")
ECHO_PORT=61150
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")
expose_bg() { # who name: natclient expose with who's token in the background
	"${E[@]}" --token-file "$T/$1" --name "$2" expose tcp "$ECHO_PORT" >"$T/$2.out" 2>"$T/$2.err" &
	EXPOSER=$!
	STARTED+=("$EXPOSER")
	wait_for 100 grep -q "^127.0.0.1:" "$T/$2.out" || fail "expose $2: $(cat "$T/$2.err")"
}
public() { sed -n 's/^127\.0\.0\.1://p' "$T/$1.out" | tail -1; }

# Bad lines are refused with the line named.
printf 'alice short\n' >"$T/bad"
out=$("$NATSERVER" -t -c /dev/stdin <<<"[relay]
token_file = $T/bad" 2>&1) && fail "a short token was taken"
grep -q "$T/bad:1: a token has 16 to 128 bytes" <<<"$out" || fail "$out"
printf 'alice a-token-0123456789abc\nalice b-token-0123456789abc\n' >"$T/bad"
out=$("$NATSERVER" -t -c /dev/stdin <<<"[relay]
token_file = $T/bad" 2>&1) && fail "a name twice was taken"
grep -q "$T/bad:2: this client name is on an earlier line" <<<"$out" || fail "$out"
pass "token file lines that are wrong are refused, the line named"

# alice: a port from her range, and only one.
expose_bg alice a1
A1=$(public a1)
[ "$A1" -ge 61210 ] && [ "$A1" -le 61219 ] || fail "alice got port $A1, outside her ports="
out=$("${E[@]}" --token-file "$T/alice" --name a2 expose tcp "$ECHO_PORT" 2>&1) && fail "alice got a second port"
grep -q "too_many_ports" <<<"$out" || fail "alice's second port: $out"
wait_for 50 grep -q "client alice (id [^)]*) exposes tcp port $A1" "$T/log" || fail "the log does not name alice"
expose_bg bob b1
B1=$(public b1)
B1PID=$EXPOSER
expose_bg bob b2
B2=$(public b2)
B2PID=$EXPOSER
expose_bg bare c1
C1=$(public c1)
pass "alice keeps to ports= and max_ports= (port $A1; a second refused), bob and a bare token to the defaults ($B1, $B2, $C1); the log names the client"

# Revoke bob: his exposures end, alice's and the bare token's serve on.
grep -v "^bob " "$T/tokens" >"$T/tokens.new" && mv "$T/tokens.new" "$T/tokens"
kill -HUP "$MASTER"
for n in 1 2; do
	eval "pid=\$B${n}PID"
	wait_for 100 dead "$pid" || fail "bob's exposure b$n did not end: $(cat "$T/b$n.err")"
	grep -q "auth_failed\|wrong token\|login refused" "$T/b$n.err" || fail "bob was not told: $(cat "$T/b$n.err")"
done
wait_for 100 eval "$PEER visits $A1 3" || fail "alice's exposure did not come back after the reload: $(cat "$T/a1.err")"
wait_for 100 eval "$PEER visits $C1 3" || fail "the bare token's exposure did not come back"
! $PEER visits "$B1" 1 >/dev/null 2>&1 && ! $PEER visits "$B2" 1 >/dev/null 2>&1 ||
    fail "a port of bob's still serves"
pass "bob's line removed and SIGHUP: his exposures end (told why), alice's and the bare token's serve on"
