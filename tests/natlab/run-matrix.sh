#!/bin/sh
# Run the punching matrix in the NAT lab (as root, after make) and write
# its table to tests/natlab/MATRIX.md.
set -e
cd "$(dirname "$0")/../.."
export NATSERVER="$PWD/server/natserver" NATCLIENT="$PWD/client/natclient"
export PROBE="$PWD/tests/integration/udp_probe" SRCDIR="$PWD"
export TESTLIB="$PWD/tests/integration/lib.sh" LABLIB="$PWD/tests/natlab/lab.sh"
export MATRIX_OUT="$PWD/tests/natlab/MATRIX.md"
exec bash tests/natlab/matrix.sh
