# PROXY protocol to the local service: haproxy, the real one, with
# accept-proxy as the service behind four exposures (v1 and v2, with
# pooled data connections and with a dial-back per visitor) answers
# each visitor with the source and destination the header told it,
# which must be the visitor's own address and the relay's public port.
# An exposure without the header is refused by that haproxy (so the
# test sees the header, not the connection).  Bad values of
# proxy_protocol are named with their line.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v haproxy >/dev/null ||
    fail "haproxy is not installed (the README's test command installs it)"

umask 077
echo "proxyproto-test-token-0123456789" >"$T/token"
# Public ports above the kernel's ephemeral range (32768-60999).
R=$((61000 + RANDOM % 4000))
start_server "relay.token_file = $T/token" "relay.port_range = $R-$((R + 9))"
WEB=$((R + 30))
cat >"$T/web.cfg" <<CFG
global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:$WEB accept-proxy
    http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port] %[dst]:%[dst_port]"
CFG
haproxy -db -f "$T/web.cfg" >"$T/haproxy.out" 2>&1 &
STARTED+=("$!")
wait_for 100 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$WEB" ||
    fail "haproxy did not start: $(cat "$T/haproxy.out")"

{
	printf '[client]\nserver = 127.0.0.1:%s\nrelay = 127.0.0.1:%s\ntoken_file = %s\ncontrol_socket = %s\n' \
	    "$NAMED_PORT" "$RELAY_PORT" "$T/token" "$T/ctl.sock"
	printf '[expose v1pool]\nlocal_port = %s\nproxy_protocol = v1\npool = 2\nremote_port = %s\n' "$WEB" "$R"
	printf '[expose v2pool]\nlocal_port = %s\nproxy_protocol = v2\npool = 2\nremote_port = %s\n' "$WEB" $((R + 1))
	printf '[expose v1dial]\nlocal_port = %s\nproxy_protocol = v1\npool = 0\nremote_port = %s\n' "$WEB" $((R + 2))
	printf '[expose v2dial]\nlocal_port = %s\nproxy_protocol = v2\npool = 0\nremote_port = %s\n' "$WEB" $((R + 3))
	printf '[expose plain]\nlocal_port = %s\nremote_port = %s\n' "$WEB" $((R + 4))
} >"$T/natclient.conf"
"$NATCLIENT" -c "$T/natclient.conf" -t >/dev/null || fail "-t: $("$NATCLIENT" -c "$T/natclient.conf" -t 2>&1)"
"$NATCLIENT" -c "$T/natclient.conf" up >"$T/up.out" 2>"$T/up.err" &
AGENT=$!
STARTED+=("$AGENT")
exposed() { [ "$("$NATCLIENT" -c "$T/natclient.conf" --json status | grep -o '"state":"exposed"' | wc -l)" = 5 ]; }
wait_for 150 exposed || fail "not all exposed: $("$NATCLIENT" -c "$T/natclient.conf" status) $(cat "$T/up.err")"

visit() { # port: "ok", or what went wrong
	python3 - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
for i in range(3):  # the pooled ones: a second and third visitor too
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    me = "%s:%d" % s.getsockname()
    s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    body = got.split(b"\r\n\r\n", 1)[-1].decode(errors="replace")
    want = "%s 127.0.0.1:%d" % (me, port)
    if body != want:
        print("visitor %d: %r, not %r" % (i, body, want))
        sys.exit(1)
print("ok")
EOF
}
for p in $R $((R + 1)) $((R + 2)) $((R + 3)); do
	out=$(visit "$p") || fail "port $p: $out; $(tail -3 "$T/up.err")"
done
pass "haproxy (accept-proxy) behind v1 and v2 exposures, pooled and dialled back: each visitor's own address and the relay's port, 3 visitors each"

out=$(visit $((R + 4))) && fail "haproxy took a connection without a header: $out"
pass "without proxy_protocol, the accept-proxy service refuses (the header above was real)"

bad() { # value type: the error -t names
	printf '[client]\nserver = 127.0.0.1:1\n[expose x]\ntype = %s\nlocal_port = 1\nproxy_protocol = %s\n' "$2" "$1" >"$T/bad.conf"
	out=$("$NATCLIENT" -c "$T/bad.conf" -t 2>&1) && fail "-t took proxy_protocol = $1 ($2)"
	grep -qF "bad.conf:3: [expose]: $3" <<<"$out" || fail "proxy_protocol = $1 ($2): $out"
}
bad v3 tcp "proxy_protocol: v1, v2 or no, not 'v3'"
bad v2 udp "proxy_protocol: for tcp only"
out=$("$NATCLIENT" -s 127.0.0.1:1 --token-file "$T/token" --proxy-protocol v9 expose tcp 1 2>&1) &&
    fail "--proxy-protocol v9 was taken"
grep -q "proxy_protocol: v1, v2 or no, not 'v9'" <<<"$out" || fail "--proxy-protocol v9: $out"
pass "proxy_protocol v3, or on a udp exposure, is refused with its line; --proxy-protocol v9 too"
