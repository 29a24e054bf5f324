# The SysV init script (etc/init.d/natserver.in) and its LSB exit codes:
# start, stop, restart, reload, force-reload and status, each in the
# states where the codes differ.
. "$TESTLIB"

pick_ports
mkdir -p "$T/etc"
write_conf "$T/etc/natserver.conf"
sed -e "s|@sbindir@|$(dirname "$NATSERVER")|" -e "s|@sysconfdir@|$T/etc|" \
    -e "s|@localstatedir@/run/natserver/natserver.pid|$T/natserver.pid|" \
    "$SRCDIR/etc/init.d/natserver.in" >"$T/init"
INIT=(sh "$T/init")
code() { # expected action: the script's exit code for action
	local want=$1 got
	shift
	"${INIT[@]}" "$@" >"$T/out" 2>&1
	got=$?
	[ "$got" -eq "$want" ] || fail "$*: exit $got, not $want: $(cat "$T/out")"
}
track() { STARTED+=("$(cat "$T/natserver.pid")"); }

code 3 status
code 7 reload
code 0 stop
code 0 start
track
code 0 status
nat_ok >/dev/null || fail "started, but not answering"
code 0 start
code 0 reload
old=$(cat "$T/natserver.pid")
code 0 restart
track
[ "$(cat "$T/natserver.pid")" != "$old" ] || fail "restart kept pid $old"
# (A daemon's parent is init, which may be slow to reap it: a zombie is gone.)
ended() { dead "$1" || ps -o stat= -p "$1" | grep -q '^Z'; }
wait_for 50 ended "$old" || fail "restart left the old master"
nat_ok >/dev/null || fail "restarted, but not answering"
code 0 force-reload
track
code 0 stop
code 3 status
code 0 stop
pass "start, stop, restart, force-reload, reload, status: 0 and 3 and 7 where the LSB says"

# A pidfile left by a master that died: status 1.
sh -c 'exit 0' &
wait $!
echo $! >"$T/natserver.pid"
code 1 status
rm -f "$T/natserver.pid"
code 2 bogus
mv "$T/etc/natserver.conf" "$T/etc/away"
code 6 start
sed -i "s|^DAEMON=.*|DAEMON=$T/nowhere|" "$T/init"
code 5 start
pass "a stale pidfile: 1; an unknown action: 2; no config: 6; not installed: 5"
