#!/usr/bin/env bash
# The demo (make demo): leaderctl publishes a small sample leader to
# ./demo/leader — two tables and a materialized view, extents over the last
# two weeks, a 7-day caching policy, principals — and shows its head and log.
# Then followerd follows it once (--once) and the follower's state is shown;
# then it runs as a daemon serving views on 127.0.0.1:8080 and an admin socket
# in ./demo: the demo shows a view with curl, `followerctl status`, `followerctl
# warm` and a Kusto `.show` (when this build has the Kusto surface).  On a
# terminal it then leaves followerd running in the foreground (Ctrl-C stops
# it); without one (CI, a pipe) or with DEMO_DETACH=1 it stops followerd and
# exits 0 once the tour is done.  DEMO_LISTEN moves the views off
# 127.0.0.1:8080.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
LISTEN=${DEMO_LISTEN:-127.0.0.1:8080}
URL=http://$LISTEN
if [ -z "${DEMO_DETACH:-}" ]; then
	if [ -t 0 ] && [ -t 1 ]; then DEMO_DETACH=0; else DEMO_DETACH=1; fi
fi
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
listen = $LISTEN
admin_socket = $PWD/demo/admin.sock
# the demo's views answer without a token, on the loopback only
allow_anonymous = true
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

# ---- the daemon: follows the leader, serves the views ----
echo
echo "== followerd -c demo/followerd.conf -d   (started; its log: demo/followerd.log)"
"$B/followerd" -c demo/followerd.conf -d 2>demo/followerd.log &
fpid=$!
trap 'kill "$fpid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -sf $URL/healthz >/dev/null 2>&1 && break
	kill -0 "$fpid" 2>/dev/null || { echo "demo: followerd exited:" >&2; tail -5 demo/followerd.log >&2; exit 1; }
	sleep 0.1
done
pretty() { if command -v jq >/dev/null; then jq .; else python3 -m json.tool; fi; }
CTL="$B/followerctl -c demo/followerd.conf"
echo
echo "== curl -s $URL/v1/databases"
curl -s $URL/v1/databases | pretty
echo
echo "== $CTL warm Telemetry   (fetch its hot set now)"
$CTL warm Telemetry
echo
echo "== $CTL status"
$CTL status
echo
echo "== curl -s -X POST $URL/v1/rest/mgmt -d '{\"db\":\"Telemetry\",\"csl\":\".show tables\"}'"
show=$(curl -s -X POST -H 'Content-Type: application/json' $URL/v1/rest/mgmt \
	-d '{"db":"Telemetry","csl":".show tables"}')
if printf '%s' "$show" | grep -q 'not available in this build'; then
	echo "(this build has no Kusto management surface yet: $show)"
elif command -v jq >/dev/null; then
	printf '%s\n' "$show" |
		jq -r '.Tables[0] | (.Columns | map(.ColumnName)), (.Rows[] | map(tostring)) | @tsv'
else
	printf '%s\n' "$show" | pretty
fi

cat <<MSG

The leader is in $D: head.json, db/<uuid>/log/, db/<uuid>/checkpoint/, artifacts/.
followerd follows it, serving views on $URL (docs/HTTP.md).
Try next, in another terminal:
  $CTL status
  $CTL explain Telemetry Events                  # why each extent is hot or cold
  curl -s $URL/v1/databases/Telemetry/tables | jq .
  curl -s -X POST $URL/v1/rest/mgmt -d '{"db":"Telemetry","csl":".show tables"}'
  $LC -C $D ingest Telemetry Events demo/files/events-\$(date -u +%F).csv   # watch it arrive:
  $CTL history Telemetry --limit 3
  $LC -C $D show Telemetry --json
MSG
if [ "$DEMO_DETACH" = 1 ]; then
	echo
	echo "== demo done (no terminal: followerd stopped; run make demo in a terminal to keep it running)"
	exit 0
fi
echo
echo "== followerd runs in the foreground now (Ctrl-C stops it); its log:"
trap - EXIT
tail -n +1 -f demo/followerd.log --pid="$fpid" &
wait "$fpid"
