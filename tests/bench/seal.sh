# The cost of sealing, in the NAT lab (as root; run by run-seal.sh):
# 64 MiB over a punched path (ENet, full cone x full cone) with sealing
# and with a benchmark-only build whose secure.c leaves the bytes as
# they are (NATKIT_BENCH_PLAINTEXT: same handshake, same framing, no
# AEAD), in turns, ROUNDS times; MB/s from the listener's first byte to
# its last.  Then the handshake's time against the round trip, with
# 20 ms added on the core towards rB where the kernel has netem.
TLS=yes
. "$TESTLIB"
. "$LABLIB"
ROUNDS=${ROUNDS:-5}
PLAIN=${PLAIN_NATCLIENT:?the benchmark-only natclient}
lab_up
lab_server
lab_nat rA full-cone
lab_nat rB full-cone
head -c $((64 << 20)) /dev/urandom >"$T/big"
meter='import sys, time
n, t0 = 0, None
while True:
    b = sys.stdin.buffer.read1(1 << 20)
    if not b:
        break
    if t0 is None:
        t0 = time.time()
    n += len(b)
print("%.1f" % (n / (time.time() - t0) / 1e6))'
run() { # natclient name: MB/s of one 64 MiB stream; handshake ms in $T/hs
	local bin=$1 name=$2
	local C=("$bin" --timeout 10 -s 203.0.113.1 "${TRUST[@]}")
	: >"$T/errA"
	lab_in hA sh -c 'out=$1; shift; "$@" </dev/null | python3 -c "$0" >"$out.rate"' \
	    "$meter" "$T/$name" "${C[@]}" listen "$name" 2>>"$T/errA" &
	local l=$!
	wait_for 200 grep -q "listening as" "$T/errA" || fail "listen: $(cat "$T/errA")"
	lab_in hB "${C[@]}" --json connect "$name" <"$T/big" >/dev/null 2>"$T/errB" || fail "connect: $(cat "$T/errB")"
	wait "$l"
	sed -n 's/.*"handshake_ms":\([0-9]*\).*/\1/p' "$T/errB" >>"$T/hs"
	cat "$T/$name.rate"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
: >"$T/sealed" >"$T/plain"
for i in $(seq 1 "$ROUNDS"); do
	run "$NATCLIENT" s$i >>"$T/sealed"
	run "$PLAIN" p$i >>"$T/plain"
done
: >"$T/hs"
delay="with 20 ms added towards rB"
lab_in core tc qdisc add dev c-rB root netem delay 20ms 2>/dev/null ||
    delay="(this kernel has no netem: the lab's own round trip)"
rtt=$(lab_in hB ping -c 5 -i 0.2 198.51.100.10 | sed -n 's/.* = [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
for i in $(seq 1 "$ROUNDS"); do
	run "$NATCLIENT" h$i >/dev/null
done
echo "| path | sealed MB/s (median of $ROUNDS) | unsealed MB/s | sealed / unsealed |"
echo "|---|---|---|---|"
s=$(median <"$T/sealed") p=$(median <"$T/plain")
echo "| ENet over a punched path (full cone x full cone) | $s | $p | $(echo "scale=2; $s / $p" | bc) |"
echo
echo "rounds, sealed: $(tr '\n' ' ' <"$T/sealed"); unsealed: $(tr '\n' ' ' <"$T/plain")"
echo
echo "handshake $delay: median $(median <"$T/hs") ms (runs: $(tr '\n' ' ' <"$T/hs")), round trip hB -> rA $rtt ms"
