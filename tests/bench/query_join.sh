#!/usr/bin/env bash
# query_join — joins with a small dimension table by kind: ROWS generated
# log-like rows in EXTENTS extents (leaderctl generate) and Hosts (100 rows),
# on tmpfs, followed by followerd; each query over POST /v2/rest/query, the
# median of RUNS over one kept-alive connection, run split (the default:
# both cores) and then whole (the same daemon restarted on the same store
# with FOLLOWERD_TEST_PAR_MIN_ROWS above the table's rows: one thread, as
# before a kind could split); and the same SQL written by hand on the
# sqlite3 CLI over an equivalent table (one thread).  innerunique, the
# default kind, keeps one left row per key: the CLI's SQL deduplicates the
# keys only, which is all the answer needs (count by Team).
#   make bench BENCH=query_join            2,000,000 rows, 200 extents
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
	command -v "$t" >/dev/null || { echo "query_join: $t not installed" >&2; exit 1; }
done
bench_workdir query_join || exit 1
FPID=''
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT

bench_leader "$W/leader" "$ROWS" "$EXTENTS" >/dev/null
for ((i = 0; i < 100; i++)); do printf 'host-%02d,team-%d\n' "$i" $((i % 7)); done >"$W/hosts.csv"
"$LEADERCTL" -C "$W/leader" create-table Logs Hosts 'Host:string,Team:string' >/dev/null
"$LEADERCTL" -C "$W/leader" ingest Logs Hosts "$W/hosts.csv" --format csv >/dev/null
PORT=$(bench_port)
URL=http://127.0.0.1:$PORT
mkdir -p "$W/f/state"
bench_follower_conf "$W/f" "$PORT" "$W/leader" 1s >"$W/f/f.conf"
loaded() { [ "$(bench_qrows "$URL" T0000)" -ge "$ROWS" ] && [ "$(bench_qrows "$URL" Hosts)" -ge 100 ]; }
bench_fd_start
bench_until $((120 + ROWS / 10000)) loaded || { echo "query_join: not loaded" >&2; exit 1; }

Q_KQL=(
	'T0000 | join Hosts on Host | summarize count() by Team'
	'T0000 | where Level == "Error" | join Hosts on Host | summarize count() by Team'
	'T0000 | join kind=inner Hosts on Host | summarize count() by Team'
)
Q_SQL=(
	"SELECT h.Team, count(*) FROM (SELECT Host FROM logs GROUP BY Host) l JOIN hosts h ON l.Host = h.Host GROUP BY h.Team"
	"SELECT h.Team, count(*) FROM (SELECT Host FROM logs WHERE Level = 'Error' GROUP BY Host) l JOIN hosts h ON l.Host = h.Host GROUP BY h.Team"
	"SELECT h.Team, count(*) FROM logs l JOIN hosts h ON l.Host = h.Host GROUP BY h.Team"
)
# runs KEY: each query's median ms (the first run untimed, its answer kept)
declare -A MS ANS
runs() {
	local i
	for ((i = 0; i < ${#Q_KQL[@]}; i++)); do
		bench_kql_kept "$URL" "${Q_KQL[i]}" "$RUNS" "$W/req.json" "$W/ans" >"$W/kept"
		MS[$1,$i]=$(tail -n +2 "$W/kept" | awk '{ printf "%.3f\n", $2 * 1000 }' | bench_median1)
		ANS[$1,$i]=$(jq -c '[.[] | select(.TableKind == "PrimaryResult")][0].Rows | sort' "$W/ans")
	done
}
runs split
bench_fd_stop
bench_fd_start $((ROWS * 10))
runs whole
bench_fd_stop

# the CLI's table, from the cached CSV files
: >"$W/csv.list"
while read -r _ sha; do echo "$W/f/cache/objects/${sha:0:2}/$sha" >>"$W/csv.list"; done \
	< <(bench_artifacts "$W/leader" T0000)
{
	echo "CREATE TABLE logs(Timestamp TEXT, Level TEXT, Host TEXT, Service TEXT, Latency REAL, Message TEXT, Code INTEGER, Props TEXT);"
	echo ".mode csv"
	sed 's/^/.import /; s/$/ logs/' "$W/csv.list"
	echo "CREATE TABLE hosts(Host TEXT, Team TEXT);"
	echo ".import $W/hosts.csv hosts"
} | sqlite3 "$W/lite.db"
for ((i = 0; i < ${#Q_SQL[@]}; i++)); do
	{ echo ".timer on"; for ((r = 0; r <= RUNS; r++)); do echo "${Q_SQL[i]};"; done; } |
		sqlite3 "$W/lite.db" >"$W/lite.out"
	MS[lite,$i]=$(awk '/^Run Time: real/ { if (n++) printf "%.3f\n", $4 * 1000 }' "$W/lite.out" | bench_median1)
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "$ROWS rows in $EXTENTS extents joined with Hosts (100 rows); ms, median of $RUNS"
printf '| %-82s | %8s | %8s | %7s | %8s | %8s | %s\n' query split whole "whole/" sqlite3 "sqlite3/" answers
printf '| %-82s | %8s | %8s | %7s | %8s | %8s | %s\n' "" "ms" "ms" split "ms" split ""
for ((i = 0; i < ${#Q_KQL[@]}; i++)); do
	same=$([ "${ANS[split,$i]}" = "${ANS[whole,$i]}" ] && echo "split = whole" || echo "DIFFER")
	printf '| %-82s | %8s | %8s | %7s | %8s | %8s | %s\n' "${Q_KQL[i]}" "${MS[split,$i]}" \
		"${MS[whole,$i]}" "$(ratio "${MS[whole,$i]}" "${MS[split,$i]}")" "${MS[lite,$i]}" \
		"$(ratio "${MS[lite,$i]}" "${MS[split,$i]}")" "$same"
done
echo "split: the daemon's default (both cores); whole: the same daemon with parallel scans off (one thread, as innerunique ran before it split)"
echo "sqlite3: the hand-written SQL (innerunique: the keys deduplicated first), the CLI's .timer"
