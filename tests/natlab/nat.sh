# Through real kernel NATs: for each of the five NAT behaviours of
# NATLAB.md, natclient behind the router sees the router's WAN address,
# and coturn's turnutils_natdiscovery gives the same mapping and filtering
# verdicts against natserver's RFC 5780 service as against coturn's own
# turnserver in the same lab, and the verdicts NATLAB.md records.
. "$TESTLIB"
. "$LABLIB"

command -v turnutils_natdiscovery >/dev/null || fail "coturn missing"
lab_up
lab_server
lab_in srv turnserver -n --stun-only -L 203.0.113.1 -L 203.0.113.2 \
    -p 3490 --alt-listening-port 3491 --no-cli --no-tls --no-dtls \
    --log-file stdout >"$T/coturn.log" 2>&1 &
STARTED+=("$!")

verdict() { # verdict PORT: "mapping/filtering" as natdiscovery finds them
	local out
	out=$(lab_in hA timeout 60 turnutils_natdiscovery -m -f -p "$1" 203.0.113.1 2>&1)
	printf '%s/%s' \
	    "$(echo "$out" | sed -n 's/^NAT with \(.*\) Mapping!$/\1/p' | head -n 1)" \
	    "$(echo "$out" | sed -n 's/^NAT with \(.*\) Filtering!$/\1/p' | head -n 1)"
}

for case in \
    "full-cone:Endpoint Independent/Endpoint Independent" \
    "restricted-cone:Endpoint Independent/Address Dependent" \
    "port-restricted:Endpoint Independent/Address and Port Dependent" \
    "symmetric-random:Address and Port Dependent/Address and Port Dependent" \
    "symmetric-inc:Address and Port Dependent/Address and Port Dependent"; do
	kind=${case%%:*}
	want=${case#*:}
	lab_in rA nft flush ruleset
	lab_in rA conntrack -F 2>/dev/null
	lab_nat rA "$kind" 1
	for how in "" --stun; do
		out=$(lab_in hA "$NATCLIENT" --timeout 3 -s 203.0.113.1 $how nat) ||
		    fail "$kind: natclient $how nat failed"
		echo "$out" | grep -Eq '^198\.51\.100\.10:[0-9]+$' ||
		    fail "$kind: natclient $how nat saw '$out'"
	done
	ours=$(verdict 3478)
	theirs=$(verdict 3490)
	[ "$ours" = "$theirs" ] ||
	    fail "$kind: natdiscovery says '$ours' against natserver, '$theirs' against coturn"
	[ "$ours" = "$want" ] || fail "$kind: natdiscovery says '$ours', NATLAB.md '$want'"
	pass "$kind: public 198.51.100.10, natdiscovery '$ours' against both servers"
done

# Two hosts behind one port-restricted NAT, and a router without the
# input filter: natclient still sees the public address from both hosts.
lab_host rA hA2 10.1.0.3
lab_in rA nft flush ruleset
LAB_FILTER=0 lab_nat rA port-restricted
for h in hA hA2; do
	out=$(lab_in $h "$NATCLIENT" --timeout 3 -s 203.0.113.1 nat) || fail "$h: nat"
	echo "$out" | grep -Eq '^198\.51\.100\.10:[0-9]+$' || fail "$h saw '$out'"
done
lab_in rA nft list ruleset | grep -q "table inet fw" && fail "LAB_FILTER=0 kept the filter"
pass "two hosts behind one NAT, router without the input filter"
