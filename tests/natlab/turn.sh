# TURN through real kernel NATs: hA and hB, each behind a symmetric
# random NAT (no punched path is possible), trade numbered datagrams
# through natserver's TURN relay, one by a channel and one by Send and
# Data indications, each to the other's relayed address; and coturn's
# turnutils_uclient runs client to client from behind the NAT, over UDP
# and TCP, with no loss.
. "$TESTLIB"
. "$LABLIB"
command -v turnutils_uclient >/dev/null || fail "coturn missing"
TP="python3 $SRCDIR/tests/integration/turnprobe.py"

(umask 077 && echo "lab:lab-turn-pw" >"$T/lab-turnusers")
LAB_SERVER_CONF="[turn]
users_file = $T/lab-turnusers"
lab_up
lab_server
lab_nats symmetric-random symmetric-random

mkdir "$T/ex"
lab_in hA $TP 203.0.113.1 3478 exchange lab lab-turn-pw a b "$T/ex" 100 >"$T/exA" 2>&1 &
lab_in hB $TP 203.0.113.1 3478 exchange lab lab-turn-pw b a "$T/ex" 100 >"$T/exB" 2>&1 ||
    fail "hB: $(cat "$T/exB")"
wait_for 300 grep -q "^got" "$T/exA" || fail "hA: $(cat "$T/exA")"
[ "$(cat "$T/exA")" = "got 100" ] || fail "hA got $(cat "$T/exA")"
[ "$(cat "$T/exB")" = "got 100" ] || fail "hB got $(cat "$T/exB")"
pass "symmetric random x symmetric random: 100 datagrams each way through TURN (channel one way, indications the other)"

for how in "" -t; do
	out=$(lab_in hA timeout 120 turnutils_uclient -y $how -u lab -w lab-turn-pw \
	    -n 100 -m 4 -z 5 203.0.113.1 2>&1)
	echo "$out" | grep -q "Total lost packets 0 (0.000000%)" ||
	    fail "turnutils_uclient -y $how behind a symmetric NAT: $(echo "$out" | tail -5)"
	echo "$out" | grep -q "tot_recv_msgs=[1-9]" || fail "uclient $how received nothing"
done
pass "turnutils_uclient client to client from behind a symmetric random NAT, UDP and TCP"
