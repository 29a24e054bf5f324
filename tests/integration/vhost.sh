# The relay's HTTP and HTTPS virtual hosts, end to end: two clients
# (alice and bob, per-client tokens, each an agent) expose web services
# by name on one HTTP port and one HTTPS port of one natserver with two
# relay workers (a visitor accepted by one worker is served by the
# other's exposure).  curl reaches each name's own service; a name
# nobody exposes gets 404; a second client's claim of a taken name is
# refused; a name outside a client's domains= is refused; WebSocket and
# keep-alive pass through; HTTPS is routed by SNI and verified end to
# end by curl against the services' own certificates; bad visitors (a
# 1 MiB head, a drip past the deadline, junk, a reflected host, bad
# ClientHellos) each get their answer and the server serves on; a
# service that is down is a 502, pooled or dialled back; metrics count
# per domain; a reload (SIGHUP) keeps a WebSocket open across it and the
# names come back to their clients.
TLS=yes
RELAY_WORKERS=2
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v curl >/dev/null || fail "curl is not installed (the README's test command installs it)"
command -v openssl >/dev/null || fail "openssl is not installed"
V="python3 $SRCDIR/tests/integration/vhost.py"

umask 077
printf 'alice alice-token-0123456789abcdef domains=*.alice.test,shop.test\nbob bob-token-0123456789abcdef\n' >"$T/tokens"
echo alice-token-0123456789abcdef >"$T/alice.token"
echo bob-token-0123456789abcdef >"$T/bob.token"
H=$((61000 + RANDOM % 4000))
S=$((H + 1))
start_server "relay.token_file = $T/tokens" "relay.http_listen = 127.0.0.1:$H" \
    "relay.https_listen = 127.0.0.1:$S" "relay.subdomain_host = relay.test" \
    "relay.http_head_timeout = 3" "relay.handshake_timeout = 3"
grep -q "relay listens on tcp:127.0.0.1:$RELAY_PORT http:127.0.0.1:$H https:127.0.0.1:$S$" "$T/log" ||
    fail "the startup line does not name the web ports: $(grep 'relay listens' "$T/log")"

# The services: three HTTP, two HTTPS with their own certificates.
for n in A B C; do
	eval "P$n=\$((H + 10 + \$(printf '%d' \"'$n\") - 65))"
done
PT1=$((H + 20))
PT2=$((H + 21))
DOWN=$((H + 29)) # nothing listens there
for n in secure.alice.test secure.bob.test; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$n" \
	    -addext "subjectAltName=DNS:$n" -keyout "$T/$n.key" -out "$T/$n.crt" \
	    2>/dev/null || fail "openssl could not make a certificate for $n"
done
$V serve-http "$PA" A >"$T/a.out" 2>&1 &
STARTED+=("$!")
$V serve-http "$PB" B >"$T/b.out" 2>&1 &
STARTED+=("$!")
$V serve-http "$PC" C >"$T/c.out" 2>&1 &
STARTED+=("$!")
$V serve-tls "$PT1" T1 "$T/secure.alice.test.crt" "$T/secure.alice.test.key" >"$T/t1.out" 2>&1 &
STARTED+=("$!")
$V serve-tls "$PT2" T2 "$T/secure.bob.test.crt" "$T/secure.bob.test.key" >"$T/t2.out" 2>&1 &
STARTED+=("$!")
for f in a b c t1 t2; do
	wait_for 100 grep -q serving "$T/$f.out" || fail "service $f did not start: $(cat "$T/$f.out")"
done

agent() { # who: write its config, start it
	local who=$1
	shift
	{
		printf '[client]\nserver = 127.0.0.1:%s\nrelay = 127.0.0.1:%s\ntoken_file = %s\ncontrol_socket = %s\nknown_servers = %s\n' \
		    "$NAMED_PORT" "$RELAY_PORT" "$T/$who.token" "$T/$who.sock" "$T/known"
		printf '%s\n' "$@"
	} >"$T/$who.conf"
	"$NATCLIENT" -c "$T/$who.conf" -t >/dev/null || fail "-t: $("$NATCLIENT" -c "$T/$who.conf" -t 2>&1)"
	"$NATCLIENT" -c "$T/$who.conf" up >"$T/$who.out" 2>"$T/$who.err" &
	STARTED+=("$!")
}
agent alice '[expose a]' 'type = http' "local_port = $PA" 'domain = a.alice.test' \
    '[expose wild]' 'type = http' "local_port = $PA" 'domain = *.w.alice.test' \
    '[expose shop]' 'type = http' "local_port = $PB" 'domain = shop.test' 'pool = 0' \
    '[expose down]' 'type = http' "local_port = $DOWN" 'domain = down.alice.test' \
    '[expose down0]' 'type = http' "local_port = $DOWN" 'domain = down0.alice.test' 'pool = 0' \
    '[expose tls]' 'type = https' "local_port = $PT1" 'domain = secure.alice.test' \
    '[expose downs]' 'type = https' "local_port = $DOWN" 'domain = downs.alice.test'
agent bob '[expose c]' 'type = http' "local_port = $PC" 'subdomain = bob' \
    '[expose tls]' 'type = https' "local_port = $PT2" 'domain = secure.bob.test'
exposed() { # who n
	[ "$("$NATCLIENT" -c "$T/$1.conf" --json status | grep -o '"state":"exposed"' | wc -l)" = "$2" ]
}
wait_for 150 exposed alice 7 || fail "alice: not all exposed: $("$NATCLIENT" -c "$T/alice.conf" status) $(cat "$T/alice.err")"
wait_for 150 exposed bob 2 || fail "bob: not all exposed: $("$NATCLIENT" -c "$T/bob.conf" status) $(cat "$T/bob.err")"
"$NATCLIENT" -c "$T/bob.conf" status | grep -q "http://bob.relay.test" ||
    fail "status does not show bob's URL: $("$NATCLIENT" -c "$T/bob.conf" status)"

get() { # name [curl args]: the body, or the status line
	local name=$1
	shift
	curl -sS --max-time 10 --resolve "$name:$H:127.0.0.1" "$@" "http://$name:$H/p"
}
for i in 1 2 3; do # several visitors: pooled, dialled back, either worker
	out=$(get a.alice.test) && [[ $out == "A host=a.alice.test:$H xff=127.0.0.1 fwd=for=127.0.0.1;proto=http path=/p body=0 n=1" ]] ||
	    fail "a.alice.test: $out"
	[[ $(get shop.test) == "B host=shop.test:$H "* ]] || fail "shop.test: $(get shop.test)"
	[[ $(get bob.relay.test) == "C host=bob.relay.test:$H "* ]] || fail "bob.relay.test: $(get bob.relay.test)"
	[[ $(get x.w.alice.test) == "A host=x.w.alice.test:$H "* ]] || fail "x.w.alice.test: $(get x.w.alice.test)"
	[[ $(get A.Alice.Test.) == "A host=A.Alice.Test.:$H "* ]] || fail "A.Alice.Test.: $(get A.Alice.Test.)"
done
out=$(curl -sS --max-time 10 --resolve "a.alice.test:$H:127.0.0.1" --data-binary @"$SRCDIR/README" "http://a.alice.test:$H/post")
[[ $out == *"path=/post body=$(wc -c <"$SRCDIR/README") n=1" ]] || fail "a POST: $out"
code=$(curl -s -o "$T/404" -w '%{http_code}' --max-time 10 --resolve "nobody.test:$H:127.0.0.1" "http://nobody.test:$H/")
[ "$code" = 404 ] && grep -q "No service is exposed" "$T/404" || fail "an unknown name: $code $(cat "$T/404")"
pass "two clients, five names on one HTTP port: each its own service (exact, wildcard, subdomain, any case), X-Forwarded-For and Forwarded added, a POST's body whole; an unknown name 404"

# Owned names: a second client's claim is refused; so is a name outside domains=.
out=$("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --relay "127.0.0.1:$RELAY_PORT" --known-servers "$T/known" \
    --token-file "$T/bob.token" expose http "$PC" --domain shop.test 2>&1) && fail "bob took shop.test: $out"
grep -q "domain_taken" <<<"$out" || fail "a taken name, not said: $out"
out=$("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --relay "127.0.0.1:$RELAY_PORT" --known-servers "$T/known" \
    --token-file "$T/alice.token" expose http "$PA" --domain evil.test 2>&1) && fail "alice took evil.test: $out"
grep -q "domain_not_allowed" <<<"$out" || fail "a name outside domains=, not said: $out"
[[ $(get shop.test) == "B host=shop.test:$H "* ]] || fail "shop.test after bob's claim: $(get shop.test)"
"$NATCLIENT" -c "$T/alice.conf" -t >/dev/null
printf '[expose x]\ntype = http\nlocal_port = 1\n' >"$T/bad.conf"
out=$("$NATCLIENT" -c "$T/bad.conf" -t 2>&1) && fail "-t passed http without a name"
grep -q "domain or subdomain" <<<"$out" || fail "-t: $out"
printf '[expose x]\ntype = https\nlocal_port = 1\ndomain = a.test bad_name.test\n' >"$T/bad.conf"
out=$("$NATCLIENT" -c "$T/bad.conf" -t 2>&1) && fail "-t passed a bad name"
grep -q "bad.conf:1: .*'bad_name.test' is not a host name" <<<"$out" || fail "-t: $out"
pass "owned names: bob's claim of alice's shop.test is refused (domain_taken), alice's evil.test (domain_not_allowed); -t names a missing or bad domain"

out=$($V ws "$H" a.alice.test) || fail "WebSocket: $out"
[ "$out" = "A one | A twotwotwotwotw" ] || fail "WebSocket echo: $out"
out=$($V keepalive "$H" a.alice.test,a.alice.test,a.alice.test) || fail "keep-alive: $out"
[ "$out" = "A1:200 A2:200 A3:200" ] || fail "keep-alive: $out"
pass "a WebSocket through the relay: handshake, two messages each way; three requests on one kept-alive connection"

# Per-request routing: one kept-alive connection asks several hosts;
# each request reaches its own host's service (alice's, bob's, pooled or
# dialled back), one after the other or pipelined, in order.  Requests
# for one exposure share a connection to it (n counts them); a body that
# holds request bytes stays body; an unknown host in the middle gets 404.
spec=a.alice.test,A.ALICE.TEST,shop.test,post:a.alice.test,a.alice.test,x.w.alice.test,bob.relay.test,bob.relay.test,a.alice.test
want="A1:200 A2:200 B1:200 A1:200 A2:200 A1:200 C1:200 C2:200 A1:200"
for mode in one pipe; do
	out=$($V keepalive "$H" "$spec" $mode) || fail "per-request routing ($mode): $out"
	[ "$out" = "$want" ] || fail "per-request routing ($mode): $out, not $want"
done
relays=$(workers relay | tr '\n' ' ')
out=$($V keepalive "$H" shop.test,nobody.test,shop.test pipe)
[ "$out" = "B1:200 -:404" ] || fail "an unknown host after a known one: $out"
[ "$(workers relay | tr '\n' ' ')" = "$relays" ] || fail "a relay worker died"
pass "per-request routing: one kept-alive connection, nine requests to four services of two clients, one by one and pipelined, each answered by its own host's service in order; a body holding requests stays body; an unknown host in the middle gets 404"

for n in secure.alice.test:T1 secure.bob.test:T2; do
	out=$(curl -sS --max-time 10 --resolve "${n%:*}:$S:127.0.0.1" --cacert "$T/${n%:*}.crt" "https://${n%:*}:$S/s") ||
	    fail "https://${n%:*}: $out"
	[[ $out == "${n#*:} host=${n%:*}:$S "* ]] || fail "https://${n%:*}: $out"
done
curl -sS --max-time 10 --resolve "nobody.test:$S:127.0.0.1" -k "https://nobody.test:$S/" >"$T/curl.out" 2>&1 &&
    fail "an unknown TLS name was served"
grep -qi "alert\|unrecognized" "$T/curl.out" || fail "an unknown TLS name: $(cat "$T/curl.out")"
pass "HTTPS by SNI, not terminated: curl verifies each service's own certificate end to end; an unknown name gets a TLS alert"

bad() { # port kind expected
	out=$($V raw "$1" "$2")
	[[ $out == $3* ]] || fail "$2: $out, not $3"
	[[ $out != *reflected* ]] || fail "$2: the request was reflected: $out"
}
bad "$H" bighead "HTTP/1.1 431"
bad "$H" junk "HTTP/1.1 400"
bad "$H" badhost "HTTP/1.1 400"
bad "$H" drip "HTTP/1.1 408 Request Timeout after 3"
bad "$S" tls-bad "alert 50"
bad "$S" tls-trunc "alert 50 after 3"
bad "$S" tls-longsni "alert 50"
bad "$S" tls-nosni "alert 50"
# The same after a good request on a kept-alive connection: each bad
# head is answered as a first one would be, after the good answer; half
# a head and the end of input go to the service, which closes.
relays=$(workers relay | tr '\n' ' ')
bad "$H" later-bighead "A1:200 then HTTP/1.1 431"
bad "$H" later-junk "A1:200 then HTTP/1.1 400"
bad "$H" later-drip "A1:200 then HTTP/1.1 408 Request Timeout after [34]"
bad "$H" later-cut "A1:200 then closed b'' after [01]"
[ "$(workers relay | tr '\n' ' ')" = "$relays" ] || fail "a relay worker died"
[[ $(get a.alice.test) == "A host="* ]] || fail "served no more after bad visitors"
pass "bad visitors: a 1 MiB head 431, junk 400, a bad Host 400 (not reflected), a drip 408 at its deadline, bad, truncated, over-long and nameless ClientHellos a TLS alert; the same heads after a good request on one connection; the server serves on"

for n in down.alice.test down0.alice.test; do
	code=$(curl -s -o "$T/502" -w '%{http_code}' --max-time 10 --resolve "$n:$H:127.0.0.1" "http://$n:$H/")
	[ "$code" = 502 ] || fail "$n (service down): $code $(cat "$T/502")"
done
bad "$S" tls-down "alert 80"
pass "a service that is down: 502, pooled (the agent says it) and dialled back (the relay says it); over HTTPS a TLS internal_error alert"

curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >"$T/metrics"
grep -q '^natkit_exposure_visitors_total{name="a.alice.test"} [1-9]' "$T/metrics" || fail "no visitors counted for a.alice.test: $(grep exposure_ "$T/metrics")"
# Every request counted, kept-alive ones too: more than visitors.
req=$(awk '$1 == "natkit_exposure_requests_total{name=\"a.alice.test\"}" { print $2 }' "$T/metrics")
vis=$(awk '$1 == "natkit_exposure_visitors_total{name=\"a.alice.test\"}" { print $2 }' "$T/metrics")
[ "${req:-0}" -gt "${vis:-0}" ] || fail "requests of a.alice.test: ${req:-none}, visitors $vis"
grep -q '^natkit_exposure_errors_total{name="down0.alice.test"} [1-9]' "$T/metrics" || fail "no errors counted for down0: $(grep exposure_ "$T/metrics")"
grep -q '^natkit_vhost_unknown_hosts_total{kind="relay"} [2-9]' "$T/metrics" || fail "unknown hosts: $(grep vhost "$T/metrics")"
grep -Eq '^natkit_vhost_bad_requests_total\{kind="relay"\} ([5-9]|[1-9][0-9]+)$' "$T/metrics" || fail "bad requests: $(grep vhost "$T/metrics")"
grep -q '^natkit_table_records{type="relay_domain"} 9' "$T/metrics" || fail "domain records: $(grep relay_domain "$T/metrics")"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1 || fail "promtool: $(cat "$T/promtool.out")"
fi
pass "metrics: visitors, requests (kept-alive ones too) and errors per domain, unknown hosts and bad heads counted, 9 domain records"

# A reload: the relay workers drain (the open WebSocket goes on), the
# agents reconnect to the new ones and claim their names again.
$V ws-hold "$H" a.alice.test 6 >"$T/hold.out" 2>&1 &
HOLD=$!
wait_for 100 grep -q open "$T/hold.out" || fail "the WebSocket to hold: $(cat "$T/hold.out")"
kill -HUP "$MASTER"
wait_for 100 grep -q "reload" "$T/log" || fail "no reload: $(tail "$T/log")"
back() { [[ $(get a.alice.test 2>/dev/null) == "A host="* ]] && [[ $(get bob.relay.test 2>/dev/null) == "C host="* ]]; }
wait_for 150 back || fail "the names did not come back after the reload: $(get a.alice.test 2>&1) $(tail -20 "$T/log")"
wait "$HOLD" || fail "the held WebSocket: $(cat "$T/hold.out")"
grep -q "^A before | A after$" "$T/hold.out" || fail "the held WebSocket: $(cat "$T/hold.out")"
grep -q "domain_taken" "$T/alice.err" "$T/bob.err" && fail "a client's own name was refused after the reload"
pass "a reload: a WebSocket open across it echoes after it; the agents claim their names again in the new workers"

# A relay worker killed: the master starts another, the agents whose
# control connections it held reconnect and claim their names again
# (their own: no domain_taken), and every name is served.
wait_for 100 has_workers relay 2 || fail "two relay workers after the reload: $(workers relay)"
kill -KILL $(workers relay)
wait_for 100 has_workers relay 2 || fail "the relay workers were not started again"
wait_for 200 back || fail "the names did not come back after the workers died: $(get a.alice.test 2>&1)"
for n in shop.test x.w.alice.test; do
	wait_for 100 eval '[[ $(get '$n' 2>/dev/null) == *" host='$n':$H "* ]]' || fail "$n after the workers died: $(get $n 2>&1)"
done
out=$(curl -sS --max-time 10 --resolve "secure.bob.test:$S:127.0.0.1" --cacert "$T/secure.bob.test.crt" "https://secure.bob.test:$S/s") ||
    fail "https after the workers died: $out"
grep -q "domain_taken" "$T/alice.err" "$T/bob.err" && fail "a client's own name was refused after the workers died"
pass "both relay workers killed: new ones start, the agents claim their names again, every name is served"
