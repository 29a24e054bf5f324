# What an admin installs: the sample natserver.conf shows every key with
# its built-in default (and natserver -t takes it uncommented), the man
# pages pass mandoc -Tlint, and the systemd unit is hardened to an
# exposure of 4.0 or less in systemd-analyze security.
. "$TESTLIB"

# Each "#key = value" line of the sample, against the key table in
# server/serverconf.c (where the default is a macro, the value the
# README's ./configure --localstatedir=/var gives it).
out=$(python3 - "$SRCDIR/etc/natserver.conf" "$SRCDIR/server/serverconf.c" 2>&1 <<'PY'

import re, sys
sample, table = open(sys.argv[1]).read(), open(sys.argv[2]).read()
macros = {"NATSERVER_PIDFILE": "/var/run/natserver/natserver.pid",
          "NATSERVER_STATEDIR": "/var/lib/natserver"}
keys = {}
for m in re.finditer(r'\{"(\w+)", "(\w+)", CONF_\w+,(.*?)\},\n', table, re.S):
    d = re.findall(r'"([^"]*)"\s*$', m.group(3).strip()) or \
        [macros[m.group(3).strip().split(",")[-1].strip()]]
    keys[(m.group(1), m.group(2))] = d[-1]
assert len(keys) > 40, "read %d keys from the table" % len(keys)
shown, section, bad = set(), None, []
for line in sample.splitlines():
    if re.match(r"^\[(\w+)\]$", line):
        section = line[1:-1]
    m = re.match(r"^#(\w+) =\s?(.*)$", line)
    if m:
        k = (section, m.group(1))
        shown.add(k)
        if k not in keys:
            bad.append("%s.%s is no key" % k)
        elif keys[k] != m.group(2):
            bad.append("%s.%s: sample '%s', default '%s'" % (k + (m.group(2), keys[k])))
bad += ["%s.%s is not in the sample" % k for k in keys if k not in shown]
assert not bad, "; ".join(bad)
print(len(keys))
PY
) || fail "sample config: $out"
sed 's/^#\([a-z_]* =\)/\1/' "$SRCDIR/etc/natserver.conf" >"$T/uncommented.conf"
res=$("$NATSERVER" -t -c "$T/uncommented.conf" 2>&1) || fail "natserver -t on the uncommented sample: $res"
pass "the sample natserver.conf shows all $out keys with their defaults, and parses uncommented"

# The sample natclient.conf, every line uncommented (the agent's
# sections too), passes natclient -t.
sed 's/^#\([a-z_]* =\)/\1/; s/^#\(\[[a-z]* [a-z]*\]\)$/\1/' "$SRCDIR/etc/natclient.conf" >"$T/client.conf"
res=$("$NATCLIENT" -c "$T/client.conf" -t 2>&1) || fail "natclient -t on the uncommented sample: $res"
grep -q "syntax ok, 5 services" <<<"$res" || fail "natclient -t: $res"
pass "the sample natclient.conf parses uncommented, with its 4 example services"

if command -v mandoc >/dev/null; then
	for page in server/natserver.8 server/natserver.conf.5 client/natclient.1 client/natclient.conf.5; do
		res=$(mandoc -Tlint -Wwarning "$SRCDIR/$page" 2>&1) || fail "mandoc -Tlint $page: $res"
	done
	pass "the man pages pass mandoc -Tlint with no warning"
else
	echo "SKIP: mandoc is not installed (man pages not linted)"
fi

if command -v systemd-analyze >/dev/null; then
	for name in natserver natclient; do
		unit=$(dirname "$NATSERVER")/../etc/$name.service
		[ -f "$unit" ] || fail "no $unit (make builds it)"
		res=$(systemd-analyze security --offline=true "$unit" 2>&1)
		level=$(sed -n "s/.*Overall exposure level for $name.service: \([0-9.]*\).*/\1/p" <<<"$res")
		[ -n "$level" ] || fail "systemd-analyze: $res"
		awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }' || fail "$name.service's exposure is $level, over 4.0"
		pass "systemd-analyze security: $name.service's exposure is $level (4.0 or less)"
	done
else
	echo "SKIP: systemd-analyze is not installed (unit not scored)"
fi
