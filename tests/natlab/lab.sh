# The NAT lab: real kernel NATs in network namespaces (shared/NATLAB.md).
# Sourced by the lab tests after tests/integration/lib.sh.  Every name
# carries a per-run prefix, and everything is removed on exit, also on
# failure.  No namespace is linked to the root namespace: traffic stays
# between the lab's own hosts.
#
#   core: routes between the sites (ip_forward), .254 in each site's /24
#   srv:  203.0.113.1 and .2/24, runs natserver
#   rA:   WAN 198.51.100.10/24, LAN bridge 10.1.0.1/24 -> hA 10.1.0.2
#   rB:   WAN 192.0.2.20/24,    LAN bridge 10.2.0.1/24 -> hB 10.2.0.2
#   lab_host rA hA2 10.1.0.3 adds a second host behind a router.
#
# LAB_FILTER=0 leaves out the routers' home-router input filter (it is on
# by default; NATLAB.md says why it matters).

: "${T:?source tests/integration/lib.sh first}"

[ "$(id -u)" -eq 0 ] || skip "the NAT lab needs root"
command -v ip >/dev/null || fail "ip (iproute2) missing"
command -v nft >/dev/null || fail "nft (nftables) missing"

LAB=nk$$x$RANDOM
LAB_NS=()

lab_cleanup() {
	local ns
	for ns in ${LAB_NS[@]+"${LAB_NS[@]}"}; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	cleanup
}
trap lab_cleanup EXIT

# lab_in NS CMD...: run CMD in the lab namespace NS.
lab_in() {
	local ns=$LAB-$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_stop NS...: kill every process in the lab namespaces (a kill of
# lab_in's shell leaves its command running).
lab_stop() {
	local ns
	for ns in "$@"; do
		ip netns pids "$LAB-$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	done
	return 0
}

# lab_signal SIG NS COMM: send SIG to the processes named COMM in the lab
# namespace NS, and no others (pkill would reach the whole machine: the
# namespaces share one PID space).
lab_signal() {
	local sig=$1 ns=$2 comm=$3 p
	for p in $(ip netns pids "$LAB-$ns" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$comm" ] && kill -"$sig" "$p"
	done
	return 0
}

lab_ns() {
	ip netns add "$LAB-$1" || fail "netns add $LAB-$1"
	LAB_NS+=("$LAB-$1")
	ip -n "$LAB-$1" link set lo up
}

# lab_link A IFA B IFB: a veth pair made inside A, its peer moved to B.
lab_link() {
	ip -n "$LAB-$1" link add "$2" type veth peer name "$4" netns "$LAB-$3" ||
	    fail "veth $1:$2 - $3:$4"
	ip -n "$LAB-$1" link set "$2" up
	ip -n "$LAB-$3" link set "$4" up
}

# lab_host ROUTER HOST IP: a host on the router's LAN bridge.
lab_host() {
	local r=$1 h=$2 ip=$3
	lab_ns "$h"
	lab_link "$r" "p-$h" "$h" eth0
	ip -n "$LAB-$r" link set "p-$h" master lan0
	ip -n "$LAB-$h" addr add "$ip/24" dev eth0
	ip -n "$LAB-$h" route add default via "${ip%.*}.1"
}

# lab_site ROUTER HOST WAN-IP WAN-NET LAN-NET: a router behind the core
# and one host behind the router.
lab_site() {
	local r=$1 h=$2 wan=$3 wnet=$4 lnet=$5
	lab_ns "$r"
	lab_link core "c-$r" "$r" eth0
	ip -n "$LAB-core" addr add "$wnet.254/24" dev "c-$r"
	ip -n "$LAB-$r" addr add "$wan/24" dev eth0
	ip -n "$LAB-$r" route add default via "$wnet.254"
	lab_in "$r" sysctl -qw net.ipv4.ip_forward=1
	# With br_netfilter loaded, frames crossing the LAN bridge pass the
	# router's ip hooks, and a hairpin DNAT back into the LAN is bridged
	# without source NAT (the host then drops a packet from itself).
	if lab_in "$r" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		lab_in "$r" sysctl -qw net.bridge.bridge-nf-call-iptables=0
	fi
	ip -n "$LAB-$r" link add lan0 type bridge
	ip -n "$LAB-$r" link set lan0 up
	ip -n "$LAB-$r" addr add "$lnet.1/24" dev lan0
	lab_host "$r" "$h" "$lnet.2"
}

# lab_up: the core, the server and two sites, no NAT yet.
lab_up() {
	lab_ns core
	lab_in core sysctl -qw net.ipv4.ip_forward=1
	lab_ns srv
	lab_link core c-srv srv eth0
	ip -n "$LAB-core" addr add 203.0.113.254/24 dev c-srv
	ip -n "$LAB-srv" addr add 203.0.113.1/24 dev eth0
	ip -n "$LAB-srv" addr add 203.0.113.2/24 dev eth0
	ip -n "$LAB-srv" route add default via 203.0.113.254
	lab_site rA hA 198.51.100.10 198.51.100 10.1.0
	lab_site rB hB 192.0.2.20 192.0.2 10.2.0
}

# lab_nat ROUTER KIND [DELTA]: give the router one NAT behaviour (UDP):
# full-cone, restricted-cone, port-restricted, symmetric-random,
# symmetric-inc (ports +DELTA per new mapping), or none.  TCP and other
# protocols are masqueraded by every kind but none.
lab_nat() {
	local r=$1 kind=$2 delta=${3:-1} wan host ports i
	wan=$(ip -n "$LAB-$r" -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
	host=$(ip -n "$LAB-$r" -4 -o addr show dev lan0 | awk '{ split($4, a, "/"); sub(/\.1$/, ".2", a[1]); print a[1] }')
	{
		# A home router's input filter (see NATLAB.md).
		[ "${LAB_FILTER:-1}" = 0 ] ||
		    printf '%s\n' \
		    'table inet fw { chain input { type filter hook input priority 0; policy drop;' \
		    '  ct state established,related accept; iif "lo" accept; iifname "lan0" accept; }' \
		    '}'
		case $kind in
		none) ;;
		port-restricted)
			echo 'table ip nat { chain post { type nat hook postrouting priority 100;'
			echo '  oifname "eth0" iifname "lan0" masquerade persistent; }'
			echo '}' ;;
		full-cone)
			echo 'table ip nat {'
			echo ' chain post { type nat hook postrouting priority 100; oifname "eth0" iifname "lan0" masquerade persistent; }'
			# What a socket of the router's own waits for (miniupnpd's
			# STUN) stays with the router, as on a real one.
			echo " chain pre { type nat hook prerouting priority -100;"
			echo "  iifname \"eth0\" udp dport 1024-65535 socket transparent 0 accept;"
			echo "  iifname \"eth0\" udp dport 1024-65535 dnat to $host; }"
			echo '}' ;;
		restricted-cone)
			echo 'table ip nat {'
			echo ' set contacted { type ipv4_addr . inet_service; flags dynamic; timeout 5m; }'
			echo ' chain outgoing { type filter hook forward priority 0; oifname "eth0" meta l4proto udp update @contacted { ip daddr . udp sport }; }'
			echo ' chain post { type nat hook postrouting priority 100; oifname "eth0" iifname "lan0" masquerade persistent; }'
			echo " chain pre { type nat hook prerouting priority -100; iifname \"eth0\" ip saddr . udp dport @contacted dnat to $host; }"
			echo '}' ;;
		symmetric-random)
			echo 'table ip nat { chain post { type nat hook postrouting priority 100;'
			echo '  oifname "eth0" iifname "lan0" masquerade random; }'
			echo '}' ;;
		symmetric-inc)
			# numgen gives host byte order: map it (NATLAB.md).
			ports=""
			for i in $(seq 0 63); do
				ports="$ports${ports:+, }$i : $((40000 + i * delta))"
			done
			echo 'table ip nat { chain post { type nat hook postrouting priority 100;'
			echo "  oifname \"eth0\" iifname \"lan0\" meta l4proto udp snat to $wan : numgen inc mod 64 map { $ports };"
			# Other protocols (the TCP to the server) as any NAT.
			echo '  oifname "eth0" iifname "lan0" masquerade; }'
			echo '}' ;;
		*) fail "unknown NAT kind $kind" ;;
		esac
	} >"$T/nft-$r"
	lab_in "$r" nft -f "$T/nft-$r" || fail "nft rules for $kind on $r: $(cat "$T/nft-$r")"
}

# lab_hairpin ROUTER: after lab_nat, packets from the router's LAN to
# its WAN address go back to the host behind it, port unchanged, from the
# WAN address.  That is hairpinning for the port-preserving (cone) kinds,
# whose mapped port is the host's port.
lab_hairpin() {
	local r=$1 wan lan
	wan=$(ip -n "$LAB-$r" -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
	lan=$(ip -n "$LAB-$r" -4 -o addr show dev lan0 | awk '{ print $4 }')
	cat >"$T/nft-$r-hairpin" <<NFT
table ip hairpin {
 chain pre { type nat hook prerouting priority -110;
  iifname "lan0" ip daddr $wan udp dport 1024-65535 dnat to ${lan%.*}.2; }
 chain post { type nat hook postrouting priority 90;
  oifname "lan0" ct status dnat ip saddr ${lan%.*}.0/24 snat to $wan; }
}
NFT
	lab_in "$r" nft -f "$T/nft-$r-hairpin" || fail "hairpin rules on $r"
}

# lab_nats KIND-A KIND-B: rA and rB afresh with these NATs, nothing left
# behind them from an earlier run (processes, rules, conntrack entries)
# that could open mappings now.
lab_nats() {
	local r
	lab_stop hA hA2 hB
	lab_portmap_stop rA rB
	for r in rA rB; do
		lab_in "$r" nft flush ruleset
		lab_in "$r" conntrack -F 2>/dev/null
	done
	lab_nat rA "$1"
	lab_nat rB "$2"
}

# lab_server: natserver in srv, RFC 5780 on both IPs, two rendezvous
# workers, a relay whose token is in $T/lab-token, logging to
# $T/lab-srv.log; $LAB_SERVER_CONF (lines) is added at the end.
lab_server() {
	cat >"$T/lab.conf" <<CONF
[server]
pidfile = $T/lab.pid
metrics_listen =
tls = $TLS
tls_dir = $T/tls
[tracker]
listen = 203.0.113.1:3478
alternate_address = 203.0.113.2
alternate_port = 3479
workers = 2
[rendezvous]
listen = 203.0.113.1:1721
named_listen = 203.0.113.1:8848
# Every lab connect comes from one of two public IPs.
connect_burst = 1000
workers = 2
[relay]
listen = 203.0.113.1:8888
workers = 1
token_file = $T/lab-token
${LAB_SERVER_CONF:-}
CONF
	(umask 077 && echo "natlab-relay-token-0123456789" >"$T/lab-token")
	lab_in srv "$NATSERVER" -d -c "$T/lab.conf" >"$T/lab-srv.log" 2>&1 &
	STARTED+=("$!")
	# From the router: its WAN address is routed, the hosts need NAT.
	wait_for 100 lab_in rA "$NATCLIENT" --timeout 1 -s 203.0.113.1 nat ||
	    fail "natserver in the lab does not answer: $(tail -5 "$T/lab-srv.log")"
}

# lab_portmap ROUTER [NATPMP]: after lab_nat and lab_server, miniupnpd on
# the router's LAN (UPnP IGD, and NAT-PMP/PCP unless NATPMP is "no"),
# over the NAT it has; $LAB_PORTMAP_CONF (lines) goes into its config.  miniupnpd maps only for a public WAN address and
# the lab's are documentation ones, which it calls reserved: it then
# asks natserver by STUN (RFC 5780) whether the WAN is open, and the
# router lets those answers in (its input filter would drop the ones
# from the other address and port).
lab_portmap() {
	local r=$1 natpmp=${2:-yes}
	command -v miniupnpd >/dev/null || fail "miniupnpd (miniupnpd-nftables) missing"
	cat >"$T/mu-$r.nft" <<NFT
table inet miniupnpd {
 chain forward { type filter hook forward priority -10; policy accept; jump miniupnpd; }
 chain miniupnpd { }
}
table inet miniupnpd_nat {
 chain prerouting { type nat hook prerouting priority -110; policy accept; jump prerouting_miniupnpd; }
 chain postrouting { type nat hook postrouting priority 90; policy accept; jump postrouting_miniupnpd; }
 chain prerouting_miniupnpd { }
 chain postrouting_miniupnpd { }
}
NFT
	lab_in "$r" nft -f "$T/mu-$r.nft" || fail "miniupnpd tables on $r"
	if lab_in "$r" nft list chain inet fw input >/dev/null 2>&1; then
		lab_in "$r" nft add rule inet fw input ip saddr 203.0.113.0/24 udp sport 3478-3479 accept
	fi
	cat >"$T/mu-$r.conf" <<CONF
ext_ifname=eth0
listening_ip=lan0
ext_perform_stun=yes
ext_stun_host=203.0.113.1
ext_stun_port=3478
enable_natpmp=$natpmp
enable_upnp=yes
secure_mode=yes
system_uptime=yes
uuid=3d3cec3a-8cf0-11e0-98ee-00000000000${r#r}
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd_nat
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.0.0.0/8 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
${LAB_PORTMAP_CONF:-}
CONF
	: >"$T/mu-$r.log"
	lab_in "$r" miniupnpd -d -P "$T/mu-$r.pid" -f "$T/mu-$r.conf" >>"$T/mu-$r.log" 2>&1 &
	wait_for 200 grep -q "Port forwarding is now enabled" "$T/mu-$r.log" ||
	    fail "miniupnpd on $r does not map: $(grep -v 'table_cb\|parse_stun' "$T/mu-$r.log" | tail -5)"
	wait_for 100 grep -q "HTTP listening" "$T/mu-$r.log" || fail "miniupnpd on $r: no HTTP"
	[ "$natpmp" = no ] || wait_for 100 grep -q "Listening for NAT-PMP" "$T/mu-$r.log" ||
	    fail "miniupnpd on $r: no NAT-PMP"
}

# lab_portmap_stop ROUTER...: miniupnpd gone (its rules go with lab_nats).
lab_portmap_stop() {
	local r
	for r in "$@"; do
		lab_signal KILL "$r" miniupnpd
	done
	return 0
}

# lab_mappings ROUTER: the port mappings miniupnpd holds, one per line.
lab_mappings() {
	lab_in "$1" nft list chain inet miniupnpd_nat prerouting_miniupnpd 2>/dev/null | grep dnat
}
