# Port mapping against real routers: miniupnpd (UPnP IGD, NAT-PMP, PCP)
# on rA over a symmetric random NAT, the hardest kind.
#
#  - Each protocol maps natclient's punching socket (PCP first; NAT-PMP
#    when asked for; UPnP when the router has no NAT-PMP/PCP, by the
#    fallback order), the pair with a symmetric random peer goes direct,
#    data crosses both ways intact, and no mapping is left on the router
#    once natclient has ended.
#  - --tcp: the gateway maps the TCP port; the mapped side accepts.
#  - A mapping with a short lifetime (miniupnpd's max_lifetime) is
#    renewed while the listener waits, past several lifetimes; stopped,
#    the listener renews nothing and the router drops it (so the first
#    check could fail).
#  - SIGTERM and SIGINT delete the mapping before natclient ends.
#  - nat-type and netcheck name the protocols and the mapped address;
#    --no-portmap asks nothing.
#  - A hostile gateway (fakegw.py) answering junk, one answering
#    nothing, and a router that drops the requests: natclient says why
#    in one line per protocol, and connects as if there were no
#    mapping to be had.
. "$TESTLIB"
. "$LABLIB"
command -v python3 >/dev/null || skip "python3 is not installed"

lab_up
lab_server
printf '[client]\ntls = no\n' >"$T/pm.conf"
C=(--timeout 10 -s 203.0.113.1 --token-file "$T/lab-token" "${TRUST[@]}")
head -c 100000 /dev/urandom >"$T/a"
head -c 100000 /dev/urandom >"$T/b"
n=0

registered() { grep -q "^natclient: listening as" "$T/errA"; }

# listen_bg [ARGS]: natclient listen on hA with port mapping on, under
# a fresh name ($name), conf $T/pm.conf plus ARGS.
listen_bg() {
	n=$((n + 1))
	name=pm$n
	: >"$T/errA"
	lab_in hA "$NATCLIENT_BIN" -c "$T/pm.conf" "${C[@]}" "$@" --json listen "$name" \
	    <"$T/a" >"$T/outA" 2>>"$T/errA" &
	LISTENER=$!
	wait_for 300 registered || fail "$name: no registration: $(cat "$T/errA")"
}

# connect_check WANT-STRATEGY: connect from hB, both streams intact.
connect_check() {
	lab_in hB "$NATCLIENT_BIN" -c "$T/pm.conf" "${C[@]}" --json connect "$name" \
	    <"$T/b" >"$T/outB" 2>"$T/errB" || fail "$name: connect: $(cat "$T/errB")"
	wait "$LISTENER" || fail "$name: listen: $(cat "$T/errA")"
	# The stream is stdout: the result line goes to stderr.
	grep -q "\"result\":\"direct\".*\"strategy\":\"$1\"" "$T/errB" ||
	    fail "$name: not direct by $1: $(cat "$T/errB")"
	cmp -s "$T/a" "$T/outB" && cmp -s "$T/b" "$T/outA" || fail "$name: the streams differ"
}

no_mappings() { [ -z "$(lab_mappings rA)" ]; }

# --- each protocol, against miniupnpd
for how in pcp nat-pmp upnp; do
	lab_nats symmetric-random symmetric-random
	case $how in
	pcp) lab_portmap rA; protocols="pcp nat-pmp upnp" ;;
	nat-pmp) lab_portmap rA; protocols="nat-pmp upnp" ;;
	# No NAT-PMP/PCP on the router: natclient falls back to UPnP.
	upnp) lab_portmap rA no; protocols="pcp nat-pmp upnp" ;;
	esac
	printf '[client]\ntls = no\nportmap_protocols = %s\n' "$protocols" >"$T/pm.conf"
	listen_bg
	grep -q "^natclient: port mapping: $how mapped UDP port [0-9]* to 198.51.100.10:[0-9]*$" "$T/errA" ||
	    fail "$how: no mapping: $(cat "$T/errA")"
	[ -n "$(lab_mappings rA)" ] || fail "$how: natclient says mapped, the router has nothing"
	connect_check portmap
	wait_for 50 no_mappings || fail "$how: left on the router: $(lab_mappings rA)"
	pass "$how: $(sed -n "s/^natclient: port mapping: //p" "$T/errA"); symmetric random x symmetric random direct, 100 kB each way; the mapping gone after exit"
done
printf '[client]\ntls = no\n' >"$T/pm.conf"

# --- --tcp: the listener's gateway maps its TCP port; the listener
# accepts, the connector (behind a symmetric random NAT) connects.
lab_nats symmetric-random symmetric-random
lab_portmap rA
listen_bg --tcp
grep -q "^natclient: port mapping: pcp mapped TCP port" "$T/errA" ||
    fail "--tcp: no TCP mapping: $(cat "$T/errA")"
lab_in hB "$NATCLIENT_BIN" -c "$T/pm.conf" "${C[@]}" --tcp --json connect "$name" \
    <"$T/b" >"$T/outB" 2>"$T/errB" || fail "--tcp: connect: $(cat "$T/errB")"
wait "$LISTENER" || fail "--tcp: listen: $(cat "$T/errA")"
grep -q '"result":"direct".*"strategy":"portmap"' "$T/errB" || fail "--tcp: $(cat "$T/errB")"
cmp -s "$T/a" "$T/outB" && cmp -s "$T/b" "$T/outA" || fail "--tcp: the streams differ"
wait_for 50 no_mappings || fail "--tcp: left on the router: $(lab_mappings rA)"
pass "--tcp: symmetric random x symmetric random over the listener's TCP mapping, 100 kB each way; the mapping gone after exit"

# --- renewal: the router grants 6 s at most; the listener waits 20 s.
lab_nats symmetric-random symmetric-random
LAB_PORTMAP_CONF="min_lifetime=5
max_lifetime=6" lab_portmap rA
listen_bg
grep -q "pcp mapped UDP port" "$T/errA" || fail "renewal: no mapping: $(cat "$T/errA")"
rule=$(lab_mappings rA)
sleep 20
[ "$(lab_mappings rA)" = "$rule" ] || fail "renewal: the mapping lapsed: '$(lab_mappings rA)' (was '$rule')"
renewals=$(grep -c "PCP MAP: .*mapping.*10.1.0.2" "$T/mu-rA.log")
connect_check portmap
pass "renewal: a 6-s mapping held for 20 s ($renewals PCP MAP requests), then a direct path through it"
# The control: a listener that cannot renew loses its mapping.
listen_bg
lab_signal STOP hA natclient
wait_for 300 no_mappings || fail "a stopped listener's mapping never expired"
lab_signal CONT hA natclient
lab_stop hA
wait "$LISTENER" 2>/dev/null
pass "renewal control: the router drops a mapping nobody renews"

# --- SIGTERM and SIGINT delete the mapping.
lab_nats symmetric-random symmetric-random
lab_portmap rA
for sig in TERM INT; do
	listen_bg
	[ -n "$(lab_mappings rA)" ] || fail "SIG$sig: no mapping to delete"
	lab_signal "$sig" hA natclient
	rc=0
	wait "$LISTENER" || rc=$?
	[ $rc -ne 0 ] || fail "SIG$sig: listen exited 0"
	no_mappings || fail "SIG$sig: the mapping outlived natclient: $(lab_mappings rA)"
	pass "SIG$sig: natclient deleted its mapping and ended ($rc)"
done

# A mapped connector stopped by SIGTERM while it carries datagrams says
# goodbye to the listener first (BYE, not 8 s of silence) and still
# deletes its mapping.
lab_nats symmetric-random symmetric-random
lab_portmap rB
lab_in hA python3 "$SRCDIR/tests/natlab/udpburst.py" echo 21000 &
listen_bg --forward 127.0.0.1:21000
lab_in hB "$NATCLIENT_BIN" -c "$T/pm.conf" "${C[@]}" --json connect "$name" --local 31000 \
    >"$T/outB" 2>"$T/errB" &
wait_for 200 grep -q '"result":"direct".*"strategy":"portmap"' "$T/outB" ||
    fail "bye: no direct path: $(cat "$T/outB" "$T/errB")"
[ -n "$(lab_mappings rB)" ] || fail "bye: the connector has no mapping"
# Datagrams there and back: the bridge runs (and takes the signal).
out=$(lab_in hB python3 "$SRCDIR/tests/natlab/udpburst.py" burst 31000 20) || fail "bye: datagrams: $out"
lab_signal TERM hB natclient
wait_for 100 grep -q "^natclient: the peer went away" "$T/errA" ||
    fail "bye: the listener saw nothing: $(cat "$T/errA"); the connector: $(cat "$T/errB")"
grep -q "silent for" "$T/errA" && fail "bye: no goodbye, the listener timed out: $(cat "$T/errA")"
wait_for 50 eval '[ -z "$(lab_mappings rB)" ]' || fail "bye: left on rB: $(lab_mappings rB)"
lab_stop hA hB
wait "$LISTENER" 2>/dev/null
pass "SIGTERM while carrying datagrams: the mapped connector said goodbye and deleted its mapping"

# --- nat-type and netcheck report it; --no-portmap asks nothing.
lab_nats symmetric-random symmetric-random
lab_portmap rA
out=$(lab_in hA "$NATCLIENT_BIN" -c "$T/pm.conf" --timeout 5 -s 203.0.113.1 nat-type) ||
    fail "nat-type: $out"
grep -q "^port mapping: pcp, nat-pmp, upnp offered by the gateway 10.1.0.1:5351; a mapping by pcp gets 198.51.100.10:[0-9]*$" <<<"$out" ||
    fail "nat-type: $out"
no_mappings || fail "nat-type left a mapping: $(lab_mappings rA)"
out=$(lab_in hA "$NATCLIENT_BIN" -c "$T/pm.conf" --timeout 5 -s 203.0.113.1 --relay 203.0.113.1:8888 --json netcheck) ||
    fail "netcheck: $out"
python3 -c 'import json, sys
p = json.loads(sys.argv[1])["portmap"]
assert p["checked"] and p["offered"] == ["pcp", "nat-pmp", "upnp"], p
assert p["via"] == "pcp" and p["mapped"].startswith("198.51.100.10:"), p' "$out" ||
    fail "netcheck --json: $out"
no_mappings || fail "netcheck left a mapping: $(lab_mappings rA)"
out=$(lab_in hA "$NATCLIENT_BIN" -c "$T/pm.conf" --no-portmap --timeout 5 -s 203.0.113.1 nat-type)
grep -q "^port mapping: off" <<<"$out" || fail "nat-type --no-portmap: $out"
listen_bg --no-portmap
grep -q "port mapping" "$T/errA" && fail "--no-portmap: $(cat "$T/errA")"
no_mappings || fail "--no-portmap mapped: $(lab_mappings rA)"
lab_stop hA
wait "$LISTENER" 2>/dev/null
pass "nat-type and netcheck: pcp, nat-pmp and upnp offered, the mapped address, nothing left; --no-portmap: nothing asked"

# --- hostile gateways: junk, silence, and requests dropped.
for mode in garbage silent dropped; do
	lab_nats port-restricted port-restricted
	: >"$T/gw.log"
	if [ "$mode" = dropped ]; then
		lab_in rA nft insert rule inet fw input udp dport '{ 1900, 5351 }' drop
	else
		lab_in rA python3 -u "$SRCDIR/tests/natlab/fakegw.py" 10.1.0.1 "$mode" >"$T/gw.log" 2>&1 &
		wait_for 100 grep -q ready "$T/gw.log" || fail "fakegw: $(cat "$T/gw.log")"
	fi
	listen_bg
	line=$(grep "^natclient: port mapping:" "$T/errA") || fail "$mode: no port mapping line: $(cat "$T/errA")"
	[ "$(grep -c "port mapping" "$T/errA")" = 1 ] || fail "$mode: more than one line: $(cat "$T/errA")"
	case $mode in
	garbage) want="none (pcp: .*do not match the request; nat-pmp: NAT-PMP: .*; upnp: .*)" ;;
	silent) want="none (pcp: no PCP answer in [0-9]* ms; nat-pmp: no NAT-PMP answer in [0-9]* ms; upnp: no UPnP answer in [0-9]* ms)" ;;
	dropped) want="none (pcp: no PCP answer in [0-9]* ms; nat-pmp: no NAT-PMP answer in [0-9]* ms; upnp: no UPnP answer in [0-9]* ms)" ;;
	esac
	grep -q "^natclient: port mapping: $want$" <<<"$line" || fail "$mode: $line"
	if [ "$mode" != dropped ]; then
		grep -q "pmp request" "$T/gw.log" && grep -q "ssdp search" "$T/gw.log" ||
		    fail "$mode: natclient did not ask the fake gateway: $(cat "$T/gw.log")"
	fi
	connect_check simultaneous
	lab_stop rA
	pass "$mode gateway: '${line#natclient: port mapping: }'; still direct"
done
