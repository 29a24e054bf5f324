# natclient nat-type behind each lab NAT: the verdict is the NAT that was
# built (mapping, filtering, port allocation with the measured step,
# hairpinning), and a host without NAT reports "no NAT"; natclient
# netcheck agrees, and finds UDP and the relay.
. "$TESTLIB"
. "$LABLIB"

lab_up
lab_server

nattype() { # nattype NS: natclient nat-type's answer in one line
	lab_in "$1" "$NATCLIENT" --timeout 3 -s 203.0.113.1 nat-type |
	    tr '\n' '|'
}

for case in \
    "full-cone:1:full cone|EIM|EIF|preserving" \
    "restricted-cone:1:restricted cone|EIM|ADF|preserving" \
    "port-restricted:1:port-restricted cone|EIM|APDF|preserving" \
    "symmetric-random:1:symmetric|APDM|APDF|random" \
    "symmetric-inc:1:symmetric|APDM|APDF|incrementing by 1" \
    "symmetric-inc:2:symmetric|APDM|APDF|incrementing by 2" \
    "full-cone+hairpin:1:full cone|EIM|EIF|preserving" \
    "port-restricted+hairpin:1:port-restricted cone|EIM|APDF|preserving"; do
	kind=${case%%:*}
	hairpin=no
	case $kind in *+hairpin) kind=${kind%+hairpin} hairpin=yes ;; esac
	rest=${case#*:}
	delta=${rest%%:*}
	IFS='|' read -r name mapping filtering alloc <<EOT
${rest#*:}
EOT
	lab_in rA nft flush ruleset
	lab_in rA conntrack -F 2>/dev/null
	lab_nat rA "$kind" "$delta"
	[ "$hairpin" = no ] || lab_hairpin rA
	out=$(nattype hA) || fail "$kind: nat-type failed: $out"
	for want in "NAT type: $name" "mapping: $mapping" "filtering: $filtering" \
	    "port allocation: $alloc" "hairpinning: $hairpin" "public address: 198.51.100.10:"; do
		case "|$out" in *"|$want"*) ;; *) fail "$kind (delta $delta): no '$want' in: $out" ;; esac
	done
	# netcheck's summary says the same, and finds UDP and the relay.
	nc=$(lab_in hA "$NATCLIENT" --timeout 3 -s 203.0.113.1 --json netcheck) ||
	    fail "$kind: netcheck: $nc"
	python3 -c 'import json, sys
j = json.loads(sys.argv[1])
name, mapping, filtering, hairpin = sys.argv[2:6]
n = j["nat"]
assert j["udp"] and j["ipv4"].startswith("198.51.100.10:") and j["ipv6"] is None, j
assert (n["type"], n["mapping"], n["filtering"], n["hairpin"]) == (name, mapping, filtering, hairpin == "yes"), n
assert j["relay"]["reachable"] and j["relay"]["address"] == "203.0.113.1:8888", j["relay"]
assert j["trackers"][0]["ms"] is not None, j' "$nc" "$name" "$mapping" "$filtering" "$hairpin" ||
	    fail "$kind (delta $delta): netcheck: $nc"
	pass "$kind (delta $delta, hairpinning $hairpin): $out; netcheck agrees"
done

# The router itself, without its NAT rules, has the public address.
lab_in rA nft flush ruleset
lab_in rA conntrack -F 2>/dev/null
out=$(nattype rA) || fail "no NAT: $out"
case "|$out" in *"|NAT type: no NAT|"*) ;; *) fail "router: $out" ;; esac
out=$(lab_in rA "$NATCLIENT" --json -s 203.0.113.1 nat-type)
echo "$out" | grep -q '"type":"no NAT","nat":false,"mapping":"EIM","filtering":"EIF"' ||
    fail "--json: $out"
pass "no NAT: $out"
