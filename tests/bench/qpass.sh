#!/usr/bin/env bash
# The query stores' pass (lib/cache/qsync) on a database of E typed extents
# (leaderctl generate, R rows each) on tmpfs: once every extent is loaded,
# the last pass's time (followerd_query_pass_seconds) after idle kicks, and
# how long a new 1,000-row extent takes from leaderctl's commit to loaded in
# the query store (poll_interval 200 ms).
#   make bench BENCH=qpass     QPASS_EXTENTS=1000 QPASS_ROWS=1000
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
E=${QPASS_EXTENTS:-1000}
R=${QPASS_ROWS:-1000}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/qpass.XXXXXX")
FPID=
trap '[ -z "$FPID" ] || kill $FPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
source "$here/lib.sh"

mkdir -p "$W/leader"
lc() { "$BUILD/leaderctl" -C "$W/leader" "$@"; }
lc init >/dev/null
lc generate Big --tables 1 --extents "$E" --rows "$R" >/dev/null
port=$(bench_port)
cat >"$W/f.conf" <<CONF
[daemon]
state_dir = $W/state
cache_dir = $W/cache
poll_interval = 200ms
listen = 127.0.0.1:$port
admin_socket = $W/admin.sock
allow_anonymous = true
follower_name = bench

[attach "big"]
leader = $W/leader
database = Big
CONF
"$BUILD/followerd" -c "$W/f.conf" 2>"$W/f.log" &
FPID=$!
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
qdb() { ls "$W/cache/query/"*.db 2>/dev/null | head -1; }
loaded() { sqlite3 -readonly "$(qdb)" "SELECT count(*) FROM qextents" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
t0=$(now)
until [ "$(loaded)" = "$E" ]; do sleep 0.2; done
echo "$E extents x $R rows loaded in $(echo "$(now) - $t0" | bc) s" >&2
passes=()
for i in 1 2 3 4 5; do
	# a kick: the warmer rescans (followerctl warm's POST), qsync passes after it
	curl -s --unix-socket "$W/admin.sock" -d '{"database":"Big"}' http://x/v1/admin/warm >/dev/null
	sleep 1.5
	passes+=("$(metric followerd_query_pass_seconds)")
done
echo "idle pass over $E loaded extents (s): ${passes[*]}"
table=$(sqlite3 -readonly "$(qdb)" "SELECT name FROM qtables LIMIT 1")
src=$(find "$W/leader" -path '*artifacts*' -type f | head -1)
for k in 1 2 3; do
	f=$W/new$k.csv
	for ((i = 0; i < 1000; i += R)); do head -n 1000 "$src"; done | head -n 1000 >"$f"
	want=$(($(loaded) + 1))
	t0=$(now)
	lc ingest Big "$table" "$f" --format csv >/dev/null
	t1=$(now)
	until [ "$(loaded)" = "$want" ]; do sleep 0.01; done
	echo "1,000-row commit #$k: loaded $(echo "$(now) - $t1" | bc) s after leaderctl returned (ingest $(echo "$t1 - $t0" | bc) s); last pass $(metric followerd_query_pass_seconds) s"
done
