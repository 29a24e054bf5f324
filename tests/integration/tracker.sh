# The NatTrackerServer text protocol: groups shared by all workers, LAN
# addresses only behind the same IP, expiry, caps, +more and TCP, rate
# limits, the tracker list and federation between two servers.
. "$TESTLIB"

G=natkit-test-group
reg() { # reg [-b SRC] PUBLIC LAN: one registration over UDP
	local b=()
	[ "$1" = -b ] && { b=(-b "$2"); shift 2; }
	"$PROBE" "${b[@]+"${b[@]}"}" 127.0.0.1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/$G/$1/$2"
}

TRACKER_WORKERS=3 start_server tracker.max_group_members=4 \
    tracker.register_burst=40 tracker.register_per_minute=60

# Two members from 127.0.0.1, one from 127.0.0.2 (another public IP).
out=$(reg 198.51.100.1:1001 aabbccddee01-10.0.0.1)
[ "$out" = "198.51.100.1:1001;10.0.0.1" ] || fail "first member got '$out'"
reg 198.51.100.2:1002 aabbccddee02-10.0.0.2 >/dev/null
out=$(reg -b 127.0.0.2 198.51.100.3:1003 aabbccddee03-10.9.9.9) || fail "-b"
# Line 1 is the caller as stored; the others without their LAN addresses.
[ "$(echo "$out" | head -n 1)" = "198.51.100.3:1003;10.9.9.9" ] ||
    fail "caller line: $out"
echo "$out" | grep -qx "198.51.100.1:1001" || fail "no LAN hiding: $out"
echo "$out" | grep -qx "198.51.100.2:1002" || fail "missing member: $out"
# Behind the same IP the LAN addresses are shown.
out=$(reg 198.51.100.1:1001 aabbccddee01-10.0.0.1)
echo "$out" | grep -qx "198.51.100.2:1002;10.0.0.2" || fail "LAN not shown: $out"
echo "$out" | grep -qx "198.51.100.3:1003" || fail "other IP's LAN shown: $out"
[ "$(echo "$out" | wc -l)" -eq 3 ] || fail "re-registering duplicated: $out"
pass "group members, LAN addresses only behind the same IP"

# Every worker sees every registration.  The kernel picks the worker by
# the client's address and port; each registration below comes from a
# fresh port, and the debug log says which worker took it.
who() { # who LINE: the pid of the tracker worker that registered LINE
	grep "tracker: registered $1 in 51pwn/$G" "$T/log" | tail -n 1 |
	    sed 's/^natserver\[\([0-9]*\)\].*/\1/'
}
reg 198.51.100.4:1004 0 >/dev/null || fail "register 1004"
w1=$(who "198.51.100.4:1004")
[ -n "$w1" ] || fail "no worker logged the registration"
for i in $(seq 1 60); do
	out=$(reg 198.51.100.1:1001 0) || fail "register 1001"
	w2=$(who "198.51.100.1:1001")
	[ "$w2" != "$w1" ] && break
done
[ "$w2" != "$w1" ] || fail "every registration went to worker $w1"
echo "$out" | grep -qx "198.51.100.4:1004" ||
    fail "worker $w2 did not see worker $w1's member: $out"
pass "workers share the group (worker $w1 stored, worker $w2 listed)"

# IPv6: over UDP and TCP, the caller as [addr]:port.
out=$("$PROBE" ::1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/natkit-v6-group/0/0")
echo "$out" | grep -Eqx '\[::1\]:[0-9]+' || fail "v6 registration: '$out'"
exec 3<>"/dev/tcp/::1/$TRACKER_PORT" || fail "v6 tcp"
printf '//51pwn/P2P&E2E/natkit-v6-group/0/0\n' >&3
read -r -t 5 a1 <&3; read -r -t 5 a2 <&3
exec 3<&-
echo "$a1" | grep -Eqx '\[::1\]:[0-9]+' || fail "v6 tcp registration: '$a1'"
[ "$a2" = "$out" ] || fail "v6 tcp: the UDP member missing: '$a2'"
pass "IPv6 registrations over UDP and TCP"

# The group is full at 4 members.
out=$(reg 198.51.100.5:1005 0)
[ "$out" = "error: group full" ] || fail "5th member: '$out'"
pass "group full"

# Bad requests get short errors.
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 '//51pwn/P2P&E2E/short/0/0')
[ "$out" = "error: bad group" ] || fail "short group: '$out'"
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/$G/1.1.1.1:1,2.2.2.2:2,3.3.3.3:3,4.4.4.4:4/0")
[ "$out" = "error: too many addresses" ] || fail "too many: '$out'"
pass "bad requests"

# A UDP answer is at most max(3 x request, 128) bytes, cut with +more;
# natclient then asks again over TCP and gets everyone.  Members with
# three public and five LAN addresses make long lines.
G2=natkit-cut-group
lan=aabbccddeeff-2001:db8:aaaa::1,2001:db8:aaaa::2,2001:db8:aaaa::3,2001:db8:aaaa::4,2001:db8:aaaa::5
for i in 1 2 3; do
	"$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 \
	    "//51pwn/P2P&E2E/$G2/[2001:db8::$i]:1,[2001:db8::$i]:2,[2001:db8::$i]:3/$lan" >/dev/null
done
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//51pwn/P2P&E2E/$G2/0/0")
[ ${#out} -le 128 ] || fail "answer of ${#out} bytes to a short request"
echo "$out" | tail -n 1 | grep -qx "+more" || fail "no +more: $out"
out=$("$NATCLIENT" -s "127.0.0.1:$TRACKER_PORT" --public "[2001:db8::1]:1" register --once "$G2")
[ "$(echo "$out" | grep -c '^+ ')" -eq 3 ] || fail "natclient register: $out"
echo "$out" | grep -q "^+ \[2001:db8::3\]:1,\[2001:db8::3\]:2,\[2001:db8::3\]:3;2001:db8:aaaa::1," ||
    fail "natclient register: $out"
out=$("$NATCLIENT" --json -s "127.0.0.1:$TRACKER_PORT" --public 198.51.100.2:1002 peers "$G")
echo "$out" | grep -q '"members":\["198.51.100.1:1001' || fail "peers --json: $out"
pass "+more over UDP, the whole list over TCP"

# The registration limit per source IP (40 at once, 60 a minute): the
# 41st is refused, plus one more for each second the loop took, since
# the bucket refills at one a second (so a busy machine passes too).
t0=$(date +%s)
for i in $(seq 1 200); do
	out=$(reg -b 127.0.0.3 198.51.100.9:9 0)
	[ "$out" = "error: rate limited" ] && break
done
late=$(($(date +%s) - t0 + 1))
[ "$i" -ge 41 ] && [ "$i" -le $((41 + late)) ] ||
    fail "rate limited after $i registrations, not 41 (to $((41 + late)) in ${late} s)"
reg 198.51.100.1:1001 0 | grep -q "^198.51.100.1:1001" || fail "other IPs limited too"
pass "registrations limited per IP"

# An empty tracker list is an answer, not a time-out.
out=$("$NATCLIENT" --timeout 5 -s "127.0.0.1:$TRACKER_PORT" trackers 2>&1) ||
    fail "an empty tracker list: $out"
[ -z "$out" ] || fail "an empty tracker list printed '$out'"
out=$("$NATCLIENT" --timeout 5 --json -s "127.0.0.1:$TRACKER_PORT" trackers 2>&1)
[ "$out" = '{"trackers":[]}' ] || fail "an empty tracker list in JSON: $out"
pass "an empty tracker list is answered (and printed as [] in JSON)"

# Trackers: 10 registrations a minute per IP, the 11th refused.
for i in $(seq 1 11); do
	out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//tcksvr/192.0.2.$i:3478")
done
[ "$out" = "error: rate limited" ] || fail "11th tracker registration: '$out'"
out=$("$NATCLIENT" -s "127.0.0.1:$TRACKER_PORT" trackers)
[ "$(echo "$out" | wc -l)" -eq 10 ] || fail "trackers: $out"
echo "$out" | grep -qx "192.0.2.10:3478" || fail "trackers: $out"
pass "tracker list and its rate limit"
n=$(metric 'natkit_drops_ratelimit_total{kind="tracker"}')
[ "$n" = 2 ] || fail "$n rate-limited requests counted, not 2"
pass "rate limits counted"
first=$MASTER
first_port=$TRACKER_PORT
first_log=$T/log

# Federation: a second server announces itself to the first.
T2=$T/second
mkdir -p "$T2"
pick_ports
write_conf "$T2/natserver.conf" "server.external_address = 127.0.0.1" \
    "tracker.peers = 127.0.0.1:$first_port" "tracker.announce_interval = 1"
sed -i "s|$T/natserver.pid|$T2/natserver.pid|" "$T2/natserver.conf"
"$NATSERVER" -d -c "$T2/natserver.conf" >"$T2/log" 2>&1 &
second=$!
STARTED+=("$second")
announced() {
	"$NATCLIENT" -s "127.0.0.1:$first_port" trackers | grep -qx "127.0.0.1:$TRACKER_PORT"
}
wait_for 100 announced || fail "the second server was not announced"
kill -TERM "$second"
wait_gone "$second" 100
pass "federation: 127.0.0.1:$TRACKER_PORT announced itself"

# Members expire (member_ttl); so do trackers (peer_ttl).
TRACKER_PORT=$first_port
kill -TERM "$first"
wait_gone "$first" 100
start_server tracker.member_ttl=1 tracker.peer_ttl=1
reg 198.51.100.1:1001 0 >/dev/null
"$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//tcksvr/192.0.2.1:3478" >/dev/null
sleep 2.2
out=$(reg 198.51.100.2:1002 0)
[ "$out" = "198.51.100.2:1002" ] || fail "expired member still listed: $out"
out=$("$PROBE" 127.0.0.1 "$TRACKER_PORT" 2000 "//tcksvr")
[ -z "$out" ] || fail "expired tracker still listed: '$out'"
pass "members and trackers expire"
