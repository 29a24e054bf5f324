# Named sessions (rendezvous, 8848): natclient listen and connect on
# loopback with two rendezvous workers, and the JSON protocol's answers
# to good and bad input, expiry and rate limits.
. "$TESTLIB"

RENDEZVOUS_WORKERS=2 start_server "rendezvous.name_ttl = 5" \
    "rendezvous.connect_burst = 3" "rendezvous.connect_per_minute = 1" \
    "rendezvous.register_burst = 30" "rendezvous.register_per_minute = 1" \
    "rendezvous.list_burst = 6" "rendezvous.list_per_minute = 1" \
    "rendezvous.list = yes"
C=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" "${TRUST[@]}")

expect() { # what output
	grep -q -- "$1" <<<"$2" || fail "no '$1' in: $2"
}

# A stream both ways, through clients that both workers may hold.
head -c 1000000 /dev/urandom >"$T/a"
head -c 1000000 /dev/urandom >"$T/b"
"${C[@]}" listen office <"$T/a" >"$T/outA" 2>"$T/errA" &
listener=$!
listening() { named_session '{"type":"lookup","name":"office"}' | grep -q '"public":"127'; }
wait_for 100 listening || fail "the listener did not register: $(cat "$T/errA")"
"${C[@]}" --json connect office <"$T/b" >"$T/outB" 2>"$T/errB" ||
    fail "connect: $(cat "$T/errB")"
wait "$listener" || fail "listen: $(cat "$T/errA")"
cmp -s "$T/a" "$T/outB" && cmp -s "$T/b" "$T/outA" || fail "the streams differ"
expect '"result":"direct"' "$(cat "$T/errB")"
expect '"strategy":"lan"' "$(cat "$T/errB")"
pass "listen/connect: 1 MB each way over ENet, intact"

# Register, lookup, list; a live name cannot be taken.
"${C[@]}" --listed listen held >/dev/null 2>&1 </dev/null &
held=$!
wait_for 100 eval 'named_session "{\"type\":\"lookup\",\"name\":\"held\"}" | grep -q "\"public\":\"127"' ||
    fail "held was not registered"
out=$(named_session '{"type":"register","name":"held"}')
expect '"code":"name_owned"' "$out"
out=$(named_session '{"type":"list"}')
expect '"names":\[.*"held"' "$out"
out=$(named_session '{"type":"register","name":"mine","lan":["10.0.0.2:4000"],"nat":{"mapping":"EIM","allocation":"preserving"}}' \
    '{"type":"register","name":"again"}' '{"type":"keepalive"}')
expect '"type":"registered","name":"mine","token":"[0-9a-f]\{32\}"' "$out"
expect '"code":"already_registered"' "$out"
expect '"type":"keepalive"' "$out"
pass "register, lookup, list, keepalive; a held name is refused"

# A holder that died with its worker: its name is not looked up or
# connected to.  An unowned name (registered without a key) goes back to
# its source (127.0.0.1) at once, to another source (::1) only after
# name_ttl; an owned one ("held", by natclient's key) to no one without
# its key (owned.sh has the key's side).
# (Each named_session takes a second: two rounds, so that each name is
# tried inside its name_ttl.)
is_peer() { named_session "{\"type\":\"lookup\",\"name\":\"$1\"}" | grep -q '"type":"peer"'; }
dead_holder() { # name: registered without a key on a connection whose worker is then killed
	exec 5<>"/dev/tcp/127.0.0.1/$NAMED_PORT"
	printf '{"type":"register","name":"%s"}\n' "$1" >&5
	wait_for 100 is_peer "$1" || fail "$1 was not registered"
	kill -KILL $(workers rendezvous)
	wait_for 50 has_workers rendezvous 2 || fail "no rendezvous workers back"
	exec 5<&-
}
dead_holder free1
kill -KILL "$held" 2>/dev/null
out=$(NAMED_HOST=::1 named_session '{"type":"register","name":"free1"}')
expect '"code":"name_taken"' "$out"
out=$(named_session '{"type":"lookup","name":"free1"}' '{"type":"register","name":"free1"}')
expect '"code":"not_found"' "$out"
expect '"type":"registered","name":"free1"' "$out"
dead_holder free2
out=$(NAMED_HOST=::1 named_session '{"type":"register","name":"free2"}')
expect '"code":"name_taken"' "$out"
out=$(named_session '{"type":"lookup","name":"held"}' '{"type":"register","name":"held"}')
expect '"code":"not_found"' "$out"
expect '"code":"name_owned"' "$out"
sleep 5.5
out=$(NAMED_HOST=::1 named_session '{"type":"register","name":"free2"}')
expect '"type":"registered","name":"free2"' "$out"
pass "a holder whose worker died: not found; an unowned name's source takes it back at once, another source after name_ttl; an owned name no one without its key"

# A keepalive whose registration lapsed (other messages kept the
# connection open, but only keepalives refresh) is told so.
exec 4<>"/dev/tcp/127.0.0.1/$NAMED_PORT"
printf '%s\n' '{"type":"register","name":"lapse"}' >&4
for i in 1 2 3 4 5 6 7; do
	sleep 1
	printf '%s\n' '{"type":"lookup","name":"nobody"}' >&4
done
printf '%s\n' '{"type":"keepalive"}' '{"type":"keepalive"}' >&4
out=$(timeout 1 cat <&4)
exec 4<&-
expect '"type":"registered","name":"lapse"' "$out"
[ "$(grep -c '"code":"not_registered"' <<<"$out")" -eq 1 ] || fail "lapsed keepalives: $out"
expect '"type":"keepalive"' "$out"
pass "a keepalive after the registration lapsed gets not_registered (once; then the connection is anonymous)"

# A nat object whose strings would not fit the punch mail between
# workers is refused when it is registered, not dropped at connect.
out=$(named_session "{\"type\":\"register\",\"name\":\"big\",\"nat\":{\"mapping\":\"EIM\",\"allocation\":\"preserving\",\"filtering\":\"$(head -c 3900 /dev/zero | tr '\0' x)\"}}")
expect '"code":"bad_nat"' "$out"
out=$(named_session '{"type":"register","name":"big","nat":{"mapping":"EIM","allocation":"preserving","filtering":"x\ny"}}')
expect '"code":"bad_nat"' "$out"
pass "a nat object with a 3900-byte or malformed filtering is refused (bad_nat)"

# Bad input: an error each, and the connection goes on.
long=$(printf 'n%.0s' $(seq 1 33))
out=$(named_session 'not json' '[1,2]' '{"type":"fly"}' '{"type":"lookup","name":"x","extra":1}' \
    "{\"type\":\"register\",\"name\":\"$long\"}" '{"type":"register","name":"a b"}' \
    '{"type":"register","lan":["nonsense"]}' '{"type":"register","lan":"10.0.0.1:1"}' \
    '{"type":"register","nat":{"mapping":"XYZ","allocation":"random"}}' \
    '{"type":"connect","name":"x"}' '{"type":"lookup","name":"nobody"}' '{"type":"list"}')
for code in bad_json bad_message unknown_type unknown_field bad_name bad_lan bad_nat \
    not_observed not_found; do
	expect "\"code\":\"$code\"" "$out"
done
[ "$(grep -c '"code":"bad_name"' <<<"$out")" -eq 2 ] || fail "names: $out"
[ "$(grep -c '"code":"bad_lan"' <<<"$out")" -eq 2 ] || fail "lan: $out"
expect '"type":"list"' "$out"
pass "bad JSON, types, fields, names, candidates and NATs: an error each"

# An over-long line is refused and its connection closed.
out=$(named_session "{\"type\":\"lookup\",\"name\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}" '{"type":"list"}')
expect '"code":"too_long"' "$out"
grep -q '"type":"list"' <<<"$out" && fail "the connection went on after too_long"
pass "a line over 4096 bytes closes its connection"

# Connect attempts are rate-limited per IP: a bucket of 3, one of them
# taken by the first test.
exec 3<>"/dev/tcp/127.0.0.1/$NAMED_PORT"
printf '%s\n' '{"type":"register"}' >&3
read -r -t 2 line <&3 || fail "no answer to register"
token=$(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' <<<"$line")
printf '{"type":"udp","token":"%s"}' "$token" >"/dev/udp/127.0.0.1/$NAMED_PORT"
sleep 0.3
printf '%s\n' '{"type":"connect","name":"nobody"}' '{"type":"connect","name":"nobody"}' \
    '{"type":"connect","name":"nobody"}' >&3
out=$(timeout 1 cat <&3)
exec 3<&-
[ "$(grep -c '"code":"not_found"' <<<"$out")" -eq 2 ] || fail "connects: $out"
expect '"code":"rate_limited"' "$out"
out=$("${C[@]}" connect nobody 2>&1) && fail "connect to nobody succeeded"
expect "rate_limited" "$out"
pass "the fourth connect from one IP is refused"

# Registrations and lists are rate-limited per source IP: a flood from
# 127.0.0.1 is refused within its bucket (30, a few taken above, plus
# what a minute's refill of 1 may add), while ::1 is still served.
ok=0
for i in $(seq 1 40); do
	out=$(named_session "{\"type\":\"register\",\"name\":\"flood$i\"}")
	grep -q '"code":"rate_limited"' <<<"$out" && break
	ok=$((ok + 1))
done
[ "$ok" -lt 32 ] && grep -q '"code":"rate_limited"' <<<"$out" || fail "registrations: $ok, then $out"
out=$(NAMED_HOST=::1 named_session '{"type":"register","name":"other"}')
expect '"type":"registered","name":"other"' "$out"
out=$(named_session '{"type":"list"}' '{"type":"list"}' '{"type":"list"}' '{"type":"list"}' \
    '{"type":"list"}' '{"type":"list"}' '{"type":"list"}' '{"type":"list"}')
expect '"code":"rate_limited"' "$out"
out=$(NAMED_HOST=::1 named_session '{"type":"list"}')
expect '"type":"list"' "$out"
[ "$(metric 'natkit_drops_ratelimit_total{kind="rendezvous"}')" -ge 2 ] || fail "not counted"
pass "registrations ($ok) and lists from one IP are refused past their buckets (rate_limited), another IP served"

# Junk datagrams and unknown tokens are dropped and counted.
before=$(metric 'natkit_drops_junk_total{kind="rendezvous"}')
for i in $(seq 1 100); do printf 'junk' >"/dev/udp/127.0.0.1/$NAMED_PORT"; done
printf '{"type":"udp","token":"%032d"}' 0 >"/dev/udp/127.0.0.1/$NAMED_PORT"
printf '{"type":"udp","token":"zz"}' >"/dev/udp/127.0.0.1/$NAMED_PORT"
got() { [ "$(metric 'natkit_drops_junk_total{kind="rendezvous"}')" -ge $((before + 102)) ]; }
wait_for 50 got || fail "junk datagrams not counted"
has_workers rendezvous 2 || fail "a rendezvous worker died"
pass "junk datagrams and unknown tokens counted; workers alive"
