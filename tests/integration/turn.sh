# TURN on the tracker port: coturn's turnutils_uclient through natserver
# to turnutils_peer (channels, Send/Data, client to client, EVEN-PORT
# reservations, long-term and REST API credentials, UDP and TCP), then what
# turnutils_uclient does not reach (turnprobe.py): the 401 challenge and
# its size, wrong passwords, expired REST names, stale nonces, denied
# peer addresses, quotas, the Allocate rate, and junk.
. "$TESTLIB"

for tool in turnutils_uclient turnutils_peer; do
	command -v $tool >/dev/null || fail "$tool missing (Debian package coturn)"
done
TP="python3 $SRCDIR/tests/integration/turnprobe.py"
SECRET=northwind-turn-secret-$$

(umask 077 && printf '# TURN users\nalice:alice-pw\nbob:0x%s\n' \
    "$(printf 'bob:natkit-test:bob-pw' | md5sum | cut -c1-32)" >"$T/turnusers" &&
    echo "$SECRET" >"$T/turnsecret")
# Peers and relayed addresses on 127.0.0.2: the only peers allowed, so
# that 127.0.0.1 (the server's own loopback) stays refused.
TURN_CONF=("turn.realm = natkit-test" "turn.users_file = $T/turnusers"
    "turn.secret_file = $T/turnsecret" "turn.relay_address = 127.0.0.2 ::1"
    "turn.allowed_peer = 127.0.0.2")
start_server "${TURN_CONF[@]}"
PEER_PORT=$(free_port)
turnutils_peer -L 127.0.0.2 -p "$PEER_PORT" >"$T/peer.log" 2>&1 &
STARTED+=($!)

# uclient ARGS...: a run through the relay to the peer; no loss.
uclient() {
	local out
	out=$(timeout 120 turnutils_uclient -p "$TRACKER_PORT" -e 127.0.0.2 \
	    -r "$PEER_PORT" -n 100 -m 4 -z 5 "$@" 127.0.0.1 2>&1)
	echo "$out" | grep -q "Total lost packets 0 (0.000000%)" ||
	    fail "turnutils_uclient $*: $(echo "$out" | tail -5)"
	echo "$out" | grep -q "tot_recv_msgs=[1-9]" ||
	    fail "turnutils_uclient $* received nothing: $(echo "$out" | tail -5)"
}
uclient -u alice -w alice-pw
pass "turnutils_uclient: channels, RTP/RTCP with an EVEN-PORT reservation"
uclient -u alice -w alice-pw -s
pass "turnutils_uclient -s: Send and Data indications"
uclient -u bob -w bob-pw -y
pass "turnutils_uclient -y: client to client, key from the users file (0x)"
uclient -u carol -W "$SECRET"
pass "turnutils_uclient -W: TURN REST API credentials"
uclient -u alice -w alice-pw -G -c
pass "turnutils_uclient -G: extra permissions and channel binds"
uclient -u alice -w alice-pw -t
uclient -u bob -w bob-pw -t -s -y
pass "turnutils_uclient -t: TURN over TCP (channels, Send/Data, client to client)"
[ "$(metric 'natkit_turn_packets_from_peers_total{kind="tracker"}')" -ge 1000 ] ||
    fail "turn_packets_from_peers_total: $(metric 'natkit_turn_packets_from_peers_total{kind="tracker"}')"

# The challenge: 401 with realm and nonce, within max(3 x request, 128).
read -r code len reqlen <<<"$($TP 127.0.0.1 "$TRACKER_PORT" noauth)"
[ "$code" = 401 ] || fail "no 401 for an Allocate without credentials: $code"
cap=$((reqlen * 3 > 128 ? reqlen * 3 : 128))
[ "$len" -le "$cap" ] || fail "401 of $len bytes for a $reqlen-byte request"
pass "401 challenge: $len bytes for $reqlen"

# Over TCP an allocation lives as long as its connection.
allocs=$(metric natkit_turn_allocations)
out=$($TP 127.0.0.1 "$TRACKER_PORT" tcp alice alice-pw)
[ "$out" = ok ] || fail "allocation over TCP: $out"
gauge_back() { [ "$(metric natkit_turn_allocations)" -eq "$allocs" ]; }
wait_for 100 gauge_back || fail "a closed TCP connection's allocation stayed"
pass "TCP: the allocation goes with its connection"

out=$($TP 127.0.0.1 "$TRACKER_PORT" alloc alice alice-pw sha256)
[ "$out" = ok ] || fail "MESSAGE-INTEGRITY-SHA256: $out"
out=$($TP ::1 "$TRACKER_PORT" alloc alice alice-pw)
[ "$out" = ok ] || fail "IPv6 allocation: $out"
out=$($TP 127.0.0.1 "$TRACKER_PORT" alloc6 alice alice-pw)
[ "$out" = "ok ipv6" ] || fail "REQUESTED-ADDRESS-FAMILY IPv6 from an IPv4 client: $out"
pass "MESSAGE-INTEGRITY-SHA256; IPv6 allocations (from ::1, and asked for from 127.0.0.1)"

failed=$(metric 'natkit_turn_auth_failures_total{kind="tracker"}')
out=$($TP 127.0.0.1 "$TRACKER_PORT" alloc alice wrong-pw)
[ "$out" = 401 ] || fail "wrong password: $out"
out=$($TP 127.0.0.1 "$TRACKER_PORT" alloc nobody alice-pw)
[ "$out" = 401 ] || fail "unknown user: $out"
out=$($TP 127.0.0.1 "$TRACKER_PORT" rest "$SECRET" -10 1)
[ "$out" = 401 ] || fail "expired REST user name: $out"
out=$($TP 127.0.0.1 "$TRACKER_PORT" rest "wrong-$SECRET" 600 1)
[ "$out" = 401 ] || fail "REST password from another secret: $out"
[ "$(metric 'natkit_turn_auth_failures_total{kind="tracker"}')" -eq $((failed + 4)) ] ||
    fail "auth failures not counted"
grep -q "turn: wrong password from 127.0.0.1:[0-9]* (user 'alice')" "$T/log" ||
    fail "no log line for a wrong password"
pass "401: wrong password, unknown user, expired and forged REST names (counted, logged)"

out=$($TP 127.0.0.1 "$TRACKER_PORT" others alice alice-pw bob bob-pw)
[ "$out" = "441 437 442" ] || fail "another user, a second Allocate, TCP relaying: $out"
pass "441 for another user's Refresh, 437 for a second Allocate, 442 for TCP relaying"

# Denied peers: 403, IPv4 through an IPv4 allocation, IPv6 through one
# of IPv6 (another family is 443).
out=$($TP 127.0.0.1 "$TRACKER_PORT" perm alice alice-pw 127.0.0.1 0.0.0.0 \
    10.0.0.1 169.254.0.1 224.0.0.1 255.255.255.255 127.0.0.2 ::1)
[ "$out" = "403 403 403 403 403 403 ok 443" ] || fail "IPv4 peers: $out"
out=$($TP ::1 "$TRACKER_PORT" perm alice alice-pw ::1 :: ::ffff:127.0.0.1 \
    ::ffff:10.0.0.1 fe80::1 fd00::1 ff02::1 64:ff9b::7f00:1 ::ffff:127.0.0.2)
[ "$out" = "403 403 403 403 403 403 403 403 ok" ] || fail "IPv6 peers: $out"
out=$($TP 127.0.0.1 "$TRACKER_PORT" bind alice alice-pw 127.0.0.1 127.0.0.2)
[ "$out" = "403 ok" ] || fail "ChannelBind to a denied peer: $out"
[ "$(metric 'natkit_turn_peers_denied_total{kind="tracker"}')" -ge 15 ] ||
    fail "denied peers not counted"
pass "403 for loopback, unspecified, private, link-local, multicast, mapped and NAT64 peers"

junk=$(metric 'natkit_drops_junk_total{kind="tracker"}')
out=$($TP 127.0.0.1 "$TRACKER_PORT" junk)
[ "$out" = silent ] || fail "junk was answered: $out"
[ "$(metric 'natkit_drops_junk_total{kind="tracker"}')" -ge $((junk + 3)) ] ||
    fail "junk not counted"
[ "$(metric 'natkit_turn_drops_no_permission_total{kind="tracker"}')" -ge 2 ] ||
    fail "ChannelData and Send without an allocation not counted"
pass "malformed and truncated requests: no answer, counted"

# Quotas, the Allocate rate and stale nonces, with small limits.
restart_server "${TURN_CONF[@]}" "turn.user_quota = 2" "turn.allocate_burst = 4" \
    "turn.allocate_per_minute = 1" "turn.nonce_lifetime = 10"
out=$($TP 127.0.0.1 "$TRACKER_PORT" quota alice alice-pw 3)
[ "$out" = "ok ok 486" ] || fail "user quota: $out"
pass "486 past turn.user_quota"
out=$($TP 127.0.0.1 "$TRACKER_PORT" rest "$SECRET" 600 4)
[ "$out" = "ok ok 486 486" ] || fail "Allocate rate: $out"
[ "$(metric 'natkit_drops_ratelimit_total{kind="tracker"}')" -ge 2 ] ||
    fail "Allocate rate refusals not counted"
pass "486 past turn.allocate_burst from one address"
out=$($TP ::1 "$TRACKER_PORT" stale bob bob-pw 11)
[ "$out" = "438 ok" ] || fail "stale nonce: $out"
pass "438 for a nonce older than turn.nonce_lifetime, then a new one works"
[ "$(metric 'natkit_turn_allocations')" -ge 1 ] || fail "no allocations gauge"

# turn.max_bps and turn.max_allocations.
restart_server "${TURN_CONF[@]}" "turn.max_allocations = 2" "turn.max_bps = 1000"
out=$($TP 127.0.0.1 "$TRACKER_PORT" flood alice alice-pw 127.0.0.2 "$PEER_PORT" 10 1000)
# The cap counts both ways: the first 1000 B reach the peer, its echo
# and the other nine are over.
case $out in "back 0" | "back 1") ;; *) fail "10 KB at once past a 1000 B/s cap: $out" ;; esac
[ "$(metric 'natkit_turn_packets_to_peers_total{kind="tracker"}')" -ge 1 ] ||
    fail "nothing passed a 1000 B/s cap"
[ "$(metric 'natkit_turn_drops_over_bandwidth_total{kind="tracker"}')" -ge 9 ] ||
    fail "drops over turn.max_bps not counted"
pass "turn.max_bps: of 10 KB at once (and its echo) 1000 B passed, the rest dropped and counted"
out=$($TP 127.0.0.1 "$TRACKER_PORT" quota bob bob-pw 2)
[ "$out" = "ok 508" ] || fail "turn.max_allocations: $out"
[ "$(metric 'natkit_turn_allocations_no_capacity_total{kind="tracker"}')" -ge 1 ] ||
    fail "508 not counted"
pass "508 past turn.max_allocations (all workers)"
