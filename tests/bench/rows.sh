#!/usr/bin/env bash
# The row reader benchmark (bench_rows.c): builds it against
# $BUILD/libfollower.a and runs it.  Argument: [rows (2000000)].
#   make bench BENCH=rows      or      BUILD=build bash tests/bench/rows.sh 1000000
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
make -C "$root" -s "$(basename "$BUILD")/libfollower.a" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_rows
mkdir -p "$(dirname "$bin")"
peer=()
if [ -f /usr/include/csv.h ]; then peer=(-DHAVE_LIBCSV -lcsv); fi
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -I"$root/lib" \
	$(pkg-config --cflags jansson zlib libzstd) -o "$bin" "$here/bench_rows.c" \
	"$BUILD/libfollower.a" $(pkg-config --libs jansson zlib libzstd) "${peer[@]}" -lm -lpthread
"$bin" "${1:-2000000}"
