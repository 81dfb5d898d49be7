#!/usr/bin/env bash
# The demo (make demo): leaderctl publishes a small sample leader to
# ./demo/leader — two tables and a materialized view, extents over the last
# two weeks, a 7-day caching policy, principals — and shows its head and log.
# Then followerd follows it once (--once) and the follower's state is shown.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
LC="$B/leaderctl"
D=demo/leader
[ -x "$LC" ] || { echo "demo: $LC is not built (run make)" >&2; exit 1; }

rm -rf demo
mkdir -p "$D" demo/files
lc() { "$LC" -C "$D" "$@"; }

lc init --checkpoint-interval 10
lc create-database Telemetry
lc create-table Telemetry Events 'Timestamp:datetime,Host:string,Level:int,Message:string,Props:dynamic' \
	--folder app --docstring 'Application events'
lc create-table Telemetry Metrics 'Timestamp:datetime,Host:string,Name:string,Value:real'
lc create-materialized-view Telemetry DailyErrors 'Day:datetime,Host:string,Errors:long' \
	--source Events --query 'Events | where Level >= 3 | summarize Errors=count() by Day=bin(Timestamp, 1d), Host'
lc set-caching-policy Telemetry 7d
lc set-caching-policy Telemetry --table Metrics 3d
lc add-principal Telemetry admins 'aaduser=ops@contoso.com' --name 'Ops team'
lc add-principal Telemetry viewers 'aadgroup=analysts@contoso.com' --name 'Analysts'

now=$(date -u +%s)
for day in $(seq 13 -1 0); do
	t=$((now - day * 86400))
	d=$(date -u -d "@$t" +%Y-%m-%d)
	f=demo/files/events-$d.csv
	for i in 1 2 3; do echo "$d,host$i,$((i % 4)),event $i of $d"; done >"$f"
	lc ingest Telemetry Events "$f" --min "${d}T00:00:00Z" --max "${d}T23:59:59Z" --rows 3 >/dev/null
	g=demo/files/metrics-$d.csv
	echo "$d,host1,cpu,0.$day" >"$g"
	lc ingest Telemetry Metrics "$g" --created-on "${d}T12:00:00Z" --rows 1 >/dev/null
done

echo
echo "== leaderctl -C $D show"
lc show
echo
echo "== leaderctl -C $D show Telemetry"
lc show Telemetry
echo
echo "== leaderctl -C $D log Telemetry (last lines)"
lc log Telemetry | tail -8
echo
echo "== leaderctl -C $D verify"
lc verify && echo "verify: every artifact re-hashed, every checkpoint checked: ok"
# The follower side: followerd follows every database of the demo leader.
F=demo/follower
mkdir -p "$F/state" "$F/cache"
cat >demo/followerd.conf <<CONF
# The demo follower: see followerd.conf(5) and conf/followerd.conf.
[daemon]
state_dir = $PWD/$F/state
cache_dir = $PWD/$F/cache
listen = 127.0.0.1:8080
follower_name = demo-follower
poll_interval = 2s

[attach "demo"]
leader = file://$PWD/$D
database = *
CONF
echo
echo "== followerd -c demo/followerd.conf --once   (sync every configuration once)"
"$B/followerd" -c demo/followerd.conf --once 2>&1 | sed 's/^<[0-9]>//'
echo
echo "== the follower's state store ($F/state/state.db, read-only)"
sqlite3 -header -column "file:$F/state/state.db?mode=ro" \
	"SELECT local_name AS database, applied_version AS applied, leader_version AS leader,
	        state, extents, rows FROM databases"

cat <<MSG

The leader is in $D: head.json, db/<uuid>/log/, db/<uuid>/checkpoint/, artifacts/.
Try next:
  $LC -C $D show Telemetry --json
  $LC -C $D log Telemetry --json | head
  $LC -C $D vacuum --dry-run
  cat $D/head.json
  $B/followerd -c demo/followerd.conf -d        # follow continuously (Ctrl-C stops)
  $LC -C $D ingest Telemetry Events demo/files/events-\$(date -u +%F).csv   # in another terminal: watch it arrive
MSG
