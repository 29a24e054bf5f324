# libFuzzer in the test suite: each harness in tests/fuzz is built with
# clang, ASan and UBSan, replays every input of its corpus
# (tests/fuzz/corpus/NAME: seeds from the tests' own messages, and any
# input that once crashed), then fuzzes for FUZZ_SECONDS (default 15).
# A crash fails the test and prints the input as hex, to be kept in the
# corpus with its fix.  Long runs: see tests/fuzz/README.
. "$TESTLIB"
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || skip "clang is not installed (Debian: clang)"
SECONDS_EACH=${FUZZ_SECONDS:-15}
HARNESSES=${FUZZ_ONLY:-stun text tracker n4 addr conf noise rendezvous relay vhost http turn pcp mux}
F=$SRCDIR/tests/fuzz
B=${FUZZ_BUILD:-$T/build} # FUZZ_BUILD: keep the harnesses
mkdir -p "$B"

# One response file of flags; the library and server code (as natserver
# is built, without main) compiled once, two at a time.
printf '%s\n' -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
    -fno-sanitize-recover=undefined -I"$BUILDDIR" -I"$SRCDIR/common" \
    -I"$SRCDIR/server" -I"$F" $(pkg-config --cflags libevent jansson libssl libcrypto libsodium) \
    >"$B/flags"
for src in "$SRCDIR"/common/*.c "$SRCDIR"/server/*.c "$F/fuzz_worker.c"; do
	case $src in */server/main.c) continue ;; esac
	echo "$src" "$B/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
done >"$B/list"
export CLANG B
xargs -P 2 -n 2 sh -c '"$CLANG" @"$B/flags" -c "$0" -o "$1" 2>>"$B/cc.err"' <"$B/list" ||
    fail "clang: $(head -20 "$B/cc.err")"
LIBS="$(pkg-config --libs libevent jansson libssl libcrypto libsodium zlib) -lhttp_parser"

total=0
for h in $HARNESSES; do
	# natclient's own parsers are compiled with their harness.
	case $h in pcp) client="-I$SRCDIR/client $SRCDIR/client/pcp.c" ;; *) client= ;; esac
	"$CLANG" @"$B/flags" -fsanitize=fuzzer "$F/fuzz_$h.c" $client "$B"/*.o $LIBS -lenet \
	    -o "$B/fuzz_$h" 2>"$B/ld.err" || fail "clang: fuzz_$h: $(head -20 "$B/ld.err")"
	mkdir -p "$B/new_$h"
	# The handler harnesses keep a worker's state between inputs, as a
	# server does: LeakSanitizer's check after each input would scan it
	# all every time (a hundred times slower), so it is left off there.
	case $h in relay | rendezvous | http | turn) leaks=-detect_leaks=0 ;; *) leaks=-detect_leaks=1 ;; esac
	# Replay: each kept input once, then fuzz from the corpus.
	"$B/fuzz_$h" $leaks "$F/corpus/$h"/* >"$B/replay_$h.log" 2>&1 ||
	    fail "fuzz_$h: an input of the corpus fails: $(tail -30 "$B/replay_$h.log")"
	if ! "$B/fuzz_$h" $leaks -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$B/crash_$h-" -print_final_stats=1 \
	    "$B/new_$h" "$F/corpus/$h" >"$B/fuzz_$h.log" 2>&1; then
		tail -40 "$B/fuzz_$h.log"
		for c in "$B"/crash_"$h"-*; do
			[ -f "$c" ] && echo "input ($c): $(od -An -tx1 -v "$c" | tr -d ' \n')"
		done
		fail "fuzz_$h found a crash"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$h.log")
	total=$((total + ${runs:-0}))
	pass "fuzz_$h: corpus of $(ls "$F/corpus/$h" | wc -l) replayed; ${runs:-?} executions in ${SECONDS_EACH} s, no crash"
done
echo "executions in all: $total"
