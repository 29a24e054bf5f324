#!/bin/sh
# Time to a direct path, per NAT pair: the NAT lab's matrix with five
# runs of each pair, medians in the table (as root, after make).  Writes
# the table to tests/bench/punch-times.md for RESULTS.md.
set -e
cd "$(dirname "$0")/../.."
export NATSERVER="$PWD/server/natserver" NATCLIENT="$PWD/client/natclient"
export PROBE="$PWD/tests/integration/udp_probe" SRCDIR="$PWD"
export TESTLIB="$PWD/tests/integration/lib.sh" LABLIB="$PWD/tests/natlab/lab.sh"
export MATRIX_RUNS=${RUNS:-5} MATRIX_OUT="$PWD/tests/bench/punch-times.md"
exec bash tests/natlab/matrix.sh
