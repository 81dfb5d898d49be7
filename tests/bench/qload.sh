#!/usr/bin/env bash
# The query store's load benchmark (issue 12, queryable data), at the
# issue's size by default: ROWS generated log-like rows (`leaderctl generate
# --rows`) in EXTENTS extents of one table, CSV plain and gzip, on tmpfs.
# Measured in the same run, on the same artifact files:
#   - followerd, the real daemon: from the leader to queryable (fetch, verify,
#     load), then restarted over its cache with the query store removed:
#     rows/s from cached artifacts to queryable (until /metrics counts every
#     row), peak RSS (VmHWM), the store's bytes per CSV byte;
#   - the loader alone (bench_qload: lib/store/qload, one thread, one
#     transaction per extent), the figure of earlier runs;
#   - the sqlite3 CLI: .import into a text table, then converted to typed
#     columns (datetime as int64 ticks, latency real with nulls);
#   - DuckDB (@duckdb/node-api, 2 threads): read_csv into a typed table;
#   - a 1,000-row commit on top of the loaded rows (leaderctl ingest, COMMITS
#     times): from the end of the commit to the first answer of a KQL count
#     over POST /v2/rest/query that sees the rows, against the poll interval
#     + 300 ms.
# Prints a table of ratios and each target, PASS or MISS.
#
#   make bench BENCH=qload                       10,000,000 rows, 1,000 extents
#   ROWS=1000000 EXTENTS=100 make bench BENCH=qload   quick validation
#   knobs: ROWS EXTENTS (QLOAD_ROWS QLOAD_FILES), POLL (1s), COMMITS (5),
#          BENCH_DIR (/dev/shm)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
LEADERCTL=$BUILD/leaderctl
FOLLOWERD=$BUILD/followerd
source "$here/lib.sh"
ROWS=${ROWS:-${QLOAD_ROWS:-10000000}}
EXTENTS=${EXTENTS:-${QLOAD_FILES:-1000}}
POLL=${POLL:-1s}
COMMITS=${COMMITS:-5}
BASE=${BENCH_DIR:-/dev/shm}
PER=$((ROWS / EXTENTS))
[ $((PER * EXTENTS)) -eq "$ROWS" ] && [ "$PER" -ge 1 ] && [ "$PER" -le 1000000 ] ||
	{ echo "qload: ROWS must be EXTENTS times 1..1000000" >&2; exit 1; }
case $POLL in *ms) poll_ms=${POLL%ms} ;; *s) poll_ms=$((${POLL%s} * 1000)) ;; *) poll_ms=$POLL ;; esac

for t in sqlite3 node jq curl python3 /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "qload: $t not installed (make test-deps)" >&2; exit 1; }
done
[ -x "$FOLLOWERD" ] && [ -x "$LEADERCTL" ] || { echo "qload: build first (make)" >&2; exit 1; }
# ~600 B a row at the peak: both leaders, a store and a peer's raw and typed tables
bench_free_kb "$BASE" $((ROWS / 1024 * 600 + 524288)) qload || exit 1
bench_duckdb
make -C "$root" -s "$(basename "$BUILD")/libfollower.a" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_qload
mkdir -p "$(dirname "$bin")"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -I"$root/lib" \
	$(pkg-config --cflags jansson zlib libzstd sqlite3 libpcre2-8) -o "$bin" "$here/bench_qload.c" \
	"$BUILD/libfollower.a" $(pkg-config --libs jansson zlib libzstd sqlite3 libpcre2-8) -lm -lpthread

bench_workdir qload || exit 1
FPID=
cleanup() {
	[ -z "$FPID" ] || { kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; }
	rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "generating $ROWS rows in $EXTENTS extents (leaderctl generate), plain and gzip ..." >&2
gen_plain=$(bench_leader "$W/leader" "$ROWS" "$EXTENTS")
gen_gz=$(bench_leader "$W/leader-gz" "$ROWS" "$EXTENTS" --gzip)
# The peers and bench_qload read the same files under names that say their
# compression (bench_qload and DuckDB go by the name).
mkdir -p "$W/csv" "$W/gz"
n=0
while read -r path _; do ln -s "$path" "$W/csv/$(printf %05d $n).csv"; n=$((n + 1)); done \
	< <(bench_artifacts "$W/leader" T0000)
n=0
while read -r path _; do ln -s "$path" "$W/gz/$(printf %05d $n).csv.gz"; n=$((n + 1)); done \
	< <(bench_artifacts "$W/leader-gz" T0000)
csv_bytes=$(cat "$W"/csv/*.csv | wc -c)
gz_bytes=$(cat "$W"/gz/*.csv.gz | wc -c)

# tm CMD...: "wall_s peak_rss_kb cpu_s" of CMD (cpu: user + system, its
# children's included); its stdout in $W/out.
tm() {
	/usr/bin/time -f '%e %M %U %S' "$@" 2>"$W/time" >"$W/out" || { cat "$W/out" "$W/time" >&2; exit 1; }
	tail -1 "$W/time" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}

# ---- followerd, the daemon ----
# follower NAME LEADER: starts followerd over $W/NAME (FPID, URL).
follower() {
	local port
	port=$(bench_port)
	mkdir -p "$W/$1/state"
	bench_follower_conf "$W/$1" "$port" "$2" "$POLL" >"$W/$1/f.conf"
	"$FOLLOWERD" -c "$W/$1/f.conf" 2>>"$W/$1/f.log" &
	FPID=$!
	URL=http://127.0.0.1:$port
}
stop_follower() { kill "$FPID"; wait "$FPID" 2>/dev/null || true; FPID=; }
all_rows() { [ "$(bench_qrows "$URL" T0000)" -ge "$ROWS" ]; }
deadline=$((120 + ROWS / 10000))
# daemon NAME LEADER: sets COLD_S (leader to queryable), LOAD_S (cached
# artifacts to queryable, after a restart without the query store), CPU_S
# (its CPU time meanwhile), RSS_KB,
# STORE_B (the store's bytes, /metrics) and FILE_B (its files); leaves it running.
daemon() {
	local t0 t1
	echo "followerd: $1: from the leader to queryable ..." >&2
	t0=$(now)
	follower "$1" "$2"
	bench_until "$deadline" all_rows || { echo "qload: $1: not loaded in ${deadline}s" >&2; tail "$W/$1/f.log" >&2; exit 1; }
	t1=$(now)
	COLD_S=$(secs "$t0" "$t1")
	stop_follower
	rm -rf "$W/$1/cache/query"
	echo "followerd: $1: restarted over the cache, query store removed ..." >&2
	t0=$(now)
	follower "$1" "$2"
	bench_until "$deadline" all_rows || { echo "qload: $1: not reloaded" >&2; tail "$W/$1/f.log" >&2; exit 1; }
	t1=$(now)
	LOAD_S=$(secs "$t0" "$t1")
	RSS_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$FPID/status")
	# the process's user + system time, all its threads, since the restart
	CPU_S=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$FPID/stat")
	STORE_B=$(bench_qbytes "$URL")
	FILE_B=$(cat "$W/$1/cache/query"/* | wc -c)
}

daemon fd "$W/leader"
fd_cold=$COLD_S fd_load=$LOAD_S fd_cpu=$CPU_S fd_rss=$RSS_KB fd_store=$STORE_B fd_file=$FILE_B

# A 1,000-row commit on top: rows after every generated one; each commit's
# end to the first answer counting them (the query's own time included).
echo "followerd: $COMMITS commits of 1,000 rows, poll interval $POLL ..." >&2
mark=$(date -u +%Y-%m-%dT%H:%M:%S)
for ((k = 1; k <= COMMITS; k++)); do
	awk -v m="$mark" -v k="$k" 'BEGIN { for (i = 0; i < 1000; i++)
		printf "%s.%07dZ,Info,host-%02d,api,1.%03d,bench commit %d row,200,\"{\"\"k\"\":%d}\"\n",
			m, k * 1000 + i, i % 100, i, k, k }' >"$W/commit$k.csv"
done
python3 - "${URL#http://127.0.0.1:}" "$LEADERCTL" "$W/leader" "$W" "$COMMITS" "$mark" >"$W/commits" <<'PY'
import http.client, json, subprocess, sys, time
port, leaderctl, leader, w, commits, mark = sys.argv[1:]
csl = "T0000 | where Timestamp >= datetime(%s) | count" % mark
def count():
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=600)
    c.request("POST", "/v2/rest/query", json.dumps({"db": "Logs", "csl": csl}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        sys.exit("qload: count: HTTP %d: %s" % (r.status, body[:300]))
    for f in json.loads(body):
        if f.get("TableKind") == "PrimaryResult":
            return f["Rows"][0][0]
    sys.exit("qload: count: no primary result: %s" % body[:300])
for k in range(1, int(commits) + 1):
    subprocess.run([leaderctl, "-C", leader, "ingest", "Logs", "T0000",
                    "%s/commit%d.csv" % (w, k), "--format", "csv"],
                   check=True, stdout=subprocess.DEVNULL)
    t0 = time.monotonic()
    while True:
        q0 = time.monotonic()
        n = count()
        q1 = time.monotonic()
        if n >= 1000 * k:
            break
        if q1 - t0 > 120:
            sys.exit("qload: commit %d not visible after 120 s" % k)
        time.sleep(0.01)
    print("%.3f %.3f" % (q1 - t0, q1 - q0))
    time.sleep(0.37 * k % 1)  # commits at different phases of the poll
PY
read -r c_n c_med c_max c_qmed < <(sort -n "$W/commits" |
	awk '{ v[NR] = $1; q[NR] = $2 } END { print NR, v[int((NR + 1) / 2)], v[NR], q[int((NR + 1) / 2)] }')
stop_follower
rm -rf "$W/fd"

daemon fdgz "$W/leader-gz"
gz_cold=$COLD_S gz_load=$LOAD_S gz_cpu=$CPU_S gz_rss=$RSS_KB gz_store=$STORE_B
stop_follower
rm -rf "$W/fdgz"

# ---- the loader alone ----
echo "bench_qload (lib/store/qload, one thread) ..." >&2
read -r t_ql rss_ql cpu_ql < <(tm "$bin" "$W/ql.db" "$W"/csv/*.csv)
store_ql=$(grep -o 'store_bytes [0-9]*' "$W/out" | cut -d' ' -f2)
rm -f "$W"/ql.db*
read -r t_qlgz rss_qlgz cpu_qlgz < <(tm "$bin" "$W/ql.db" "$W"/gz/*.csv.gz)
rm -f "$W"/ql.db*

# ---- the peers ----
# sqlite_script DIR [PIPE]: the sqlite3 CLI's load of DIR's files.
sqlite_script() {
	local f
	echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	echo "CREATE TABLE raw(Timestamp TEXT, Level TEXT, Host TEXT, Service TEXT, Latency TEXT, Message TEXT, Code TEXT, Props TEXT);"
	echo ".mode csv"
	for f in "$1"/*; do
		if [ -n "${2:-}" ]; then echo ".import '|$2 $f' raw"; else echo ".import $f raw"; fi
	done
	echo "CREATE TABLE logs(Timestamp INTEGER, Level TEXT, Host TEXT, Service TEXT, Latency REAL, Message TEXT, Code INTEGER, Props TEXT);"
	echo "INSERT INTO logs SELECT unixepoch(substr(Timestamp, 1, 19)) * 10000000 + CAST(substr(Timestamp, 21, 7) AS INTEGER),"
	echo "  Level, Host, Service, CAST(NULLIF(Latency, '') AS REAL), Message, CAST(Code AS INTEGER), json(Props) FROM raw;"
	echo "DROP TABLE raw; VACUUM;"
}
echo "sqlite3 CLI .import + convert ..." >&2
sqlite_script "$W/csv" >"$W/cli.sql"
read -r t_cli rss_cli cpu_cli < <(tm sh -c "sqlite3 '$W/cli.db' <'$W/cli.sql'")
cli_rows=$(sqlite3 "$W/cli.db" 'SELECT count(*) FROM logs')
cli_bytes=$(stat -c %s "$W/cli.db")
rm -f "$W"/cli.db*
sqlite_script "$W/gz" "gzip -dc" >"$W/cligz.sql"
read -r t_cligz rss_cligz cpu_cligz < <(tm sh -c "sqlite3 '$W/cli.db' <'$W/cligz.sql'")
rm -f "$W"/cli.db*
[ "$cli_rows" = "$ROWS" ] || { echo "qload: sqlite3 loaded $cli_rows rows, not $ROWS" >&2; exit 1; }

echo "DuckDB read_csv ..." >&2
duck() { # NAME GLOB
	cat >"$W/duck.mjs" <<JS
import { DuckDBInstance } from "$here/peers/node_modules/@duckdb/node-api/lib/index.js";
const db = await DuckDBInstance.create("$W/$1.duckdb", { threads: "2" });
const c = await db.connect();
await c.run(\`CREATE TABLE logs AS SELECT * FROM read_csv('$2', header = false, columns = {
  'Timestamp': 'TIMESTAMP', 'Level': 'VARCHAR', 'Host': 'VARCHAR', 'Service': 'VARCHAR',
  'Latency': 'DOUBLE', 'Message': 'VARCHAR', 'Code': 'BIGINT', 'Props': 'VARCHAR'})\`);
const r = await c.runAndReadAll("SELECT count(*) FROM logs");
console.log(String(r.getRows()[0][0]));
c.closeSync();
JS
	tm node "$W/duck.mjs"
}
read -r t_duck rss_duck cpu_duck < <(duck duck "$W/csv/*.csv")
duck_rows=$(cat "$W/out")
duck_bytes=$(stat -c %s "$W/duck.duckdb")
rm -f "$W"/duck.duckdb*
read -r t_duckgz rss_duckgz cpu_duckgz < <(duck duckgz "$W/gz/*.csv.gz")
rm -f "$W"/duckgz.duckdb*
[ "$duck_rows" = "$ROWS" ] || { echo "qload: DuckDB loaded $duck_rows rows, not $ROWS" >&2; exit 1; }

# ---- the table ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rps() { awk -v r="$ROWS" -v t="$1" 'BEGIN { printf "%.0f", r / t }'; }
mb() { echo $(($1 / 1024)); }
row() { printf '| %-52s | %7s | %6s | %10s | %8s MB | %9s | %9s |\n' "$@"; }
printf '\n%s rows in %s extents of %s rows; CSV %s bytes, gzip %s bytes; %s; %s cores\n' \
	"$ROWS" "$EXTENTS" "$PER" "$csv_bytes" "$gz_bytes" "$BASE (tmpfs)" "$(nproc)"
printf 'leaderctl generate: %s s plain, %s s gzip\n\n' "$gen_plain" "$gen_gz"
row "cached artifacts to queryable" "wall s" "CPU s" "rows/s" "peak RSS" "x sqlite3" "CPU x"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------------------" "---------" "--------" "------------" "-------------" "-----------" "-----------"
# ROW NAME WALL CPU RSS_KB CLI_WALL CLI_CPU
line() { row "$1" "$2" "$3" "$(rps "$2")" "$(mb "$4")" "$(ratio "$5" "$2")" "$(ratio "$6" "$3")"; }
line "followerd (daemon restarted over its cache), CSV" "$fd_load" "$fd_cpu" "$fd_rss" "$t_cli" "$cpu_cli"
line "followerd (daemon restarted over its cache), gzip" "$gz_load" "$gz_cpu" "$gz_rss" "$t_cligz" "$cpu_cligz"
line "bench_qload (the loader alone, one thread), CSV" "$t_ql" "$cpu_ql" "$rss_ql" "$t_cli" "$cpu_cli"
line "bench_qload (the loader alone, one thread), gzip" "$t_qlgz" "$cpu_qlgz" "$rss_qlgz" "$t_cligz" "$cpu_cligz"
line "sqlite3 CLI .import + convert, CSV" "$t_cli" "$cpu_cli" "$rss_cli" "$t_cli" "$cpu_cli"
line "sqlite3 CLI .import + convert, gzip (gzip -dc)" "$t_cligz" "$cpu_cligz" "$rss_cligz" "$t_cligz" "$cpu_cligz"
line "DuckDB read_csv (2 threads), CSV" "$t_duck" "$cpu_duck" "$rss_duck" "$t_cli" "$cpu_cli"
line "DuckDB read_csv (2 threads), gzip" "$t_duckgz" "$cpu_duckgz" "$rss_duckgz" "$t_cligz" "$cpu_cligz"
printf '\n(x sqlite3: the sqlite3 CLI'"'"'s wall time on the same files / this one'"'"'s, gzip against the CLI on gzip;\n'
printf ' CPU s: user + system time, and CPU x the same ratio of CPU times: on a busy machine wall time is noise,\n'
printf ' CPU time much less so; the targets are judged on wall time)\n'
printf 'followerd from the leader to queryable (fetch, verify, load): %s s CSV, %s s gzip\n' "$fd_cold" "$gz_cold"
printf 'store bytes per CSV byte: followerd %s (files %s; from gzip %s), bench_qload %s, sqlite3 CLI %s, DuckDB %s\n' \
	"$(ratio "$fd_store" "$csv_bytes")" "$(ratio "$fd_file" "$csv_bytes")" "$(ratio "$gz_store" "$csv_bytes")" \
	"$(ratio "$store_ql" "$csv_bytes")" \
	"$(ratio "$cli_bytes" "$csv_bytes")" "$(ratio "$duck_bytes" "$csv_bytes")"
printf '1,000-row commit to visible (end of leaderctl ingest to the count that sees it), %s commits:\n' "$c_n"
printf '  median %s s, max %s s (the count query itself: median %s s); poll interval %s\n' \
	"$c_med" "$c_max" "$c_qmed" "$POLL"

pf() { if [ "$1" = 1 ]; then echo PASS; else echo MISS; fi; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { print (a >= b) ? 1 : 0 }'; }
echo
echo "targets (issue 12):"
printf '  %-4s followerd >= 1.5x the sqlite3 CLI'"'"'s rows/s: %sx CSV, %sx gzip\n' \
	"$(pf "$(( $(ge "$(ratio "$t_cli" "$fd_load")" 1.5) & $(ge "$(ratio "$t_cligz" "$gz_load")" 1.5) ))")" \
	"$(ratio "$t_cli" "$fd_load")" "$(ratio "$t_cligz" "$gz_load")"
printf '  %-4s peak RSS <= 150 MB: %s MB CSV, %s MB gzip\n' \
	"$(pf "$(( $(ge 153600 "$fd_rss") & $(ge 153600 "$gz_rss") ))")" "$(mb "$fd_rss")" "$(mb "$gz_rss")"
printf '  %-4s store <= 1x the CSV: %s\n' "$(pf "$(ge "$csv_bytes" "$fd_store")")" "$(ratio "$fd_store" "$csv_bytes")"
printf '  %-4s a 1,000-row commit queryable within the poll interval + 300 ms (%s s): max %s s\n' \
	"$(pf "$(ge "$(awk -v p="$poll_ms" 'BEGIN { print (p + 300) / 1000 }')" "$c_max")")" \
	"$(awk -v p="$poll_ms" 'BEGIN { print (p + 300) / 1000 }')" "$c_max"
echo "  (the 1,000-extent commit onto 1,000,000 extents: make bench BENCH=leader_commit)"
