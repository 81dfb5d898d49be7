#!/usr/bin/env bash
# Parallel scans (issue 13: "full scans use both cores"): N generated
# log-like rows in E extents of a query store on tmpfs; each reference
# query run by followerd's engine (bench_qpar: KQL compiled, then run on
# SQLite) whole on one thread and split over the cores (lib/query/kql_split
# + kql_par, as daemon/query_par runs them), and, in the same run, the
# same query written by hand in SQL on the sqlite3 CLI over an equivalent
# typed table (one thread).  The least of R runs (on a shared machine, the
# run least disturbed); prints seconds and ratios.
# The engine alone: no HTTP, no encoding (tests/bench/query.sh measures
# the whole path against the peers).
#   make bench BENCH=qpar        QPAR_ROWS=10000000 QPAR_EXTENTS=1000 for the issue's size
#   QPAR_PARTS=1: the split on one thread (a summarize's partial hashed);
#   QPAR_SORTED=1: the partial plans as SQL (GROUP BY) instead of hashed
#   QPAR_ONLY=argmax-by-host,avg-timestamp: these queries only
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
ROWS=${QPAR_ROWS:-2000000}
EXTENTS=${QPAR_EXTENTS:-200}
PARTS=${QPAR_PARTS:-$(nproc)}
RUNS=${QPAR_RUNS:-7}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/qpar.XXXXXX")
trap 'rm -rf "$W"' EXIT

command -v sqlite3 >/dev/null || { echo "sqlite3 not installed (make test-deps)" >&2; exit 1; }
make -C "$root" -s "$(basename "$BUILD")/libfollower.a" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_qpar
mkdir -p "$(dirname "$bin")"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -I"$root/lib" \
	$(pkg-config --cflags jansson sqlite3) -o "$bin" "$here/bench_qpar.c" \
	"$BUILD/libfollower.a" $(pkg-config --libs jansson zlib libzstd sqlite3 libpcre2-8) -lm -lpthread

echo "loading $ROWS rows in $EXTENTS extents ..." >&2
# the store is made on the first call (one run, no query timed twice)
"$bin" "$W/store.db" "$ROWS" "$EXTENTS" "$PARTS" 1 >/dev/null
"$bin" "$W/store.db" "$ROWS" "$EXTENTS" "$PARTS" "$RUNS" ${QPAR_ONLY:+"$QPAR_ONLY"} >"$W/engine"
sqlite3 "$W/cli.db" "ATTACH '$W/store.db' AS s; CREATE TABLE logs(Timestamp INTEGER, Level TEXT,
	Host TEXT, Service TEXT, Latency REAL, Code INTEGER); INSERT INTO logs SELECT c0, c1, c2, c3,
	c4, c5 FROM s.d1;"

# The hand-written SQL of each query, in bench_qpar's order.
declare -A sql=(
	[count]="SELECT count(*) FROM logs"
	[count-where]="SELECT count(*) FROM logs WHERE Level = 'Error'"
	[count-by-level]="SELECT Level, count(*) FROM logs GROUP BY Level"
	[count-by-hour]="SELECT Timestamp / 36000000000 * 36000000000 AS h, count(*) FROM logs GROUP BY h"
	[avg-max-by-host-top10]="SELECT Host, avg(Latency) AS a, max(Latency) FROM logs GROUP BY Host ORDER BY a DESC LIMIT 10"
	[dcount-host]="SELECT count(DISTINCT Host) FROM logs"
	[distinct-host]="SELECT DISTINCT Host FROM logs"
	[take-100]="SELECT * FROM logs LIMIT 100"
	[take-10-where-rare]="SELECT * FROM logs WHERE Latency > 499.99 LIMIT 10"
	[top-10-latency]="SELECT * FROM logs ORDER BY Latency DESC LIMIT 10"
	[argmax-by-host]="SELECT Host, max(Latency), Timestamp FROM logs GROUP BY Host"
	[makeset-by-host]="SELECT Host, json_group_array(DISTINCT Service) FROM logs GROUP BY Host"
	[avg-timestamp]="SELECT avg(Timestamp) FROM logs"
	[percentile-95]="SELECT Latency FROM logs WHERE Latency IS NOT NULL ORDER BY Latency LIMIT 1 OFFSET (SELECT (count(Latency) * 95 + 99) / 100 - 1 FROM logs)"
	[percentile-code]="SELECT Code FROM logs WHERE Code IS NOT NULL ORDER BY Code LIMIT 1 OFFSET (SELECT (count(Code) * 95 + 99) / 100 - 1 FROM logs)"
	[percentiles-by-host]="SELECT Host, count(Latency) FROM logs GROUP BY Host"
)
cli() { # the least of RUNS "Run Time: real R user U sys S" of $1: "R U+S"
	for ((i = 0; i < RUNS; i++)); do printf '%s;\n' "$1"; done |
		sqlite3 -cmd '.timer on' "$W/cli.db" 2>&1 |
		awk '/^Run Time/ { r[++n] = $4; c[n] = $6 + $8 }
			END { m = 1; for (i = 2; i <= n; i++) if (r[i] < r[m]) m = i
				printf "%s %.4f\n", r[m], c[m] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

printf '\n%s rows in %s extents; tmpfs; %s cores; split over %s; least of %s runs\n' \
	"$ROWS" "$EXTENTS" "$(nproc)" "$PARTS" "$RUNS"
printf '| %-22s | %9s | %9s | %9s | %12s | %12s | %20s |\n' query "sqlite3 s" "1 thread" \
	"split" "1 thr / CLI" "CLI / split" "CPU s CLI / 1 / all"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------ ----------- ----------- ----------- \
	-------------- -------------- ----------------------
while read -r name whole split wcpu scpu rows rest; do
	read -r c ccpu < <(cli "${sql[$name]}")
	printf '| %-22s | %9s | %9s | %9s | %12s | %12s | %6s/%6s/%6s |%s\n' "$name" "$c" "$whole" \
		"$split" "$(ratio "$whole" "$c")" "$(ratio "$c" "$split")" "$ccpu" "$wcpu" "$scpu" \
		"${rest:+ $rest}"
done <"$W/engine"
echo "targets: 1 thread within 1.3x of the CLI; full scans split >= 1.7x faster than the CLI"
echo "(wall times need idle cores: see the load average; CPU s: the process's, every thread)"
uptime
