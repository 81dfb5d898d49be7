#!/usr/bin/env bash
# The query store's load benchmark (issue: queryable data): N generated
# log-like rows in E CSV files (one extent each; plain, then gzip) on tmpfs,
# loaded by followerd's loader (bench_qload: lib/store/qload into a query
# store, as qsync does with cached artifacts) and, on the same files and in
# the same run, by the peers a user would pick: the sqlite3 CLI (.import into
# a text table, then converted to typed columns) and DuckDB (@duckdb/node-api,
# 2 threads, read_csv into a typed table).  Prints rows/s, peak RSS, the
# store's bytes per CSV byte, and ratios.
#   make bench BENCH=qload        QLOAD_ROWS=10000000 QLOAD_FILES=1000 for the issue's size
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
ROWS=${QLOAD_ROWS:-2000000}
FILES=${QLOAD_FILES:-200}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/qload.XXXXXX")
trap 'rm -rf "$W"' EXIT

command -v sqlite3 >/dev/null || { echo "sqlite3 not installed (make test-deps)" >&2; exit 1; }
command -v node >/dev/null || { echo "node not installed (make test-deps)" >&2; exit 1; }
[ -d "$here/peers/node_modules/@duckdb/node-api" ] ||
	(cd "$here/peers" && npm ci --no-audit --no-fund --loglevel=error) >&2
make -C "$root" -s "$(basename "$BUILD")/libfollower.a" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_qload
mkdir -p "$(dirname "$bin")"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -I"$root/lib" \
	$(pkg-config --cflags jansson zlib libzstd sqlite3) -o "$bin" "$here/bench_qload.c" \
	"$BUILD/libfollower.a" $(pkg-config --libs jansson zlib libzstd sqlite3) -lm -lpthread

echo "generating $ROWS rows in $FILES CSV files ..." >&2
per=$((ROWS / FILES))
mkdir -p "$W/csv" "$W/gz"
for ((f = 0; f < FILES; f++)); do
	awk -v f="$f" -v n="$per" 'BEGIN {
		split("Info Warning Error Verbose", lv, " "); split("request served from cache user login failed timeout upstream retry ok slow", wd, " ")
		for (i = 0; i < n; i++) { x = (f * n + i) * 2654435761 % 4294967296
			printf "2026-11-%02dT%02d:%02d:%02d.%07dZ,%s,host-%03d,svc%d,%d.%03d,%s %s %s %s,%d,\"{\"\"k\"\":%d}\"\n",
				1 + f % 28, (i / 3600) % 24, (i / 60) % 60, i % 60, x % 10000000, lv[1 + x % 4], x % 100, x % 7,
				x % 500, x % 1000, wd[1 + x % 12], wd[1 + int(x / 16) % 12], wd[1 + int(x / 256) % 12],
				wd[1 + int(x / 4096) % 12], 200 + x % 300, x % 10 } }' >"$W/csv/$f.csv"
	gzip -1 -c "$W/csv/$f.csv" >"$W/gz/$f.csv.gz"
done
csv_bytes=$(cat "$W"/csv/*.csv | wc -c)

tm() { /usr/bin/time -f '%e %M' "$@" 2>"$W/time" >"$W/out" || { cat "$W/out" "$W/time" >&2; exit 1; }; tail -1 "$W/time"; }

read -r t_fd rss_fd < <(tm "$bin" "$W/f.db" "$W"/csv/*.csv)
store_fd=$(grep -o 'store_bytes [0-9]*' "$W/out" | cut -d' ' -f2)
read -r t_gz rss_gz < <(tm "$bin" "$W/g.db" "$W"/gz/*.csv.gz)

{
	echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	echo "CREATE TABLE raw(Timestamp TEXT, Level TEXT, Host TEXT, Service TEXT, Latency TEXT, Message TEXT, Code TEXT, Props TEXT);"
	echo ".mode csv"
	for f in "$W"/csv/*.csv; do echo ".import $f raw"; done
	echo "CREATE TABLE logs(Timestamp INTEGER, Level TEXT, Host TEXT, Service TEXT, Latency REAL, Message TEXT, Code INTEGER, Props TEXT);"
	echo "INSERT INTO logs SELECT CAST((julianday(Timestamp) - 2440587.5) * 864000000000 AS INTEGER), Level, Host, Service, CAST(Latency AS REAL), Message, CAST(Code AS INTEGER), json(Props) FROM raw;"
	echo "DROP TABLE raw; VACUUM;"
} >"$W/cli.sql"
read -r t_cli rss_cli < <(tm sh -c "sqlite3 '$W/cli.db' <'$W/cli.sql'")

cat >"$W/duck.mjs" <<JS
import { DuckDBInstance } from "$here/peers/node_modules/@duckdb/node-api/lib/index.js";
const db = await DuckDBInstance.create("$W/duck.db", { threads: "2" });
const c = await db.connect();
await c.run(\`CREATE TABLE logs AS SELECT * FROM read_csv('$W/csv/*.csv', header = false, columns = {
  'Timestamp': 'TIMESTAMP', 'Level': 'VARCHAR', 'Host': 'VARCHAR', 'Service': 'VARCHAR',
  'Latency': 'DOUBLE', 'Message': 'VARCHAR', 'Code': 'BIGINT', 'Props': 'VARCHAR'})\`);
c.closeSync();
JS
read -r t_duck rss_duck < <(tm node "$W/duck.mjs")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rps() { awk -v r="$ROWS" -v t="$1" 'BEGIN { printf "%.0f", r / t }'; }
printf '\n%s rows in %s files, %s CSV bytes; tmpfs; 2 cores\n' "$ROWS" "$FILES" "$csv_bytes"
printf '| %-44s | %8s | %10s | %9s | %s |\n' "load into a queryable table" "wall s" "rows/s" "peak RSS" "vs sqlite3 CLI"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "----------" "------------" "-----------" "----"
printf '| %-44s | %8s | %10s | %6s MB | %s |\n' "followerd qload, CSV (parser thread + SQLite)" "$t_fd" "$(rps "$t_fd")" "$((rss_fd / 1024))" "$(ratio "$t_cli" "$t_fd")"
printf '| %-44s | %8s | %10s | %6s MB | %s |\n' "followerd qload, CSV gzip" "$t_gz" "$(rps "$t_gz")" "$((rss_gz / 1024))" "$(ratio "$t_cli" "$t_gz")"
printf '| %-44s | %8s | %10s | %6s MB | %s |\n' "sqlite3 CLI .import + convert" "$t_cli" "$(rps "$t_cli")" "$((rss_cli / 1024))" "1.00"
printf '| %-44s | %8s | %10s | %6s MB | %s |\n' "DuckDB read_csv (2 threads)" "$t_duck" "$(rps "$t_duck")" "$((rss_duck / 1024))" "$(ratio "$t_cli" "$t_duck")"
printf '\nstore bytes per CSV byte: followerd %s, sqlite3 CLI %s, DuckDB %s\n' \
	"$(ratio "$store_fd" "$csv_bytes")" "$(ratio "$(stat -c %s "$W/cli.db")" "$csv_bytes")" \
	"$(ratio "$(stat -c %s "$W/duck.db")" "$csv_bytes")"
echo "targets: >= 1.5x the sqlite3 CLI's rows/s, peak RSS <= 150 MB, store <= 1x the CSV"
