# TCP port forwarding through real NATs: listen --forward-tcp behind rA,
# connect --local-tcp behind rB.  Between port-restricted cone NATs the
# path is punched (direct); between symmetric random NATs it goes
# through the relay fallback.  On each: 20 TCP connections at once over
# the one path, 1 MiB each way at the same time, half-closed,
# byte-exact; and OpenSSH's own client, with ssh -p PORT localhost and
# no ProxyCommand, reaches an sshd behind the other NAT: a command's
# output, and 4 MiB through cat and back.  The echo's connector is the
# agent's [connect] section, whose natclient status must say the path
# the matrix expects (direct with a strategy, or relay) and a round trip.
TLS=yes
. "$TESTLIB"
. "$LABLIB"
command -v python3 >/dev/null || skip "python3 is not installed"
MUX="python3 $SRCDIR/tests/integration/tcpmux.py"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
    fail "OpenSSH (openssh-server, openssh-client) is not installed: the README's test command installs it"

lab_up
lab_server
C=("$NATCLIENT" --timeout 10 -s 203.0.113.1 --token-file "$T/lab-token" "${TRUST[@]}")

# An sshd of the test's own, on hA's loopback, that takes one key.
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
cp "$T/userkey.pub" "$T/authorized_keys"
mkdir -p /run/sshd
cat >"$T/sshd_config" <<CONF
ListenAddress 127.0.0.1:2200
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
CONF
SSH=(ssh -p 2223 -i "$T/userkey" -o BatchMode=yes -o StrictHostKeyChecking=no
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$(id -un)@localhost")
head -c $((4 << 20)) /dev/urandom >"$T/four"

registered() { grep -q "^natclient: listening as '$1'" "$T/errA-$1"; }

forward() { # natA natB want: both kinds of service over one pair
	local want=$3 name
	lab_nats "$1" "$2"
	lab_in hA $MUX serve 7000 >"$T/svc.out" &
	lab_in hA "$SSHD" -D -e -f "$T/sshd_config" 2>"$T/sshd.err" &
	wait_for 100 grep -q serving "$T/svc.out" || fail "the service did not start"
	for name in echo ssh; do
		: >"$T/errA-$name"
		lab_in hA "${C[@]}" --json --keep-listening listen "$name" --forward-tcp \
		    "127.0.0.1:$([ $name = echo ] && echo 7000 || echo 2200)" </dev/null \
		    >"$T/outA-$name" 2>"$T/errA-$name" &
		wait_for 200 registered "$name" || fail "$name: the listener did not register: $(cat "$T/errA-$name")"
	done
	# echo through the agent's [connect] section, ssh from the command line.
	cat >"$T/agentB.conf" <<CONF
[client]
server = 203.0.113.1
token_file = $T/lab-token
control_socket = $T/ctl-$1.sock
[connect echo]
local_tcp = 2222
secret_file = $T/secret
CONF
	lab_in hB "$NATCLIENT" -c "$T/agentB.conf" --timeout 10 up >/dev/null 2>"$T/errB-echo" &
	lab_in hB "${C[@]}" --json connect ssh --local-tcp 2223 </dev/null >"$T/outB-ssh" 2>"$T/errB-ssh" &
	wait_for 300 grep -q "\"result\":\"$want\"" "$T/outB-ssh" ||
	    fail "$1 x $2: ssh: not $want: $(cat "$T/outB-ssh" "$T/errB-ssh")"
	st() { lab_in hB "$NATCLIENT" -c "$T/agentB.conf" --json status; }
	# status says the path the matrix expects for the pair, and its round trip.
	linked() {
		st | python3 -c 'import json, sys
x = json.load(sys.stdin)["services"][0]
assert x["state"] == "connected" and x["path"] == sys.argv[1], x
assert x["rtt_ms"] is not None and x["peer"], x
assert sys.argv[1] == "relay" or x["strategy"] not in ("", "relay"), x' "$want" 2>"$T/st.err"
	}
	wait_for 300 linked || fail "$1 x $2: the agent's status: $(cat "$T/st.err") $(st) $(cat "$T/errB-echo")"
	out=$(lab_in hB $MUX echo 2222 20 $((1 << 20))) ||
	    fail "$1 x $2: 20 connections ($want): $out; $(cat "$T/errB-echo" "$T/errA-echo")"
	pass "$1 x $2 ($want): $out, over one path, from the agent's [connect] (status: $(lab_in hB "$NATCLIENT" -c "$T/agentB.conf" status | sed -n 's/^  path: //p'))"
	# The command runs behind the other NAT: hA's address is there.
	got=$(lab_in hB "${SSH[@]}" 'echo reached $(hostname -I)' 2>"$T/ssh.err") ||
	    fail "$1 x $2: ssh: $(cat "$T/ssh.err" "$T/sshd.err" "$T/errB-ssh")"
	[ "$got" = "reached 10.1.0.2 " ] || [ "$got" = "reached 10.1.0.2" ] || fail "ssh ran where? $got"
	lab_in hB "${SSH[@]}" cat <"$T/four" >"$T/four.back" 2>"$T/ssh.err" ||
	    fail "$1 x $2: ssh cat: $(cat "$T/ssh.err")"
	cmp -s "$T/four" "$T/four.back" || fail "$1 x $2: 4 MiB through ssh differ ($(wc -c <"$T/four.back") bytes)"
	pass "$1 x $2 ($want): ssh -p 2223 localhost reached sshd behind the other NAT; 4 MiB through cat and back, byte-exact"
}

forward port-restricted port-restricted direct
forward symmetric-random symmetric-random relay
lab_stop hA hB
