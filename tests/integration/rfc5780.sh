# RFC 5780 behaviour discovery: with an alternate address and port, a
# CHANGE-REQUEST is answered from the address it asks for.  Checked with
# coturn's turnutils_stunclient and turnutils_natdiscovery and stund's
# stun, on loopback (127.0.0.1 and 127.0.0.2, no NAT between).
. "$TESTLIB"

for tool in turnutils_stunclient turnutils_natdiscovery stun; do
	command -v $tool >/dev/null || fail "$tool missing (Debian coturn, stun-client)"
done

# The primary must be explicit, and both alternate keys set.
pick_ports
write_conf "$T/bad.conf" "tracker.alternate_address = 127.0.0.2"
out=$("$NATSERVER" -t -c "$T/bad.conf" 2>&1) && fail "half an alternate accepted"
echo "$out" | grep -q "set both tracker.alternate_address and tracker.alternate_port" || fail "$out"
printf '[tracker]\nlisten = 0.0.0.0:3478\nalternate_address = 127.0.0.2\nalternate_port = 3479\n' >"$T/bad2.conf"
out=$("$NATSERVER" -t -c "$T/bad2.conf" 2>&1) && fail "wildcard primary accepted"
echo "$out" | grep -q "explicit one, not a wildcard" || fail "$out"
pass "config checks"

start_server tracker.alternate_address=127.0.0.2 tracker.alternate_port=@ALT_PORT@
ALT=$((TRACKER_PORT + 4))

out=$(timeout 10 turnutils_stunclient -f -p "$TRACKER_PORT" 127.0.0.1 2>&1)
echo "$out" | grep -q "Other addr: : 127.0.0.2:$ALT" || fail "OTHER-ADDRESS: $out"
echo "$out" | grep -q "Response origin: : 127.0.0.1:$TRACKER_PORT" || fail "RESPONSE-ORIGIN: $out"
pass "OTHER-ADDRESS and RESPONSE-ORIGIN"

# Change IP, change port, both: the answer comes from that address.
hdr='\x00\x01\x00\x08\x21\x12\xa4\x42abcdefghijkl\x00\x03\x00\x04\x00\x00\x00'
for flags in 02:127.0.0.1:$ALT 04:127.0.0.2:$TRACKER_PORT 06:127.0.0.2:$ALT; do
	f=${flags%%:*}
	want=${flags#*:}
	"$PROBE" -o 127.0.0.1 "$TRACKER_PORT" 2000 "$hdr\x$f" 2>"$T/from" >/dev/null ||
	    fail "no answer to CHANGE-REQUEST $f"
	grep -qx "from $want" "$T/from" || fail "change $f answered $(cat "$T/from"), not from $want"
done
pass "CHANGE-REQUEST answered from the other IP, port, or both"

# RFC 3489: stund's client runs all its tests.
out=$(timeout 30 stun "127.0.0.1:$TRACKER_PORT" -v 2>&1)
for t in "test I = 1" "test II = 1" "test III = 1" "Primary: Open"; do
	echo "$out" | grep -q "^$t" || fail "stun: no '$t': $out"
done
pass "stund's stun: tests I, II and III, open"

# coturn's behaviour discovery, on loopback: no NAT, so independent.
out=$(timeout 30 turnutils_natdiscovery -m -f -p "$TRACKER_PORT" 127.0.0.1 2>&1)
echo "$out" | grep -q "NAT with Endpoint Independent Mapping" || fail "natdiscovery -m: $out"
echo "$out" | grep -q "NAT with Endpoint Independent Filtering" || fail "natdiscovery -f: $out"
pass "turnutils_natdiscovery: independent mapping and filtering"

# natclient nat-type on loopback: no NAT, independent mapping and filtering.
out=$("$NATCLIENT" -s "127.0.0.1:$TRACKER_PORT" nat-type) || fail "nat-type: $out"
for want in "NAT type: no NAT" "mapping: EIM" "filtering: EIF" "port allocation: preserving"; do
	echo "$out" | grep -qx "$want" || fail "nat-type: no '$want': $out"
done
pass "natclient nat-type: no NAT"

# Over TCP a CHANGE-REQUEST with flags still gets 400.
tcp_change_refused || fail "TCP CHANGE-REQUEST"
pass "TCP CHANGE-REQUEST: 400"
