#!/usr/bin/env bash
# The store benchmark (bench_store.c): builds it against $BUILD/libfollower.a
# and runs it.  Arguments: [extents (1000000)] [directory (/tmp)].
#   make bench BENCH=store      or      BUILD=build bash tests/bench/store.sh 100000
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
make -C "$root" -s "$(basename "$BUILD")/libfollower.a" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_store
mkdir -p "$(dirname "$bin")"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I"$root/lib" \
	$(pkg-config --cflags jansson sqlite3) -o "$bin" "$here/bench_store.c" \
	"$BUILD/libfollower.a" $(pkg-config --libs jansson sqlite3) -lm
"$bin" "${1:-1000000}" "${2:-${TMPDIR:-/tmp}}"
