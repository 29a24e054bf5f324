# Shared by the integration tests: a private directory, free ports, a
# natserver started in the foreground and always stopped again.
# Each test sources this file with NATSERVER, NATCLIENT and PROBE set by
# make check (see Makefile.am).

set -u

: "${NATSERVER:?run from make check}"
: "${NATCLIENT:?run from make check}"
: "${PROBE:?run from make check}"

T=$(mktemp -d "${TMPDIR:-/tmp}/natkit-test.XXXXXX")
# natclient's keys and known peers live in the test's directory, and the
# peers of a test share a secret (natclient listen must be told whom to
# accept): "${TRUST[@]}" on a listen or connect.
export XDG_CONFIG_HOME="$T/config"
(umask 077 && echo "natkit test secret $$" >"$T/secret")
TRUST=(--secret-file "$T/secret")
# The rendezvous and relay doors speak TLS when a test sets TLS=yes
# before it sources this file (natclient then trusts the certificate it
# first sees: known_servers under $XDG_CONFIG_HOME).  Otherwise both
# sides say tls = no, so that the tests can speak the JSON protocols
# themselves: natserver in write_conf, natclient through a wrapper.
# natclient never asks a gateway for a port mapping in the tests
# (portmap = no), but where the lab's port-mapping tests turn it on
# with a file of their own and $NATCLIENT_BIN.
TLS=${TLS:-no}
printf '[client]\nportmap = no\n' >"$T/natclient-plain.conf"
[ "$TLS" = no ] && echo 'tls = no' >>"$T/natclient-plain.conf"
printf '#!/bin/sh\nexec "%s" -c "%s" "$@"\n' "$NATCLIENT" "$T/natclient-plain.conf" >"$T/natclient"
chmod +x "$T/natclient"
NATCLIENT_BIN=$NATCLIENT
NATCLIENT=$T/natclient
MASTER=
STARTED=()

cleanup() {
	local p
	for p in ${STARTED[@]+"${STARTED[@]}"}; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in ${STARTED[@]+"${STARTED[@]}"}; do
		wait_gone "$p" 50 || kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$T/log" ]; then
		echo "--- natserver log (last 30 lines) ---"
		tail -n 30 "$T/log"
	fi
	exit 1
}

pass() {
	echo "ok: $*"
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# wait_for N CMD...: run CMD every 0.1 s, up to N times, until it succeeds.
wait_for() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
wait_gone() { wait_for "${2:-50}" dead "$1"; }

# Ports: a random block of six, so parallel test runs do not meet, below
# the kernel's ephemeral range (32768 up), where busy clients (the fuzz
# harnesses make thousands of connections a second) hold ports.
pick_ports() {
	local base=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
	TRACKER_PORT=$base
	N4_PORT=$((base + 1))
	NAMED_PORT=$((base + 2))
	RELAY_PORT=$((base + 3))
	METRICS_PORT=$((base + 5))
}

# free_port: a TCP port on 127.0.0.1 that nothing holds now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_conf FILE [extra lines...]: a config on loopback, v4 and v6.
write_conf() {
	local f=$1
	shift
	cat >"$f" <<CONF
[server]
pidfile = $T/natserver.pid
metrics_listen = 127.0.0.1:$METRICS_PORT
tls = $TLS
tls_dir = ${TLS_DIR:-$T/tls}
[tracker]
listen = 127.0.0.1:$TRACKER_PORT [::1]:$TRACKER_PORT
workers = ${TRACKER_WORKERS:-2}
[rendezvous]
listen = 127.0.0.1:$N4_PORT
named_listen = 127.0.0.1:$NAMED_PORT [::1]:$NAMED_PORT
workers = ${RENDEZVOUS_WORKERS:-1}
[relay]
listen = 127.0.0.1:$RELAY_PORT
workers = ${RELAY_WORKERS:-1}
[turn]
CONF
	# Extra "section.key = value" lines go under their section;
	# @ALT_PORT@ is a fifth free port (RFC 5780's alternate).
	local line sec rest
	for line in "$@"; do
		sec=${line%%.*}
		rest=${line#*.}
		rest=${rest//@ALT_PORT@/$((TRACKER_PORT + 4))}
		sed -i "/^\[$sec\]\$/a $rest" "$f"
	done
}

# nat_ok [PORT] [HOST]: the tracker answers //nat.
nat_ok() {
	"$NATCLIENT" --timeout 2 -s "${2:-127.0.0.1}:${1:-$TRACKER_PORT}" nat
}

# started: the tracker answers, or the master died (the caller checks).
started() {
	alive "$MASTER" || return 0
	"$NATCLIENT" --timeout 1 -s "127.0.0.1:$TRACKER_PORT" nat
}

# start_server [extra config lines...]: start natserver -f -d on fresh
# ports (retrying if they are taken) and wait until it answers.
start_server() {
	local try
	for try in 1 2 3 4 5; do
		pick_ports
		write_conf "$T/natserver.conf" "$@"
		"$NATSERVER" -d -c "$T/natserver.conf" >"$T/log" 2>&1 &
		MASTER=$!
		STARTED+=("$MASTER")
		if wait_for 100 started && alive "$MASTER"; then
			return 0
		fi
		grep -q "Address already in use" "$T/log" || break
	done
	fail "natserver did not start"
}

# restart_server [extra config lines...]: stop natserver and start it
# again on the same ports with a new config.
restart_server() {
	kill -TERM "$MASTER"
	wait_gone "$MASTER" 100 || fail "natserver did not stop"
	write_conf "$T/natserver.conf" "$@"
	"$NATSERVER" -d -c "$T/natserver.conf" >"$T/log" 2>&1 &
	MASTER=$!
	STARTED+=("$MASTER")
	wait_for 100 started && alive "$MASTER" || fail "natserver did not start again: $(tail -3 "$T/log")"
}

# workers KIND: pids of the master's workers of one kind.
workers() {
	pgrep -P "$MASTER" -f "^natserver: $1 worker" | sort
}

count_workers() {
	workers "$1" | wc -l
}

# has_workers KIND N: exactly N workers of KIND run.
has_workers() {
	[ "$(count_workers "$1")" -eq "$2" ]
}

# metric NAME{LABELS}: its value from the metrics page, or nothing.
metric() {
	local page
	exec 5<>"/dev/tcp/127.0.0.1/$METRICS_PORT" || return 1
	printf 'GET /metrics HTTP/1.0\r\n\r\n' >&5
	page=$(timeout 5 cat <&5)
	exec 5<&-
	printf '%s\n' "$page" | awk -v m="$1" '$1 == m { print $2 }'
}

# tcp_change_refused: a STUN CHANGE-REQUEST with flags over TCP gets 400.
tcp_change_refused() {
	local out
	exec 4<>"/dev/tcp/127.0.0.1/$TRACKER_PORT" || return 1
	printf '\x00\x01\x00\x08\x21\x12\xa4\x42abcdefghijkl\x00\x03\x00\x04\x00\x00\x00\x04' >&4
	out=$(timeout 5 head -c 32 <&4 | od -An -tx1 | tr -d ' \n')
	exec 4<&-
	case $out in 0111*0009*0400*) return 0 ;; esac
	echo "TCP change request answered '$out'"
	return 1
}

# named_session LINE...: send lines on one connection to the named
# sessions port, print what comes back within a second.
named_session() { # messages...: their answers (from $NAMED_HOST, else 127.0.0.1)
	exec 3<>"/dev/tcp/${NAMED_HOST:-127.0.0.1}/$NAMED_PORT"
	printf '%s\n' "$@" >&3
	timeout 1 cat <&3 2>/dev/null
	exec 3<&-
}
