#!/usr/bin/env bash
# query_union — plans over a union of two tables: ROWS generated log-like
# rows in EXTENTS extents spread over T0000 and T0001 (leaderctl generate
# --tables 2), on tmpfs, followed by followerd; each query over POST
# /v2/rest/query, the median of RUNS over one kept-alive connection, run
# split (the default: both cores, every table of the union partitioned)
# and then whole (the same daemon restarted on the same store with
# FOLLOWERD_TEST_PAR_MIN_ROWS above the tables' rows: one thread, as a
# union ran before it split); followerd's CPU seconds per query (utime +
# stime of the process, every thread, over the RUNS + 1 queries); and the
# same SQL written by hand on the sqlite3 CLI over an equivalent table per
# side (one thread).
#   make bench BENCH=query_union           2,000,000 rows, 200 extents
#   knobs: ROWS EXTENTS RUNS BENCH_DIR (/dev/shm)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
B=${BUILD:?}
LEADERCTL=$B/leaderctl
ROWS=${ROWS:-2000000}
EXTENTS=${EXTENTS:-200}
RUNS=${RUNS:-5}
BASE=${BENCH_DIR:-/dev/shm}
for t in sqlite3 jq curl; do
	command -v "$t" >/dev/null || { echo "query_union: $t not installed" >&2; exit 1; }
done
bench_workdir query_union || exit 1
FPID=''
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

bench_leader "$W/leader" "$ROWS" "$EXTENTS" --tables 2 >/dev/null
PORT=$(bench_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$W/f/state"
bench_follower_conf "$W/f" "$PORT" "$W/leader" 1s >"$W/f/f.conf"
loaded() {
	[ $(($(bench_qrows "$URL" T0000) + $(bench_qrows "$URL" T0001))) -ge "$ROWS" ]
}
bench_fd_start
bench_until $((120 + ROWS / 10000)) loaded || { echo "query_union: not loaded" >&2; exit 1; }

Q_KQL=(
	'union T0000, T0001 | summarize count() by Level'
	'union withsource=Src T0000, T0001 | where Code > 500 | summarize count() by Src'
	'union T0000, T0001 | summarize avg(Latency) by bin(Timestamp, 1h)'
)
# the union's inputs read for the columns each query needs
u() { echo "(SELECT $1 FROM t0 UNION ALL SELECT $1 FROM t1)"; }
Q_SQL=(
	"SELECT Level, count(*) FROM $(u Level) GROUP BY Level"
	"SELECT Src, count(*) FROM (SELECT 'T0000' AS Src, Code FROM t0 UNION ALL SELECT 'T0001', Code FROM t1) WHERE Code > 500 GROUP BY Src"
	"SELECT Timestamp / 36000000000 AS h, avg(Latency) FROM $(u 'Timestamp, Latency') GROUP BY h"
)
# cpu: followerd's CPU ticks so far (utime + stime, every thread)
cpu() { awk '{ print $14 + $15 }' "/proc/$FPID/stat"; }
# runs KEY: each query's median ms (the first run untimed, its answer
# kept) and CPU seconds per query
declare -A MS ANS CPU
runs() {
	local i c0
	for ((i = 0; i < ${#Q_KQL[@]}; i++)); do
		c0=$(cpu)
		bench_kql_kept "$URL" "${Q_KQL[i]}" "$RUNS" "$W/req.json" "$W/ans" >"$W/kept"
		CPU[$1,$i]=$(awk -v a="$c0" -v b="$(cpu)" -v t="$(getconf CLK_TCK)" -v n=$((RUNS + 1)) \
			'BEGIN { printf "%.2f", (b - a) / t / n }')
		MS[$1,$i]=$(tail -n +2 "$W/kept" | awk '{ printf "%.3f\n", $2 * 1000 }' | bench_median1)
		# reals to 9 decimals: a split adds them in another order
		ANS[$1,$i]=$(jq -c '[.[] | select(.TableKind == "PrimaryResult")][0].Rows |
			map(map(if type == "number" then (. * 1e9 | round) else . end)) | sort' "$W/ans")
	done
}
runs split
bench_fd_stop
bench_fd_start $((ROWS * 10))
runs whole
bench_fd_stop

# the CLI's typed tables (as query.sh loads its one), from the cached CSV
# files: datetimes as ticks, as the query store keeps them
{
	echo ".mode csv"
	for t in 0 1; do
		echo "CREATE TABLE raw(Timestamp TEXT, Level TEXT, Host TEXT, Service TEXT, Latency TEXT, Message TEXT, Code TEXT, Props TEXT);"
		bench_artifacts "$W/leader" T000$t | while read -r _ sha; do
			echo ".import $W/f/cache/objects/${sha:0:2}/$sha raw"
		done
		echo "CREATE TABLE t$t(Timestamp INTEGER, Level TEXT, Host TEXT, Service TEXT, Latency REAL, Message TEXT, Code INTEGER, Props TEXT);"
		echo "INSERT INTO t$t SELECT unixepoch(substr(Timestamp, 1, 19)) * 10000000 + CAST(substr(Timestamp, 21, 7) AS INTEGER),"
		echo "  Level, Host, Service, CAST(NULLIF(Latency, '') AS REAL), Message, CAST(Code AS INTEGER), json(Props) FROM raw;"
		echo "DROP TABLE raw;"
	done
	echo "VACUUM;"
} | sqlite3 "$W/lite.db"
for ((i = 0; i < ${#Q_SQL[@]}; i++)); do
	{ echo ".timer on"; for ((r = 0; r <= RUNS; r++)); do echo "${Q_SQL[i]};"; done; } |
		sqlite3 "$W/lite.db" >"$W/lite.out"
	MS[lite,$i]=$(awk '/^Run Time: real/ { if (n++) printf "%.3f\n", $4 * 1000 }' "$W/lite.out" | bench_median1)
	CPU[lite,$i]=$(awk '/^Run Time: real/ { if (n++) { s += $6 + $8; k++ } } END { printf "%.2f", s / k }' "$W/lite.out")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "$ROWS rows in $EXTENTS extents over T0000 and T0001; ms, median of $RUNS; cpu: seconds per query"
printf '| %-80s | %8s | %6s | %8s | %6s | %7s | %8s | %6s | %8s | %s\n' query split cpu whole cpu "whole/" sqlite3 cpu "sqlite3/" answers
printf '| %-80s | %8s | %6s | %8s | %6s | %7s | %8s | %6s | %8s | %s\n' "" "ms" "s" "ms" "s" split "ms" "s" split ""
for ((i = 0; i < ${#Q_KQL[@]}; i++)); do
	same=$([ "${ANS[split,$i]}" = "${ANS[whole,$i]}" ] && echo "split = whole" || echo "DIFFER")
	printf '| %-80s | %8s | %6s | %8s | %6s | %7s | %8s | %6s | %8s | %s\n' "${Q_KQL[i]}" \
		"${MS[split,$i]}" "${CPU[split,$i]}" "${MS[whole,$i]}" "${CPU[whole,$i]}" \
		"$(ratio "${MS[whole,$i]}" "${MS[split,$i]}")" "${MS[lite,$i]}" "${CPU[lite,$i]}" \
		"$(ratio "${MS[lite,$i]}" "${MS[split,$i]}")" "$same"
done
echo "split: the daemon's default (both cores); whole: the same daemon with parallel scans off (one thread, as a union ran before it split)"
echo "sqlite3: the hand-written SQL on the CLI (one thread), its .timer (cpu: user + sys)"
echo "answers: split and whole compared, reals to 9 decimals (their sums' order differs)"
