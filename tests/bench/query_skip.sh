#!/usr/bin/env bash
# query_skip — the cost of a query that time filters narrow to a few extents
# (issue 13: "the last-hour query <= 50 ms"), and of walking every extent.
# A generated leader of EXTENTS extents of ROWS rows each (each extent's rows
# span one minute, extent i starting i seconds after the first), on tmpfs;
# followerd loads them; then, median of RUNS over HTTP (curl's total time):
#   - the last 2 seconds of the data (the newest extents only: what "the
#     last hour" of 1,000 hourly extents reads), and the last minute (the
#     newest ~60 extents read: extents overlap by a minute here), the rest
#     skipped by their statistics;
#   - a time range no extent holds (every extent walked and skipped: the
#     cost of the walk alone), and a latency no extent holds (the same by
#     a real column's statistics), then a filter on numbers every extent
#     may hold (nothing skipped: the rows filtered);
#   - print 1 (no table: the floor of a query);
#   - a full count (every extent read);
# then the fixed cost of a small query (take 100, print 1), NCONN times: with
# a curl process (and connection) per query, as the table above and
# query.sh measure, and with one curl process keeping its connection alive
# (--next), as an SDK's client does; the median and the daemon's CPU per
# query.
# EXTENTS=1000 ROWS=10000 is the issue's 10,000,000 rows.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
B=${BUILD:?}
EXTENTS=${EXTENTS:-1000}
ROWS=${ROWS:-10000}
RUNS=${RUNS:-5}
NCONN=${NCONN:-200}
dir=$(mktemp -d /dev/shm/followerd-bench-skip.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

mkdir -p "$dir/L"
"$B/leaderctl" -C "$dir/L" init >/dev/null
"$B/leaderctl" -C "$dir/L" generate Rows --tables 1 --extents "$EXTENTS" --rows "$ROWS" >/dev/null
port=$(bench_port)
cat >"$dir/f.conf" <<EOF
[daemon]
state_dir = $dir/state
cache_dir = $dir/cache
listen = 127.0.0.1:$port
admin_socket = $dir/admin.sock
allow_anonymous = true
poll_interval = 1s

[attach "rows"]
leader = $dir/L
database = Rows
EOF
mkdir -p "$dir/state" "$dir/cache"
"$B/followerd" -c "$dir/f.conf" 2>"${FLOG:-$dir/f.log}" &
pid=$!
url=http://127.0.0.1:$port
metric() { curl -s "$url/metrics" | awk -v k="$1" '$1 ~ "^"k { s += $2 } END { print s + 0 }'; }
t0=$(date +%s)
until [ "$(metric 'followerd_query_rows{')" = $((EXTENTS * ROWS)) ]; do
	sleep 1
	[ $(($(date +%s) - t0)) -lt 900 ] || { echo "not loaded after 900 s" >&2; exit 1; }
done
echo "loaded $((EXTENTS * ROWS)) rows in $EXTENTS extents ($(($(date +%s) - t0)) s)"

body() { jq -nc --arg csl "$1" '{db: "Rows", csl: $csl}'; }
run() { curl -s -o /dev/null -w '%{time_total}\n' -X POST "$url/v1/rest/query" -d "$(body "$1")"; }
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] * 1000 }'; }
max=$(curl -s -X POST "$url/v1/rest/query" -d "$(body 'T0000 | summarize max(Timestamp)')" |
	jq -r '.Tables[0].Rows[0][0]')
since=$(date -u -d "$max - 1 minute" +%Y-%m-%dT%H:%M:%S.%7NZ)
newest=$(date -u -d "$max - 2 seconds" +%Y-%m-%dT%H:%M:%S.%7NZ)
printf '%-58s %10s %8s %14s\n' query "median ms" skipped rows
for q in "T0000 | where Timestamp > datetime($newest) | count" \
	"T0000 | where Timestamp > datetime($since) | count" \
	"T0000 | where Timestamp > datetime(2100-01-01) | count" \
	"T0000 | where Latency > 5.0 | count" \
	"T0000 | where Code == 201 and Latency between (0.01 .. 0.02) | count" \
	"print 1" \
	"T0000 | count"; do
	s0=$(metric followerd_query_extents_skipped_total)
	ms=$(for i in $(seq "$RUNS"); do run "$q"; done | median)
	s1=$(metric followerd_query_extents_skipped_total)
	n=$(curl -s -X POST "$url/v1/rest/query" -d "$(body "$q")" | jq -r '.Tables[0].Rows[0][0]')
	printf '%-58s %10s %8s %14s\n' "${q:0:58}" "$ms" $(((s1 - s0) / RUNS)) "$n"
done

# cpu_us: the daemon's user + system time so far, microseconds.
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000000 / hz) }' "/proc/$pid/stat"; }
# kept Q: NCONN queries on one connection, their times one a line.
kept() {
	local a=() i b
	b=$(body "$1")
	for ((i = 0; i < NCONN; i++)); do
		[ "$i" -gt 0 ] && a+=(--next)
		a+=(-s -o /dev/null -w '%{time_total}\n' -X POST "$url/v1/rest/query" -d "$b")
	done
	curl "${a[@]}"
}
echo
printf '%-58s %10s %14s\n' "small query, $NCONN times" "median ms" "daemon cpu us"
for q in "T0000 | take 100" "print 1"; do
	for how in new kept; do
		c0=$(cpu_us)
		if [ $how = new ]; then
			ms=$(for ((i = 0; i < NCONN; i++)); do run "$q"; done | median)
		else
			ms=$(kept "$q" | median)
		fi
		c1=$(cpu_us)
		printf '%-58s %10s %14s\n' "$q, $([ $how = new ] && echo "a curl per query" || echo "one curl, kept alive")" "$ms" $(((c1 - c0) / NCONN))
	done
done
