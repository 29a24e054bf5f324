# natclient netcheck on loopback, over TLS: UDP, the public address, no
# NAT, the relay's hello answered, the tracker's round trip, as text and
# JSON; a relay that is down, a port that is not a natkit relay, and a
# tracker that does not answer are each said in their line, and the
# rest is still checked.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

umask 077
echo "netcheck-test-token-0123456789" >"$T/token"
start_server "relay.token_file = $T/token"
export XDG_CONFIG_HOME=$T/cfg
NC=("$NATCLIENT" --timeout 2 -s "127.0.0.1:$TRACKER_PORT" --relay "127.0.0.1:$RELAY_PORT")
check() { # json, python assertions on j, their arguments (sys.argv[3:])
	local json=$1 code=$2
	shift 2
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
exec(sys.argv[2])' "$json" "$code" "$@"
}

out=$("${NC[@]}" --json netcheck) || fail "netcheck: $out"
check "$out" '
assert j["udp"] is True, j
assert j["ipv4"].startswith("127.0.0.1:") and j["ipv6"] is None, j
assert j["nat"]["type"] == "no NAT" and j["nat"]["nat"] is False, j
assert j["portmap"]["checked"] is False, j
r = j["relay"]
assert r["reachable"] is True and r["tls"] is True and r["address"].endswith(":%s" % sys.argv[3]), r
assert r["connect_ms"] >= 0 and r["hello_ms"] >= 0 and "error" not in r, r
assert len(j["trackers"]) == 1 and j["trackers"][0]["ms"] >= 0, j' "$RELAY_PORT" ||
    fail "netcheck --json: $out"
text=$("${NC[@]}" netcheck) || fail "netcheck: $text"
for want in "UDP: yes" "public IPv4: 127.0.0.1:" "public IPv6: none" "NAT: no NAT (mapping " \
    "port mapping: off (portmap = no" "relay: 127.0.0.1:$RELAY_PORT answers (TLS), connect " \
    "tracker 127.0.0.1:$TRACKER_PORT: "; do
	grep -qF "$want" <<<"$text" || fail "no '$want' in: $text"
done
# With port mapping on, a server on this host is no reason to ask the
# gateway (a mapping there could not matter), so nothing leaves loopback.
text=$("$NATCLIENT_BIN" "${NC[@]:1}" netcheck) || fail "netcheck with portmap on: $text"
grep -qF "port mapping: not checked: the server is on this host" <<<"$text" ||
    fail "netcheck with portmap on, server on loopback: $text"
pass "netcheck: UDP, 127.0.0.1 with no NAT, the relay's hello over TLS, the tracker's round trip (text and JSON)"

# The relay down: said, with the reason; the rest as before, exit 0.
DOWN=$(free_port)
out=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$TRACKER_PORT" --relay "127.0.0.1:$DOWN" --json netcheck) ||
    fail "netcheck with the relay down: $out"
check "$out" '
assert j["udp"] is True and j["relay"]["reachable"] is False, j
assert "refused" in j["relay"]["error"] and j["relay"]["hello_ms"] is None, j' ||
    fail "relay down: $out"

# Not a natkit relay: a plain TCP service that says something else.
OTHER=$(free_port)
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    c.close()' "$OTHER" &
STARTED+=("$!")
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 50 tcp_open "$OTHER" || fail "the other service did not start"
out=$("$NATCLIENT" --timeout 2 --no-tls -s "127.0.0.1:$TRACKER_PORT" --relay "127.0.0.1:$OTHER" --json netcheck 2>/dev/null) ||
    fail "netcheck against a service that is not a relay: $out"
check "$out" '
r = j["relay"]
assert r["reachable"] is False and r["tls"] is False and "not a natkit relay" in r["error"], r' ||
    fail "not a relay: $out"
pass "a relay that is down and a port that is not a natkit relay: each said, the rest checked, exit 0"

# No tracker answers: UDP no, no NAT test, the relay still checked, exit 1.
QUIET=$(free_port)
out=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$QUIET" --relay "127.0.0.1:$RELAY_PORT" --json netcheck) &&
    fail "netcheck without a tracker exited 0: $out"
check "$out" '
assert j["udp"] is False and j["ipv4"] is None and "nat" not in j, j
assert j["relay"]["reachable"] is True and j["trackers"][0]["ms"] is None, j' ||
    fail "no tracker: $out"
text=$("$NATCLIENT" --timeout 2 -s "127.0.0.1:$QUIET" --relay "127.0.0.1:$RELAY_PORT" netcheck) &&
    fail "netcheck without a tracker exited 0"
grep -q "^UDP: no" <<<"$text" && grep -q "tracker 127.0.0.1:$QUIET: no answer" <<<"$text" ||
    fail "no tracker, text: $text"
pass "no tracker answering: UDP no, no NAT verdict, the relay still checked, exit 1"
