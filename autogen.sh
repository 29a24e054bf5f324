#!/bin/sh
# Generate configure and the autotools helpers (build-aux/, m4/).
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf --install --force
