# TLS to the rendezvous and relay doors: natserver makes a self-signed
# certificate on first start and logs its fingerprint; natclient trusts
# the first certificate a server shows and refuses a changed one, keeps
# to a pinned fingerprint, verifies a CA-signed one with its host name;
# plaintext needs tls = no on both sides; streams cross it intact.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "relay-test-token-0123456789" >"$T/token"
start_server "relay.token_file = $T/token" "relay.port_range = 61300-61399"
E=("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token")
ECHO_PORT=61250
$PEER echo "$ECHO_PORT" &
STARTED+=("$!")
expose_bg() { # out [args]: natclient expose in the background
	local out=$1
	shift
	"${E[@]}" "$@" expose tcp "$ECHO_PORT" >"$T/$out" 2>"$T/$out.err" &
	EXPOSER=$!
	STARTED+=("$EXPOSER")
	wait_for 100 grep -q "^127.0.0.1:" "$T/$out" || fail "expose: $(cat "$T/$out.err")"
}
public() { sed -n 's/^127\.0\.0\.1://p' "$T/$1" | tail -1; }

fp=$(sed -n 's/.*TLS certificate .*, fingerprint \(sha256:[0-9a-f]\{64\}\)$/\1/p' "$T/log" | head -1)
[ -n "$fp" ] || fail "no fingerprint logged: $(head -5 "$T/log")"
[ "$(stat -c %a "$T/tls/natserver.key")" = 600 ] || fail "the key is mode $(stat -c %a "$T/tls/natserver.key")"
[ "$(openssl x509 -in "$T/tls/natserver.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)" = "${fp#sha256:}" ] ||
    fail "the logged fingerprint is not the certificate's"
pass "first start: a self-signed certificate, key 0600, its SHA-256 fingerprint logged"

# Trust on first use, then no word; visitors' streams cross TLS intact.
expose_bg first.out --name first
grep -q "first connection to server 127.0.0.1:$RELAY_PORT: trusting its certificate $fp" "$T/first.out.err" ||
    fail "TOFU was not said: $(cat "$T/first.out.err")"
out=$($PEER visits "$(public first.out)" 20) || fail "visitors through TLS: $out"
kill "$EXPOSER"
expose_bg again.out --name again
grep -q "trusting" "$T/again.out.err" && fail "trusted again: $(cat "$T/again.out.err")"
kill "$EXPOSER"
pass "the first certificate is trusted and recorded, then used without a word; 20 visitors through TLS ($out)"

# A pinned fingerprint: the right one connects, another is refused.
expose_bg pin.out --name pin --tls-fingerprint "$fp"
kill "$EXPOSER"
out=$("${E[@]}" --tls-fingerprint "sha256:$(printf '%064d' 0)" expose tcp "$ECHO_PORT" 2>&1) &&
    fail "a wrong pin was accepted"
grep -q "certificate $fp is not the pinned sha256:0000" <<<"$out" || fail "wrong pin: $out"
pass "--tls-fingerprint: the pinned certificate connects, another is refused"

# Plaintext against TLS, either way round: refused, saying so (listen,
# which gives up; expose would retry).
L=("$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" --allow-any --timeout 3)
out=$("${L[@]}" --no-tls listen plain 2>&1 </dev/null) && fail "plaintext to a TLS rendezvous worked"
grep -q "warning: tls = no" <<<"$out" && grep -q "the server closed the connection" <<<"$out" ||
    fail "plaintext to TLS: $out"
TLS=no restart_server "relay.token_file = $T/token" "relay.port_range = 61300-61399"
grep -q "server.tls = no: rendezvous and relay connections are plaintext" "$T/log" || fail "no warning in the log"
out=$("${L[@]}" listen plain 2>&1 </dev/null) && fail "TLS to a plaintext rendezvous worked"
grep -q "TLS with server 127.0.0.1:$NAMED_PORT" <<<"$out" || fail "TLS to plaintext: $out"
pass "plaintext needs tls = no on both sides: either side alone is refused, and warned about"

# Another certificate at the same address: refused, loudly.
TLS_DIR=$T/tls2 restart_server "relay.token_file = $T/token" "relay.port_range = 61300-61399"
out=$("${E[@]}" expose tcp "$ECHO_PORT" 2>&1) && fail "a changed certificate was accepted"
grep -q "THE CERTIFICATE OF SERVER 127.0.0.1:$RELAY_PORT HAS CHANGED" <<<"$out" || fail "changed: $out"
pass "a server showing another certificate is refused (HAS CHANGED)"

# A certificate from a CA: verified, with the host name.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null || fail "openssl: the CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null || fail "openssl: the request"
printf 'subjectAltName=DNS:localhost\n' >"$T/ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/ext" -out "$T/srv.pem" 2>/dev/null || fail "openssl: the certificate"
restart_server "relay.token_file = $T/token" "relay.port_range = 61300-61399" \
    "server.tls_cert = $T/srv.pem" "server.tls_key = $T/srv.key"
CA=("$NATCLIENT" -s "localhost:$RELAY_PORT" --token-file "$T/token" --tls-ca-file "$T/ca.pem")
"${CA[@]}" --name ca expose tcp "$ECHO_PORT" >"$T/ca.out" 2>"$T/ca.err" &
EXPOSER=$!
STARTED+=("$EXPOSER")
wait_for 100 grep -q ":[0-9]" "$T/ca.out" || fail "expose with a CA: $(cat "$T/ca.err")"
kill "$EXPOSER"
out=$("$NATCLIENT" -s "127.0.0.1:$RELAY_PORT" --token-file "$T/token" --tls-ca-file "$T/ca.pem" \
    expose tcp "$ECHO_PORT" 2>&1) && fail "a certificate for localhost passed for 127.0.0.1"
grep -q "does not verify against $T/ca.pem" <<<"$out" || fail "host name: $out"
pass "--tls-ca-file: a CA-signed certificate verifies for its host name, and not for another"
