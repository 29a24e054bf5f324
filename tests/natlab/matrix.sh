# The punching matrix: natclient listen behind router rA and connect
# behind rB, for all 15 unordered pairs of the five NATs and for two
# hosts behind one NAT, once with the routers' input filter and once
# without.  1 MB goes each way through the stdin/stdout stream (ENet;
# and, with the filter, over TCP simultaneous open between cone NATs);
# with the filter on, a burst of datagrams also goes through
# --forward/--local.  The two pairs with no direct path (symmetric
# random against any symmetric NAT) must meet through the relay, and
# say so, streams and datagrams alike; all others must be direct.
# The table is printed, and written to $MATRIX_OUT when that is set
# (tests/natlab/run-matrix.sh writes MATRIX.md).
#
# Everything the core carries is captured (tcpdump): every stream and
# datagram holds a marker string every 1000 bytes, and the marker must
# never be on the wire (each carrier is sealed end to end, and the
# connections to the server are TLS), while the rendezvous datagrams
# that show the server a UDP mapping, which are not sealed, must be
# (the capture saw the traffic).
TLS=yes
. "$TESTLIB"
. "$LABLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"

lab_up
lab_host rA hA2 10.1.0.3
lab_server
BURST="python3 $SRCDIR/tests/natlab/udpburst.py"
MARKER=NATKIT-PLAINTEXT-MARKER!
marked() { # bytes: random, with the marker at every 1000th
	python3 -c 'import os, sys
m = sys.argv[2].encode()
sys.stdout.buffer.write(b"".join(m + os.urandom(1000 - len(m)) for _ in range(int(sys.argv[1]) // 1000)))' "$1" "$MARKER"
}
marked 1000000 >"$T/a"
marked 1000000 >"$T/b"
ip netns exec "$LAB-core" tcpdump -i any -n -s 256 -U -w "$T/core.pcap" 2>"$T/tcpdump.err" &
CAPTURE=$!
STARTED+=("$CAPTURE")
wait_for 100 grep -q "listening on" "$T/tcpdump.err" || fail "tcpdump did not start: $(cat "$T/tcpdump.err")"
KINDS=${MATRIX_KINDS:-full-cone restricted-cone port-restricted symmetric-inc symmetric-random}
C=("$NATCLIENT" --timeout 10 -s 203.0.113.1 --token-file "$T/lab-token" "${TRUST[@]}")
RUNS=${MATRIX_RUNS:-1} # tests/bench/run-punch.sh asks for medians of 5
ROWS=()
PORTMAP="" # the routers that run miniupnpd (UPnP IGD, NAT-PMP, PCP)
n=0

no_path() {
	case "$1,$2" in
	symmetric-inc,symmetric-random | symmetric-random,symmetric-inc | \
	    symmetric-random,symmetric-random) return 0 ;;
	esac
	return 1
}

# The listener has registered its name (it says so on stderr).
registered() {
	grep -q "^natclient: listening as" "$T/errA"
}

listen_bg() { # host name [args]: natclient listen in the background
	local h=$1 name=$2
	shift 2
	: >"$T/errA" # now, not when the job starts: registered reads it
	lab_in "$h" "${C[@]}" --json listen "$name" "$@" <"$T/a" >"$T/outA" 2>>"$T/errA" &
	LISTENER=$!
	wait_for 200 registered || fail "$name: the listener did not register: $(cat "$T/errA")"
}

# field JSON-LINE KEY: one value of our flat result objects.
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1" | head -1; }

stream() { # filter kindA kindB listener connector [--tcp]: one stream run
	local filter=$1 ka=$2 kb=$3 ha=$4 hb=$5 name result rc=0 strategy ms outcome
	shift 5
	n=$((n + 1))
	name=m$n
	listen_bg "$ha" "$name" "$@"
	lab_in "$hb" "${C[@]}" "$@" --json connect "$name" <"$T/b" >"$T/outB" 2>"$T/errB" || rc=$?
	result=$(grep -h '"result"' "$T/errB" "$T/outB" | head -1)
	strategy=$(field "$result" strategy)
	ms=$(field "$result" ms)
	# Where no direct path exists both sides meet through the relay;
	# everywhere else the path must be direct, not a fallback.
	[ $rc -eq 0 ] || fail "$ka x $kb (filter $filter): connect failed: $(cat "$T/errB")"
	wait "$LISTENER" || fail "$ka x $kb: listen failed: $(cat "$T/errA")"
	cmp -s "$T/a" "$T/outB" && cmp -s "$T/b" "$T/outA" ||
	    fail "$ka x $kb: the streams differ"
	if [ -z "$PORTMAP" ] && no_path "$ka" "$kb"; then
		grep -q '"result":"relay"' <<<"$result" ||
		    fail "$ka x $kb: not through the relay: $result"
		outcome="no direct path: through the relay, 1 MB each way intact"
	else
		grep -q '"result":"direct"' <<<"$result" ||
		    fail "$ka x $kb: not direct: $result"
		outcome="direct, 1 MB each way intact"
	fi
	if [ -n "$PORTMAP" ]; then
		# Mapped by the gateway, and the mapping gone from it once
		# natclient has ended.
		for r in $PORTMAP; do
			grep -q "^natclient: port mapping: pcp mapped UDP port" \
			    "$T/err${r#r}" ||
			    fail "$ka x $kb: no mapping behind $r: $(cat "$T/err${r#r}")"
			[ -z "$(lab_mappings "$r")" ] ||
			    fail "$ka x $kb: a mapping left on $r: $(lab_mappings "$r")"
		done
		[ "$strategy" = portmap ] || fail "$ka x $kb: $strategy, not portmap"
		outcome="$outcome, mapping deleted at exit"
	fi
	LAST_MS=$ms LAST_STRATEGY=$strategy LAST_OUTCOME=$outcome
	pass "$ka x $kb, input filter $filter: $strategy, $ms ms: $outcome"
}

# pair NAT-A NAT-B LABEL-A LABEL-B LISTENER CONNECTOR [--tcp]: $RUNS
# stream runs, one row with the median time.
pair() {
	local na=$1 nb=$2 la=$3 lb=$4 ha=$5 hb=$6 i times=() median f
	shift 6
	for i in $(seq 1 "$RUNS"); do
		lab_nats "$na" "$nb"
		for r in $PORTMAP; do lab_portmap "$r"; done
		stream "$filter" "$la" "$lb" "$ha" "$hb" "$@"
		times+=("$LAST_MS")
	done
	median=$(printf '%s\n' "${times[@]}" | sort -n |
	    awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	f=$([ "$filter" = 1 ] && echo on || echo off)
	ROWS+=("| $la | $lb | $f | $LAST_STRATEGY | $median | $LAST_OUTCOME |")
}

datagrams() { # kindA kindB: a burst through --forward/--local
	local name=d$n out want=direct
	n=$((n + 1))
	! no_path "$1" "$2" || want=relay
	lab_in hA $BURST echo $((20000 + n)) &
	listen_bg hA "$name" --forward 127.0.0.1:$((20000 + n))
	lab_in hB "${C[@]}" --json connect "$name" --local $((30000 + n)) >"$T/outB" 2>"$T/errB" &
	local conn=$!
	wait_for 200 grep -q "\"result\":\"$want\"" "$T/outB" ||
	    fail "$1 x $2: --local did not connect ($want): $(cat "$T/outB" "$T/errB")"
	out=$(lab_in hB $BURST burst $((30000 + n)) 300) || fail "$1 x $2: datagrams: $out"
	lab_stop hA hB
	wait "$conn" "$LISTENER" 2>/dev/null
	# natclient ping to a listener of datagrams: each reply names the
	# path, which is the one this pair should get.
	lab_in hA $BURST echo $((20000 + n)) &
	listen_bg hA "p$name" --forward 127.0.0.1:$((20000 + n))
	local pings
	pings=$(lab_in hB "${C[@]}" --json --count 2 ping "p$name" 2>"$T/errB") ||
	    fail "$1 x $2: ping: $pings $(cat "$T/errB")"
	[ "$(grep -c "\"event\":\"reply\".*\"path\":\"$want\"" <<<"$pings")" = 2 ] ||
	    fail "$1 x $2: ping, not 2 replies via $want: $pings $(cat "$T/errB") $(tail -5 "$T/errA")"
	lab_stop hA hB
	wait "$LISTENER" 2>/dev/null
	pass "$1 x $2: --forward/--local, $want: $out; ping: 2 replies via $want"
}

for filter in ${MATRIX_FILTERS:-1 0}; do
	LAB_FILTER=$filter
	done_kinds=""
	for ka in $KINDS; do
		done_kinds="$done_kinds $ka"
		for kb in $KINDS; do
			case " $done_kinds " in *" $kb "*) [ "$kb" = "$ka" ] || continue ;; esac
			pair "$ka" "$kb" "$ka" "$kb" hA hB
			# TCP between cone NATs, with the input filter only:
			# without it a router answers a SYN that comes before
			# its host's own with a reset, and the entry this
			# leaves clashes with the host's SYN (see README).
			case "$filter $ka $kb" in 0*|*symmetric*) ;; *)
				pair "$ka" "$kb" "$ka" "$kb" hA hB --tcp ;;
			esac
			if [ "$filter" = 1 ]; then
				lab_nats "$ka" "$kb"
				datagrams "$ka" "$kb"
			fi
		done
	done
	# Two hosts behind one NAT.
	pair port-restricted port-restricted port-restricted "same NAT" hA2 hA
done

# Port-mapping routers (miniupnpd on rA, rB or both, over the NAT they
# have): natclient maps its punching socket by PCP, and a mapped side
# is a full cone, so every pair goes direct, the symmetric ones too.
# natclient here is run with portmap on (the tests' wrapper has it off).
LAB_FILTER=1
filter=1
printf '[client]\n' >"$T/portmap.conf"
C_OFF=("${C[@]}")
C=("$NATCLIENT_BIN" -c "$T/portmap.conf" "${C[@]:1}")
for k in ${MATRIX_PORTMAP_KINDS:-$KINDS}; do
	PORTMAP=rA pair "$k" "$k" "$k + portmap" "$k" hA hB
	PORTMAP="rA rB" pair "$k" "$k" "$k + portmap" "$k + portmap" hA hB
done
# The connector's side mapped: it waits, the listener sends.
for k in ${MATRIX_PORTMAP_KINDS:-symmetric-inc symmetric-random}; do
	PORTMAP=rB pair "$k" symmetric-random "$k" "symmetric-random + portmap" hA hB
done
C=("${C_OFF[@]}")
PORTMAP=""

# 64 MiB through the relay fallback and back at once: the listener's
# stdout goes through cat to its own stdin (an echo, as a program run on
# the stream would be), the connector sends 64 MiB from a file and must
# read every byte back.  Neither natclient may block writing one way
# while the other way fills.  The TCP buffers are made small (as a small
# device's are), so that the kernel cannot hide a stall by buffering the
# whole stream.
LAB_FILTER=1
lab_nats symmetric-random symmetric-random
for h in hA hB srv; do
	lab_in "$h" sysctl -qw net.ipv4.tcp_rmem="4096 32768 65536" net.ipv4.tcp_wmem="4096 32768 65536"
done
marked $((64 << 20)) >"$T/big"
mkfifo "$T/echo"
: >"$T/errA"
lab_in hA sh -c '"$@" <"$0" | cat >"$0"' "$T/echo" "${C[@]}" --json listen big 2>>"$T/errA" &
LISTENER=$!
wait_for 200 registered || fail "big: the listener did not register: $(cat "$T/errA")"
# A stall is a hang: bounded so that it fails rather than waits for ever.
timeout 300 ip netns exec "$LAB-hB" "${C[@]}" --json connect big <"$T/big" >"$T/bigOut" 2>"$T/errB" ||
    fail "64 MiB through the relay: connect failed or stalled ($(wc -c <"$T/bigOut") bytes back): $(cat "$T/errB")"
wait "$LISTENER" || fail "64 MiB through the relay: listen failed: $(cat "$T/errA")"
grep -q '"result":"relay"' "$T/errB" || fail "64 MiB: not through the relay: $(cat "$T/errB")"
cmp -s "$T/big" "$T/bigOut" ||
    fail "64 MiB through the relay: the echo differs ($(wc -c <"$T/bigOut") bytes)"
rm -f "$T/big" "$T/bigOut"
pass "symmetric random x symmetric random: 64 MiB through the relay fallback and back at once (echoed by the listener), byte-exact"

# Without a token there is no relay to fall back on: a clear failure
# that names the pair and points to the relay.
LAB_FILTER=1
lab_nats symmetric-random symmetric-random
: >"$T/errA"
lab_in hA "$NATCLIENT" --timeout 10 -s 203.0.113.1 "${TRUST[@]}" listen nt </dev/null >"$T/outA" 2>>"$T/errA" &
LISTENER=$!
wait_for 200 registered || fail "nt: the listener did not register: $(cat "$T/errA")"
lab_in hB "$NATCLIENT" --timeout 10 -s 203.0.113.1 "${TRUST[@]}" connect nt </dev/null >"$T/outB" 2>"$T/errB" &&
    fail "connected with no direct path and no token"
grep -q "relay fallback: no token (--token-file" "$T/errB" &&
    grep -q "no direct path .* between symmetric random x symmetric random NATs .*, nor one through the relay" "$T/errB" ||
    fail "unclear failure without a token: $(cat "$T/errB")"
lab_stop hA
wait "$LISTENER" 2>/dev/null
pass "no direct path and no token: $(tr '\n' ' ' <"$T/errB")"

# What the core saw: the UDP mapping datagrams, and no marker.
kill -INT "$CAPTURE"
wait "$CAPTURE" 2>/dev/null
tcpdump -r "$T/core.pcap" -n -A 2>/dev/null >"$T/core.txt"
packets=$(grep -c "^[0-9][0-9]:" "$T/core.txt")
grep -q '"type":"udp","token"' "$T/core.txt" || fail "the capture did not see the rendezvous traffic ($packets packets)"
grep -q '"type":"register"' "$T/core.txt" && fail "a registration crossed the core in plaintext (no TLS)"
if grep -q -- "$MARKER" "$T/core.txt"; then
	grep -B3 -- "$MARKER" "$T/core.txt" | head -20
	fail "the marker crossed the core in plaintext"
fi
pass "the core carried $packets packets (streams over ENet, TCP and the relay, datagrams direct and relayed, TLS to the server): the marker and the rendezvous JSON in none, the UDP mapping datagrams in plain sight"

table() {
	echo "| NAT of the listener | NAT of the connector | input filter | strategy | ms to connect | outcome |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
}
table
if [ -n "${MATRIX_OUT:-}" ]; then
	{
		echo "# Punching matrix"
		echo
		echo "Written by tests/natlab/run-matrix.sh on $(date -u +%Y-%m-%d) from"
		echo "tests/natlab/matrix.sh: the listener behind rA, the connector"
		echo "behind rB (or both behind rA for \"same NAT\"); ms is the time from"
		echo "the start of punching to the first answer from the peer, and for"
		echo "the relay rows from the start of the fallback to the relay's"
		echo "\"met\" (the median of $RUNS run(s))."
		echo
		echo "\"+ portmap\": that side's router runs miniupnpd (UPnP IGD, NAT-PMP and"
		echo "PCP) over its NAT, and natclient has its gateway map the punching"
		echo "socket's port (by PCP, the first it tries); the mapped side only"
		echo "answers, so ms is one round trip once both sides start.  The"
		echo "mapping is checked to be gone from the router after natclient ends."
		echo
		table
	} >"$MATRIX_OUT"
fi
