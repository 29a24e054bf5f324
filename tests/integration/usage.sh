# Bad command lines: usage and exit 2; -v and -h work.
. "$TESTLIB"

out=$("$NATSERVER" -x 2>&1); rc=$?
[ $rc -eq 2 ] || fail "natserver -x exited $rc, not 2"
echo "$out" | grep -q "usage: natserver" || fail "natserver -x: no usage"
"$NATSERVER" extra >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "natserver with an argument exited $rc"
"$NATSERVER" -c >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "natserver -c without a file exited $rc"
"$NATSERVER" -v | grep -q "^natserver [0-9]" || fail "natserver -v"
"$NATSERVER" -h | grep -q "usage: natserver" || fail "natserver -h"
pass "natserver usage"

"$NATCLIENT" --bogus nat >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "natclient --bogus exited $rc"
"$NATCLIENT" >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "natclient without a command exited $rc"
out=$("$NATCLIENT" frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] || fail "natclient frobnicate exited $rc"
echo "$out" | grep -q "unknown command 'frobnicate'" || fail "no message: $out"
out=$("$NATCLIENT" --timeout abc nat 2>&1); rc=$?
[ $rc -eq 2 ] || fail "natclient --timeout abc exited $rc"
echo "$out" | grep -q -- "--timeout" || fail "no message: $out"
out=$("$NATCLIENT" -s "$(head -c 600 /dev/zero | tr '\0' a):1" nat 2>&1)
[ $? -eq 2 ] || fail "an over-long -s was not refused: $out"
grep -q -- "-s: longer than" <<<"$out" || fail "no message: $out"
for opt in --relay --tracker --forward --token-file --name; do
	out=$("$NATCLIENT" -s 127.0.0.1 "$opt" "$(head -c 5000 /dev/zero | tr '\0' a)" nat 2>&1)
	[ $? -eq 2 ] || fail "an over-long $opt was not refused: $out"
	grep -q -- "$opt: longer than" <<<"$out" || fail "no message: $out"
done
"$NATCLIENT" -v | grep -q "^natclient [0-9]" || fail "natclient -v"
pass "natclient usage"

# --help: for each command its own usage and an example, exit 0; an
# unknown command: usage on stderr only, exit 2; the man pages name the
# same codes.
for cmd in nat nat-type netcheck register peers trackers punch listen connect ping keygen key expose up status; do
	out=$("$NATCLIENT" "$cmd" --help) || fail "natclient $cmd --help exited $?"
	grep -q "^natclient $cmd: " <<<"$out" && grep -q "^usage: natclient " <<<"$out" && grep -q "^example: natclient .* $cmd" <<<"$out" ||
	    fail "natclient $cmd --help: $out"
done
out=$("$NATSERVER" --help) && grep -q "^example: natserver" <<<"$out" || fail "natserver --help: $out"
out=$("$NATCLIENT" frobnicate 2>/dev/null)
[ -z "$out" ] || fail "usage for an unknown command went to stdout"
grep -q "^1 when the server did not answer" "$SRCDIR/client/natclient.1" &&
    grep -q "error, 2 on a bad command line" "$SRCDIR/client/natclient.1" &&
    grep -q "holding the pidfile, or when no worker is left; 2 on a bad command line" "$SRCDIR/server/natserver.8" ||
    fail "the man pages' exit codes changed: check them against this test"
pass "--help per command with an example; exit codes as the man pages say"

# No server anywhere: a clear message, no default on the internet.
: >"$T/empty.conf"
out=$("$NATCLIENT" -c "$T/empty.conf" nat 2>&1); rc=$?
[ $rc -eq 1 ] || fail "natclient nat without a server exited $rc"
echo "$out" | grep -q "no server" || fail "no message: $out"
out=$("$NATCLIENT" -c "$T/empty.conf" --json nat 2>/dev/null)
echo "$out" | grep -q '^{"error": *"no server' || fail "--json error: $out"
pass "natclient without a server"

# natclient's own config errors name file and line.
printf '[client]\nserver = 127.0.0.1\ntimeout = never\n' >"$T/bad.conf"
out=$("$NATCLIENT" -c "$T/bad.conf" nat 2>&1); rc=$?
[ $rc -eq 2 ] || fail "bad natclient.conf exited $rc"
echo "$out" | grep -q "$T/bad.conf:3: client.timeout" ||
    fail "bad natclient.conf message: $out"
for bad in "pcp upnp upnp" "pcp, igd" ""; do
	printf '[client]\nportmap_protocols = %s\n' "$bad" >"$T/bad.conf"
	out=$("$NATCLIENT_BIN" -c "$T/bad.conf" -t 2>&1) && fail "-t took portmap_protocols = '$bad'"
	echo "$out" | grep -q "$T/bad.conf: portmap_protocols: '[a-z]*' is not pcp, nat-pmp or upnp" ||
	    fail "portmap_protocols = '$bad': $out"
done
printf '[client]\nportmap_protocols = upnp,pcp\n' >"$T/good.conf"
"$NATCLIENT_BIN" -c "$T/good.conf" -t >/dev/null 2>&1 || fail "-t refused portmap_protocols = upnp,pcp"
pass "natclient config errors, portmap_protocols refused with the bad word"
