# STUN on the tracker port: natclient --stun, coturn's turnutils_stunclient
# (RFC 5389), stund's stun (RFC 3489), errors, and both protocols over TCP.
. "$TESTLIB"

command -v turnutils_stunclient >/dev/null || fail "turnutils_stunclient missing (Debian package coturn)"
command -v stun >/dev/null || fail "stun missing (Debian package stun-client)"

start_server

for host in 127.0.0.1 ::1; do
	s=$host
	[ "$host" = ::1 ] && s="[::1]"
	out=$("$NATCLIENT" --stun -s "$s:$TRACKER_PORT" nat) || fail "nat --stun $host"
	echo "$out" | grep -Eq "^\\[?$host\\]?:[0-9]+\$" || fail "nat --stun $host printed '$out'"
	pass "natclient nat --stun $host: $out"
	out=$(timeout 10 turnutils_stunclient -p "$TRACKER_PORT" "$host" 2>&1) ||
	    fail "turnutils_stunclient $host: $out"
	echo "$out" | grep -q "UDP reflexive addr: $host:[0-9]" ||
	    fail "turnutils_stunclient $host: $out"
	pass "turnutils_stunclient $host"
done
out=$("$NATCLIENT" --json --stun -s "127.0.0.1:$TRACKER_PORT" nat)
echo "$out" | grep -q '"method": *"stun"' || fail "--json --stun: $out"

# stund's client speaks RFC 3489 (no magic cookie).  Test I is a plain
# Binding; tests II and III need an alternate address, which this server
# has not, so they must fail rather than be answered wrongly.
out=$(timeout 30 stun "127.0.0.1:$TRACKER_PORT" -v 2>&1)
echo "$out" | grep -q "^test I = 1" || fail "stun test I: $out"
echo "$out" | grep -q "^test II = 0" || fail "stun test II answered: $out"
pass "stund's stun client"

# 400 for a bad body behind a good header, 420 for unknown attributes.
hdr='\x00\x01\x00\x08\x21\x12\xa4\x42abcdefghijkl'
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "$hdr\x80\x22\x00\x09abcd" | od -An -tx1 | tr -d ' \n')
case $out in 0111*0009*0400*) ;; *) fail "no 400 for a bad attribute length: $out" ;; esac
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "$hdr\x00\x33\x00\x04abcd" | od -An -tx1 | tr -d ' \n')
case $out in 0111*0009*0414*000a00020033*) ;; *) fail "no 420: $out" ;; esac
# CHANGE-REQUEST with flags and no alternate address: 420 (RFC 5780).
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "$hdr\x00\x03\x00\x04\x00\x00\x00\x06" | od -An -tx1 | tr -d ' \n')
case $out in 0111*0414*00030000*) ;; *) fail "change request: $out" ;; esac
# A bad FINGERPRINT, and a response, get nothing back.
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 300 "$hdr\x80\x28\x00\x04abcd" && fail "bad fingerprint answered"
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 300 '\x01\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl' && fail "response answered"
pass "400, 420, silence for bad fingerprints and responses"

# TCP: text lines, each answer followed by an empty line.
exec 3<>"/dev/tcp/127.0.0.1/$TRACKER_PORT" || fail "tcp connect"
printf '//nat\r\n//nat\n' >&3
read -r -t 5 a1 <&3; read -r -t 5 e1 <&3; read -r -t 5 a2 <&3; read -r -t 5 e2 <&3
exec 3<&-
echo "$a1" | grep -Eq '^127\.0\.0\.1:[0-9]+'$'\r''?$' || fail "tcp //nat: '$a1'"
[ "$a1" = "$a2" ] && [ -z "$e1" ] && [ -z "$e2" ] || fail "tcp answers: '$a1' '$e1' '$a2' '$e2'"
pass "//nat over TCP: $a1"

# An endless line: an error, then the connection closes.
exec 3<>"/dev/tcp/127.0.0.1/$TRACKER_PORT"
head -c 5000 /dev/zero | tr '\0' / >&3
read -r -t 5 a <&3
exec 3<&-
[ "$a" = "error: line too long" ] || fail "long line: '$a'"
pass "over-long TCP line refused"

# STUN over TCP, and a CHANGE-REQUEST with flags there: 400.
exec 3<>"/dev/tcp/127.0.0.1/$TRACKER_PORT"
printf '\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl' >&3
out=$(timeout 5 head -c 2 <&3 | od -An -tx1 | tr -d ' \n')
exec 3<&-
[ "$out" = "0101" ] || fail "STUN over TCP: '$out'"
tcp_change_refused || fail "TCP CHANGE-REQUEST"
pass "STUN over TCP"

# The workers took all of it.
has_workers tracker 2 || fail "a tracker worker died"
nat_ok || fail "not answering any more"

# nat-type against a server without an alternate address says what it
# could not test.
out=$("$NATCLIENT" -s "127.0.0.1:$TRACKER_PORT" nat-type) || fail "nat-type: $out"
echo "$out" | grep -q "^note: the server has no alternate address" || fail "nat-type: $out"
echo "$out" | grep -qx "mapping: unknown" || fail "nat-type: $out"
pass "nat-type without an alternate address"

# On a wildcard address the answer leaves from the address the request
# came to (IP_PKTINFO): asked at 127.0.0.2, it answers from 127.0.0.2,
# which the kernel alone would not pick for a reply to 127.0.0.1.
kill -TERM "$MASTER"
wait_gone "$MASTER" 100
pick_ports
write_conf "$T/natserver.conf"
sed -i "s/^listen = 127.0.0.1:$TRACKER_PORT \[::1\]:$TRACKER_PORT\$/listen = 0.0.0.0:$TRACKER_PORT/" "$T/natserver.conf"
grep -q "^listen = 0.0.0.0:$TRACKER_PORT\$" "$T/natserver.conf" || fail "config edit"
"$NATSERVER" -d -c "$T/natserver.conf" >"$T/log" 2>&1 &
MASTER=$!
STARTED+=("$MASTER")
wait_for 100 nat_ok || fail "wildcard server did not start"
"$PROBE" -o 127.0.0.1 "$TRACKER_PORT" 2000 '//nat' 2>"$T/from" >/dev/null || fail "probe"
grep -qx "from 127.0.0.1:$TRACKER_PORT" "$T/from" || fail "answered $(cat "$T/from")"
"$PROBE" -o 127.0.0.2 "$TRACKER_PORT" 2000 '\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl' 2>"$T/from" >/dev/null ||
    fail "probe 127.0.0.2"
grep -qx "from 127.0.0.2:$TRACKER_PORT" "$T/from" || fail "asked at 127.0.0.2, answered $(cat "$T/from")"
pass "wildcard address: answers leave from the address asked"
