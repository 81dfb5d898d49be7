#!/usr/bin/env bash
# The cache writer's throughput (hash while writing, fsync, rename) next to
# plain writes and bare SHA-256: tests/bench/bench_cache_hash.c.  Runs on
# tmpfs (/dev/shm) and, when BENCH_DISK_DIR is set, on that directory too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:?}
bin=$BUILD/bench_cache_hash
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/lib" "$here/bench_cache_hash.c" "$BUILD/libfollower.a" \
	$(pkg-config --libs openssl) -lpthread -o "$bin"
"$bin" -r 7
if [ -n "${BENCH_DISK_DIR:-}" ]; then
	"$bin" -r 5 -d "$BENCH_DISK_DIR"
fi
