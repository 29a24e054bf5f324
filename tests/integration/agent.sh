# natclient up: one agent serving 3 TCP and 2 UDP exposures and a
# listener from one natclient.conf, over TLS; natclient -t names a bad
# line; SIGHUP removes one service and adds another while a stream on a
# third carries data both ways, byte-exact; a bad file on SIGHUP is
# refused and the services stay; no process per visitor, RSS bounded,
# 64 MiB full duplex, half-close, a local service that is down.
TLS=yes
. "$TESTLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
PEER="python3 $SRCDIR/tests/integration/relaypeer.py"

umask 077
echo "agent-test-token-0123456789" >"$T/token"
start_server "relay.token_file = $T/token" "relay.port_range = 62100-62199" \
    "relay.max_connections = 12000" "relay.max_conns_per_port = 5000" \
    "relay.max_connections_per_ip = 12000"
P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port) DOWN=$(free_port)
U1=$(free_port) U2=$(free_port)
for p in "$P1" "$P3" "$P4"; do
	$PEER echo "$p" &
	STARTED+=("$!")
done
$PEER sink "$P2" &
STARTED+=("$!")
for p in "$U1" "$U2"; do
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(b"echo:" + d, a)' "$p" &
	STARTED+=("$!")
done

conf() { # the file, with [expose] sections for the names given
	cat <<CONF
[client]
server = 127.0.0.1:$NAMED_PORT
tracker = 127.0.0.1:$TRACKER_PORT
relay = 127.0.0.1:$RELAY_PORT
token_file = $T/token
control_socket = $T/ctl.sock
CONF
	local s
	for s in "$@"; do
		case $s in
		t1) printf '[expose t1]\nlocal_port = %s\n' "$P1" ;;
		t2) printf '[expose t2]\ntype = tcp\nlocal_port = %s\n' "$P2" ;;
		t3) printf '[expose t3]\nlocal_port = %s\n' "$P3" ;;
		t4) printf '[expose t4]\nlocal_port = %s\nlocal_host = 127.0.0.1\nmux = yes\n' "$P4" ;;
		down) printf '[expose down]\nlocal_port = %s\n' "$DOWN" ;;
		u1) printf '[expose u1]\ntype = udp\nlocal_port = %s\n' "$U1" ;;
		u2) printf '[expose u2]\ntype = udp\nlocal_port = %s\n' "$U2" ;;
		peer) printf '[listen peer]\nallow_any = yes\n' ;;
		esac
	done
}

# natclient -t: a good file passes, a bad one is named with its line.
conf t1 t2 t3 u1 u2 peer down >"$T/natclient.conf"
"$NATCLIENT" -c "$T/natclient.conf" -t >"$T/t.out" 2>&1 || fail "-t on a good file: $(cat "$T/t.out")"
grep -q "syntax ok, 7 services" "$T/t.out" || fail "-t: $(cat "$T/t.out")"
for bad in "type = sctp" "local_port = 70000" "colour = blue"; do
	{ conf t1; printf '[expose bad]\nlocal_port = 1\n%s\n' "$bad"; } >"$T/bad.conf"
	n=$(grep -c '' "$T/bad.conf")
	out=$("$NATCLIENT" -c "$T/bad.conf" -t 2>&1) && fail "-t passed '$bad'"
	case $bad in
	type*) want="bad.conf:$((n - 2)): \[expose\]: type: tcp, udp, http or https, not 'sctp'" ;;
	*) want="bad.conf:$n: expose\.${bad%% *}" ;;
	esac
	grep -q "$want" <<<"$out" || fail "-t on '$bad' said: $out (wanted $want)"
done
{ conf t1; printf '[expose t1]\nlocal_port = 2\n'; } >"$T/bad.conf"
out=$("$NATCLIENT" -c "$T/bad.conf" -t 2>&1) && fail "-t passed a name used twice"
grep -q "a service named 't1' is already at line" <<<"$out" || fail "twice: $out"
pass "natclient -t: a good file passes; a bad type, port, key or a name used twice is named with its line"

"$NATCLIENT" -c "$T/natclient.conf" up >"$T/up.out" 2>"$T/up.err" &
AGENT=$!
STARTED+=("$AGENT")
# status reads its own file: the agent's may be broken on purpose below.
printf '[client]\ncontrol_socket = %s\n' "$T/ctl.sock" >"$T/status.conf"
status() { "$NATCLIENT" -c "$T/status.conf" --json status; }
# port NAME: the public port status shows for an exposed service.
port() {
	status | python3 -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
    if s["name"] == sys.argv[1] and s["state"] == "exposed":
        print(s["public"].rsplit(":", 1)[1])' "$1"
}
exposed() { [ "$(status | grep -o '"state":"exposed"' | wc -l)" = "$1" ]; }
wait_for 150 exposed 6 || fail "not all exposed: $(status) $(cat "$T/up.err")"
[ "$(stat -c %a "$T/ctl.sock")" = 600 ] || fail "control socket mode $(stat -c %a "$T/ctl.sock")"
X1=$(port t1) X2=$(port t2) X3=$(port t3) XU1=$(port u1) XU2=$(port u2) XD=$(port down)
out=$($PEER visits "$X1" 20) && [ "$out" = 20 ] || fail "t1 visitors: $out"
out=$($PEER send "$X2" 3000000) && [ "$out" = SAME ] || fail "t2 half-close: $out"
for u in "$XU1" "$XU2"; do
	out=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(10):
    s.sendto(b"hello %d" % i, ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass' "$u") || true
	[ "${out%% *}" = "echo:hello" ] || fail "udp through $u: '$out'"
done
"$NATCLIENT" -c "$T/status.conf" status >"$T/status.txt" || fail "status"
grep -q "^t1 *expose *exposed *127.0.0.1:$X1 *0 *20" "$T/status.txt" || fail "status table: $(cat "$T/status.txt")"
listening() { "$NATCLIENT" -c "$T/status.conf" status | grep -q "^peer *listen *listening"; }
wait_for 100 listening || fail "the listener: $("$NATCLIENT" -c "$T/status.conf" status)"
# The [listen] section really listens: a ping over the punched path.
pinged() {
	"$NATCLIENT" -s "127.0.0.1:$NAMED_PORT" --tracker "127.0.0.1:$TRACKER_PORT" --timeout 5 \
	    --stream --count 2 ping peer >"$T/ping.out" 2>"$T/ping.err" &&
	    [ "$(grep -c "^reply from peer: .* via direct" "$T/ping.out")" = 2 ]
}
wait_for 100 pinged || fail "ping to the agent's listener: $(cat "$T/ping.out" "$T/ping.err")"
pass "one agent: 3 TCP and 2 UDP exposures and a listener from one file; visitors, half-close and datagrams through each; status (socket 0600)"

# Local service down: the visitor is closed at once, the exposure stays.
out=$(python3 -c '
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.settimeout(20)
t = time.time()
print("closed" if c.recv(10) == b"" else "data")' "$XD" 2>&1)
[ "$out" = closed ] || fail "a visitor to a service that is down: $out"
status | grep -q '"name":"down","kind":"expose","state":"exposed"' || fail "the exposure did not stay: $(status)"
status | grep -q 'a visitor was turned away: local service 127.0.0.1:'"$DOWN" || fail "no last error: $(status)"
pass "a local service that is down: its visitor is closed at once, the exposure stays, the reason is in status"

# SIGHUP while a stream on t3 carries data both ways: t1 goes, t4 comes.
$PEER streams "$X3" 2 12 >"$T/streams.out" 2>"$T/streams.err" &
STREAMS=$!
wait_for 100 grep -q ready "$T/streams.err" || fail "the streams did not start: $(cat "$T/streams.err")"
conf t2 t3 t4 u1 u2 peer down >"$T/natclient.conf"
kill -HUP "$AGENT"
wait_for 150 port t4 || fail "t4 was not added: $(status) $(tail -5 "$T/up.err")"
# t4 has mux = yes: its visitors are streams on one data connection,
# once the relay has it.
muxed() { [ "$(metric natkit_relay_mux_connections)" = 1 ]; }
wait_for 100 muxed || fail "t4 has no mux connection: $(status)"
status | grep -q '"mux":1' || fail "status does not show t4's mux connection: $(status)"
before=$(metric 'natkit_relay_mux_streams_total{kind="relay"}')
out=$($PEER visits "$(port t4)" 20) && [ "$out" = 20 ] || fail "t4 visitors: $out"
[ "$(metric 'natkit_relay_mux_streams_total{kind="relay"}')" = $((before + 20)) ] ||
    fail "t4's visitors were not streams on its mux connection"
status | grep -q '"name":"t1"' && fail "t1 was not removed: $(status)"
grep -q "t1: stopped" "$T/up.err" || fail "no word of t1: $(cat "$T/up.err")"
grep -q "t3: stopped" "$T/up.err" && fail "t3 was touched"
# A bad file on SIGHUP: refused, named, and everything stays.
printf '[expose broken]\nlocal_port = nope\n' >>"$T/natclient.conf"
kill -HUP "$AGENT"
wait_for 100 grep -q "reload refused, the services stay as they were: .*natclient.conf:[0-9]*: expose.local_port" "$T/up.err" ||
    fail "a bad file was not refused: $(tail -3 "$T/up.err")"
exposed 6 || fail "services lost on a bad reload: $(status)"
wait "$STREAMS" || fail "the streams: $(cat "$T/streams.out" "$T/streams.err")"
[ "$(cat "$T/streams.out")" = 2 ] || fail "streams on t3 across the reload: $(cat "$T/streams.out")"
pass "SIGHUP: t1 removed and t4 (mux = yes: 20 visitors as streams on one connection) added while 2 streams on t3 carried data both ways byte-exact; a bad file is refused with its line, services kept"

# Many visitors at once: no process for any, RSS bounded; full duplex.
N=${AGENT_VISITORS:-2000}
children() { pgrep -P "$AGENT" | wc -l; }
before=$(children)
mkfifo "$T/go"
$PEER hold "$X3" "$N" <"$T/go" >"$T/many.out" 2>"$T/many.err" &
MANY=$!
exec 7>"$T/go"
wait_for 1800 grep -q ready "$T/many.err" || fail "$N visitors were not all open: $(tail -3 "$T/many.err")"
[ "$(children)" = "$before" ] || fail "processes for visitors: $(children) children, $before before"
now=$(status | python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["services"] if s["name"]=="t3"][0]["visitors"])')
[ "$now" -ge "$N" ] || fail "status counts $now visitors of $N"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT/status")
[ "$rss" -lt 262144 ] || fail "RSS $rss KiB with $N visitors"
echo go >&7
exec 7>&-
wait "$MANY" || fail "$N visitors: $(tail -3 "$T/many.err")"
[ "$(cat "$T/many.out")" = "$N" ] || fail "$N visitors intact: $(cat "$T/many.out")"
pass "$N concurrent visitors over TLS through one exposure, all open at once: each byte-exact with a half-close, the agent forked none (children $before), RSS $rss KiB"
out=$($PEER duplex "$X3" $((64 * 1024 * 1024))) && [ "$out" = SAME ] || fail "64 MiB duplex: $out"
pass "64 MiB sent and echoed back at once through the agent, byte-exact"

kill -TERM "$AGENT"
wait_gone "$AGENT" 100 || fail "the agent did not stop"
[ -e "$T/ctl.sock" ] && fail "the control socket was left behind"
pass "SIGTERM: the agent stops, its services with it, the socket removed"
