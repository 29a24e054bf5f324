# N4 pairing (natserver's rendezvous worker) with natclient punch and an
# independent client written from n4.py's wire format (n4peer.py), which
# binds another loopback IP: N4 tells clients apart by IP.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/n4peer.py"

# A client waits WAIT seconds for its peer: long enough that six Python
# peers starting at once on a loaded machine still meet theirs.
WAIT=8
RENDEZVOUS_WORKERS=3 start_server "rendezvous.wait_timeout = $WAIT"
wait_for 50 has_workers rendezvous 3 || fail "no 3 rendezvous workers"
read -r w1 w2 w3 <<<"$(workers rendezvous | tr '\n' ' ')"

punch() { # ident port: natclient punch with one socket, no offset
	"$NATCLIENT" -s "127.0.0.1:$N4_PORT" --timeout 10 punch -a "$1" \
	    -b "$2" -n 1 -o 0
}
# hellos N: the rendezvous workers have read N requests (HELLOs here).
hellos() { [ "$(metric 'natkit_requests_total{kind="rendezvous"}')" -ge "$1" ]; }

# Two workers, one client each: only worker w1 runs for the first,
# only w2 for the second.  They pair through the table and the mail.
kill -STOP "$w2" "$w3"
$PEER "$N4_PORT" cross 127.0.0.2 0 >"$T/py" 2>&1 &
py=$!
wait_for 100 hellos 1 || fail "w1 did not read the first HELLO"
kill -STOP "$w1"
kill -CONT "$w2"
punch cross 0 >"$T/nc" 2>&1 &
nc=$!
wait_for 100 hellos 2 || fail "w2 did not read the second HELLO"
kill -CONT "$w1" "$w3"
wait "$nc" || fail "natclient punch: $(cat "$T/nc")"
wait "$py" || fail "n4peer: $(cat "$T/py")"
grep -q '^peer: 127\.0\.0\.2:[0-9]*$' "$T/nc" || fail "$(cat "$T/nc")"
grep -q '^nc -u -p [0-9]* 127\.0\.0\.2 [0-9]*$' "$T/nc" || fail "$(cat "$T/nc")"
grep -q '^won 127\.0\.0\.1:' "$T/py" || fail "$(cat "$T/py")"
pass "clients held by two workers were paired and punched"

# Many idents at once, each pair on its own.
pids=()
for i in 1 2 3 4 5 6; do
	$PEER "$N4_PORT" "id$i" "127.0.0.$((10 + i))" 0 >"$T/py$i" 2>&1 &
	pids+=($!)
	punch "id$i" 0 >"$T/nc$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a pair failed"; done
for i in 1 2 3 4 5 6; do
	grep -q "^peer: 127\.0\.0\.$((10 + i)):" "$T/nc$i" ||
	    fail "pair $i: $(cat "$T/nc$i")"
done
pass "six idents served at once, each client met its own peer"

# JSON output.
$PEER "$N4_PORT" js 127.0.0.3 0 >/dev/null 2>&1 &
"$NATCLIENT" --json -s "127.0.0.1:$N4_PORT" punch -a js -n 1 -o 0 -b 0 >"$T/js" ||
    fail "punch --json"
grep -q '"nc":"nc -u -p' "$T/js" && grep -q '"local_port"' "$T/js" ||
    fail "json: $(cat "$T/js")"
pass "--json prints local_port, peer and nc"

# Alone: the server closes the connection after wait_timeout.
start=$SECONDS
if "$NATCLIENT" -s "127.0.0.1:$N4_PORT" punch -a alone -b 0 >"$T/alone" 2>&1; then
	fail "a lonely client succeeded"
fi
grep -q "no peer came" "$T/alone" || fail "$(cat "$T/alone")"
[ $((SECONDS - start)) -le $((WAIT + 3)) ] ||
    fail "the lonely client waited too long"
[ "$(metric 'natkit_timeouts_total{kind="rendezvous"}')" -ge 1 ] ||
    fail "the timeout was not counted"
pass "a client alone is told, after wait_timeout"

# Bad input closes only that connection; pairs in progress go on.
junk_tcp() { # bytes (printf format): the server must close on us
	exec 3<>"/dev/tcp/127.0.0.1/$N4_PORT"
	printf "$1" >&3
	timeout $((WAIT + 5)) cat <&3 >/dev/null
	local rc=$?
	exec 3<&-
	[ $rc -eq 0 ] || fail "connection not closed after '$1'"
}
junk_tcp '\x01\x00ca' &		  # truncated: closed at wait_timeout
truncated=$!
$PEER "$N4_PORT" calm 127.0.0.4 0 >"$T/calm" 2>&1 &
calm=$!
sleep 0.3
junk_tcp '\x09\x00abcdef'		  # unknown command
junk_tcp '\x03\x00abcdef'		  # EXCHANGE over TCP
junk_tcp '\x01\x00over  \x01\x00over  ' # more after HELLO (oversized)
before=$(metric 'natkit_drops_junk_total{kind="rendezvous"}')
for i in $(seq 1 200); do printf 'junk' >/dev/udp/127.0.0.1/"$N4_PORT"; done
printf '\x03\x00nobody' >/dev/udp/127.0.0.1/"$N4_PORT"
printf '\x03\x00calm  xx' >/dev/udp/127.0.0.1/"$N4_PORT"
got() { [ "$(metric 'natkit_drops_junk_total{kind="rendezvous"}')" -ge $((before + 202)) ]; }
wait_for 50 got || fail "junk datagrams not counted"
punch calm 0 >"$T/calmnc" 2>&1 || fail "pair after junk: $(cat "$T/calmnc")"
wait "$calm" || fail "n4peer after junk: $(cat "$T/calm")"
wait "$truncated" || fail "the truncated HELLO's connection stayed open"
[ "$(workers rendezvous | tr '\n' ' ')" = "$w1 $w2 $w3 " ] ||
    fail "a rendezvous worker died"
pass "bad packets closed their connection, junk datagrams counted, workers alive"

# Two clients behind one public IP (here 127.0.0.5, each with TCP and
# UDP on one port, as n4.py binds them): each is told the other's
# address, not its own, whichever EXCHANGE comes first.
$PEER "$N4_PORT" oneip 127.0.0.5 $((N4_PORT + 10)) 0 >"$T/one-a" 2>&1 &
a=$!
wait_for 50 eval "ss -tnH state established '( dport = :$N4_PORT )' | grep -q 127.0.0.5"
$PEER "$N4_PORT" oneip 127.0.0.5 $((N4_PORT + 11)) 1 >"$T/one-b" 2>&1 &
b=$!
wait "$a" || fail "first client behind one IP: $(cat "$T/one-a")"
wait "$b" || fail "second client behind one IP: $(cat "$T/one-b")"
grep -qx "won 127.0.0.5:$((N4_PORT + 11))" "$T/one-a" && grep -qx "won 127.0.0.5:$((N4_PORT + 10))" "$T/one-b" ||
    fail "told: $(cat "$T/one-a") / $(cat "$T/one-b")"
pass "two N4 clients behind one IP are each told the other's address"

