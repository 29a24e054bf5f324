# End-to-end security on loopback: identity keys (keygen, 0600, refused
# when others may read them), who may connect (allow-list, shared
# secret, --peer-key, known peers with trust on first use), owned names
# (another key, no key, a replayed registration), and, as root, forged
# and replayed datagrams on the punched path (wire.py).  The lab has the
# rest: no marker in plaintext on the wire, a flipped bit in a stream.
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
BURST="python3 $SRCDIR/tests/natlab/udpburst.py"
WIRE="python3 $SRCDIR/tests/integration/wire.py"

start_server
C=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT")
registered() { named_session "{\"type\":\"lookup\",\"name\":\"$1\"}" | grep -q '"public":"127'; }
again() { # log count: the listener registered again after count refusals
	[ "$(grep -c "listening again as" "$1")" -ge "$2" ]
}
expect() { # what output
	grep -q -- "$1" <<<"$2" || fail "no '$1' in: $2"
}
UECHO=$((TRACKER_PORT + 6))
LOCAL=$((TRACKER_PORT + 7))
$BURST echo "$UECHO" &
STARTED+=("$!")

# Keys: keygen writes 0600 and .pub, prints one line, never overwrites;
# a key others may read is refused; the default key is made on first use.
for k in A B X A2; do
	"$NATCLIENT" --key "$T/$k" keygen >"$T/$k.line" 2>"$T/$k.err" || fail "keygen $k: $(cat "$T/$k.err")"
done
grep -Eq '^natkit-ed25519 [A-Za-z0-9+/]{43}=$' "$T/A.line" || fail "keygen printed: $(cat "$T/A.line")"
[ "$(stat -c %a "$T/A")" = 600 ] || fail "the private key is mode $(stat -c %a "$T/A")"
[ "$(cut -d' ' -f1,2 "$T/A.pub")" = "$(cat "$T/A.line")" ] || fail "A.pub: $(cat "$T/A.pub")"
out=$("$NATCLIENT" --key "$T/A" keygen 2>&1) && fail "keygen overwrote a key"
expect "exists" "$out"
cp "$T/A" "$T/open" && chmod 644 "$T/open"
out=$("$NATCLIENT" --key "$T/open" key 2>&1) && fail "a key others may read was used"
expect "readable by others" "$out"
out=$("$NATCLIENT" key 2>&1) || fail "key: $out"
expect "made a new identity key in $XDG_CONFIG_HOME/natkit/key" "$out"
[ "$(stat -c %a "$XDG_CONFIG_HOME/natkit/key")" = 600 ] || fail "the default key's mode"
[ "$("$NATCLIENT" key)" = "$(tail -1 <<<"$out")" ] || fail "key printed another key the second time"
pass "keygen: 0600, one public line, no overwrite; a readable key refused; the default key made once"

# A listener must be told whom to accept.
out=$("${C[@]}" --key "$T/A" listen nobody 2>&1 </dev/null) && fail "listen without a rule ran"
expect "say who may connect" "$out"
pass "listen without --allow, --secret-file or --allow-any: refused, saying so"

# The allow-list: a stranger is refused (both sides say so) and the
# listener goes on to serve the allowed peer, byte-exact both ways.
head -c 300000 /dev/urandom >"$T/in1"
head -c 300000 /dev/urandom >"$T/in2"
cat "$T/B.line" >"$T/allowed"
"${C[@]}" --key "$T/A" --allow "$T/allowed" listen office <"$T/in1" >"$T/out1" 2>"$T/office.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered office || fail "office did not register: $(cat "$T/office.le")"
out=$("${C[@]}" --key "$T/X" connect office 2>&1 </dev/null >/dev/null) && fail "a stranger connected"
expect "the peer refused us" "$out"
wait_for 50 grep -q "refused a peer whose key is not in $T/allowed: $(cat "$T/X.line")" "$T/office.le" ||
    fail "the listener did not log the stranger: $(cat "$T/office.le")"
alive "$LISTENER" || fail "the stranger ended the listener"
wait_for 100 again "$T/office.le" 1 || fail "office did not wait again: $(cat "$T/office.le")"
"${C[@]}" --key "$T/B" --known-peers "$T/known" connect office <"$T/in2" >"$T/out2" 2>"$T/office.ce" ||
    fail "the allowed peer: $(cat "$T/office.ce")"
wait "$LISTENER" || fail "listen: $(cat "$T/office.le")"
cmp -s "$T/in1" "$T/out2" && cmp -s "$T/in2" "$T/out1" || fail "the streams differ"
expect "first connection to 'office': trusting its key $(cat "$T/A.line")" "$(cat "$T/office.ce")"
pass "--allow: a stranger is refused (both sides say so), the listener then serves the allowed key, 300 KB each way"

# Known peers: a changed key is refused, loudly; --peer-key must match.
"${C[@]}" --key "$T/A2" --allow-any listen office2 </dev/null >/dev/null 2>"$T/o2.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered office2 || fail "office2 did not register: $(cat "$T/o2.le")"
echo "office2 $(cat "$T/A.line")" >>"$T/known"
out=$("${C[@]}" --key "$T/B" --known-peers "$T/known" connect office2 2>&1 </dev/null) && fail "a changed key was accepted"
expect "THE KEY OF 'office2' HAS CHANGED" "$out"
wait_for 100 again "$T/o2.le" 1 || fail "office2 did not wait again: $(cat "$T/o2.le")"
out=$("${C[@]}" --key "$T/B" --peer-key "$(cat "$T/A.line")" connect office2 2>&1 </dev/null) &&
    fail "--peer-key of another key was accepted"
expect "is not the peer --peer-key names" "$out"
wait_for 100 again "$T/o2.le" 2 || fail "office2 did not wait again: $(cat "$T/o2.le")"
"${C[@]}" --key "$T/B" --peer-key "$(cat "$T/A2.line")" connect office2 </dev/null >/dev/null 2>"$T/o2.ce" ||
    fail "--peer-key of the right key: $(cat "$T/o2.ce")"
wait "$LISTENER" || fail "office2 listener: $(cat "$T/o2.le")"
pass "a changed key is refused (HAS CHANGED), --peer-key of another key too; the right one connects"

# A shared secret: the wrong one is refused on both sides, the right
# one connects.
(umask 077 && echo one >"$T/s1" && echo two >"$T/s2")
"${C[@]}" --key "$T/A" --secret-file "$T/s1" listen vault <"$T/in1" >"$T/out3" 2>"$T/vault.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered vault || fail "vault did not register: $(cat "$T/vault.le")"
out=$("${C[@]}" --key "$T/X" --secret-file "$T/s2" connect vault 2>&1 </dev/null >/dev/null) && fail "the wrong secret connected"
expect "the peer refused us" "$out"
wait_for 50 grep -q "refused a peer whose handshake failed" "$T/vault.le" || fail "vault: $(cat "$T/vault.le")"
wait_for 100 again "$T/vault.le" 1 || fail "vault did not wait again: $(cat "$T/vault.le")"
out=$("${C[@]}" --key "$T/X" connect vault 2>&1 </dev/null >/dev/null) && fail "no secret connected"
expect "the peer refused us" "$out"
wait_for 100 again "$T/vault.le" 2 || fail "vault did not wait again: $(cat "$T/vault.le")"
"${C[@]}" --key "$T/X" --secret-file "$T/s1" connect vault <"$T/in2" >"$T/out4" 2>"$T/vault.ce" ||
    fail "the right secret: $(cat "$T/vault.ce")"
wait "$LISTENER" || fail "vault: $(cat "$T/vault.le")"
cmp -s "$T/in1" "$T/out4" && cmp -s "$T/in2" "$T/out3" || fail "the vault streams differ"
pass "--secret-file: a wrong or missing secret is refused (both sides say so), the right one connects"

# Owned names: office belongs to key A; key X and an unsigned client are
# refused, A takes it back; a signed register seen on the wire cannot be
# replayed (no challenge on the new connection, or another nonce).
out=$("${C[@]}" --key "$T/X" --allow-any listen office 2>&1 </dev/null) && fail "key X took office"
expect "name_owned" "$out"
out=$(named_session '{"type":"register","name":"office"}')
expect '"code":"name_owned"' "$out"
if command -v tcpdump >/dev/null && [ "$(id -u)" = 0 ]; then
	tcpdump -i lo -n -s 0 -U -w "$T/lo.pcap" "tcp port $NAMED_PORT" 2>"$T/tcpdump.err" &
	CAPTURE=$!
	STARTED+=("$CAPTURE")
	wait_for 100 grep -q "listening on" "$T/tcpdump.err" || fail "tcpdump: $(cat "$T/tcpdump.err")"
fi
"${C[@]}" --key "$T/A" --allow "$T/allowed" listen office </dev/null >/dev/null 2>"$T/back.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered office || fail "key A did not take office back: $(cat "$T/back.le")"
if [ -n "${CAPTURE:-}" ]; then
	kill -INT "$CAPTURE"
	wait "$CAPTURE" 2>/dev/null
	line=$($WIRE register "$T/lo.pcap") || fail "no register captured"
	kill -TERM "$LISTENER"
	wait_gone "$LISTENER" 50
	out=$(named_session "$line")
	expect '"code":"no_challenge"' "$out"
	out=$(named_session '{"type":"challenge"}' "$line")
	expect '"code":"bad_signature"' "$out"
	[ "$(metric 'natkit_bad_signatures_total{kind="rendezvous"}')" -ge 1 ] || fail "bad signatures not counted"
	replay="a replayed registration is refused (no_challenge, bad_signature) and counted"
else
	replay="no replay check: it needs root and tcpdump"
fi
pass "owned names: another key and an unsigned client are refused (name_owned), the owner takes its name back; $replay"

# Forged and replayed datagrams on the punched path are dropped and
# counted; the real ones pass.
[ "$(id -u)" = 0 ] || skip "forged datagrams need root (raw sockets)"
"${C[@]}" --key "$T/A" --allow "$T/allowed" --json listen dg --forward "127.0.0.1:$UECHO" >"$T/dg.l" 2>"$T/dg.le" &
LISTENER=$!
STARTED+=("$LISTENER")
wait_for 100 registered dg || fail "dg did not register: $(cat "$T/dg.le")"
"${C[@]}" --key "$T/B" --json connect dg --local "$LOCAL" >"$T/dg.c" 2>"$T/dg.ce" &
CONNECTOR=$!
STARTED+=("$CONNECTOR")
wait_for 150 grep -q '"result":"direct"' "$T/dg.c" || fail "dg connector: $(cat "$T/dg.c" "$T/dg.ce")"
wait_for 50 grep -q '"result":"direct"' "$T/dg.l" || fail "dg listener: $(cat "$T/dg.l" "$T/dg.le")"
cport=$(sed -n 's/.*"peer":"127.0.0.1:\([0-9]*\)".*/\1/p' "$T/dg.l")
lport=$(sed -n 's/.*"peer":"127.0.0.1:\([0-9]*\)".*/\1/p' "$T/dg.c")
$WIRE replay "$cport" "$lport" 5 >"$T/wire.out" 2>&1 &
SPOOF=$!
out=$($BURST burst "$LOCAL" 50) || fail "datagrams during the attack: $out"
wait "$SPOOF" || fail "wire.py: $(cat "$T/wire.out")"
out=$($BURST burst "$LOCAL" 50) || fail "datagrams after the attack: $out"
kill -TERM "$CONNECTOR"
wait_for 100 dead "$LISTENER" || fail "the listener did not see the goodbye"
n=$(sed -n 's/^natclient: dropped \([0-9]*\) forged or replayed datagrams$/\1/p' "$T/dg.le")
[ "${n:-0}" -ge 10 ] || fail "dropped '${n:-none}', not 10: $(cat "$T/dg.le")"
pass "$(cat "$T/wire.out") on the punched path: $n dropped and counted, the real datagrams intact ($out)"
