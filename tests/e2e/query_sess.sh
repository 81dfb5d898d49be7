#!/usr/bin/env bash
# query_sess — the query workers keep their connection, views and table
# walks between queries of one version (daemon/query_sess.h), and a bare
# count is answered from the query store's row counts (daemon/query_count.c):
# after each new version (an ingest, a merge, a drop) the very next queries
# answer the new version's rows, the bare counts equal the scanned ones and
# what this test computes from the CSV it published, and
# query_datascope=hotcache counts only the hot extents, scan or not; an
# extent whose rows do not parse is in neither count.  A session outlives
# the commits that change nothing a query reads (a poll's status row: the
# leader's new version, its log unreachable; the error cleared), and an
# extent applied still drops it (/metrics counts sessions opened).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"
[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Code:long' >/dev/null
lc "$L" create-table Logs Old 'Timestamp:datetime,Code:long' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# extent N ROWS: ROWS rows of Events with Code N; prints its id
extent() {
	awk -v n="$1" -v r="$2" -v ts="$now" 'BEGIN { for (i = 0; i < r; i++) printf "%s,%d\n", ts, n }' >"$T/x$1.csv"
	lc "$L" ingest Logs Events "$T/x$1.csv" --format csv
}
# Old: one hot extent (11 rows), one cold (created in 2020, 13 rows), one
# whose rows do not parse (not queryable: left out)
awk -v ts="$now" 'BEGIN { for (i = 0; i < 11; i++) printf "%s,1\n", ts }' >"$T/hot.csv"
printf '%s,1\n%s,one\n' "$now" "$now" >"$T/bad.csv"
lc "$L" ingest Logs Old "$T/bad.csv" --rows 2 >/dev/null
awk 'BEGIN { for (i = 0; i < 13; i++) printf "2020-01-01T00:00:00Z,2\n" }' >"$T/cold.csv"
lc "$L" ingest Logs Old "$T/hot.csv" --format csv >/dev/null
lc "$L" ingest Logs Old "$T/cold.csv" --format csv --created-on 2020-01-01T00:00:00Z >/dev/null
e1=$(extent 1 5)
e2=$(extent 2 7)

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
FS=http://127.0.0.1:$(cat "$T/fs.port")
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" "cache_demand_keep = 10m"
	attach_conf logs "$FS" Logs
} >"$CONF"
start_follower
wait_port "$PORT" 10 || { diag "followerd did not listen"; tail -20 "$FLOG"; exit 1; }
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs

# kql CSL [OPTIONS_JSON]: the first cell of the v2 answer's first row, or
# "HTTP <status>".
kql() {
	local code
	jq -nc --arg csl "$1" --argjson o "${2:-{\}}" '{db: "Logs", csl: $csl, properties: {Options: $o}}' >"$T/req"
	code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/v2/rest/query" --data-binary @"$T/req")
	[ "$code" = 200 ] || { echo "HTTP $code $(head -c 200 "$T/body")"; return; }
	jq -r '[.[] | select(.TableKind == "PrimaryResult")][0].Rows[0][0]' "$T/body"
}
# counts: the answers of the bare counts (metadata) and of scans that
# count, for Events, each asked 3 times (both workers keep a session)
counts() {
	local q out=""
	for q in 'Events | count' 'Events | summarize count()' 'Events | project Code | count' \
		'Events | summarize sum(1)' 'Events | where Code > 0 | count' \
		'Events | summarize dcount(Code)'; do
		out+="$(kql "$q") $(kql "$q") $(kql "$q") | "
	done
	echo "$out"
}
# expect ROWS CODES: what counts answers
expect() {
	local r=$1 d=$2
	echo "$r $r $r | $r $r $r | $r $r $r | $r $r $r | $r $r $r | $d $d $d | "
}

check_eq "two extents: every count is 12" "$(expect 12 2)" "$(counts)"
e3=$(extent 3 9)
wait_for "a new extent: the store is at the leader's version" 20 at_version logs "$L" Logs
check_eq "... the next queries answer 21 (the new version), bare or scanned" "$(expect 21 3)" "$(counts)"
lc "$L" merge-extents Logs "$e1" "$e2" >/dev/null
wait_for "a merge: the store is at the leader's version" 20 at_version logs "$L" Logs
check_eq "... still 21, never twice" "$(expect 21 3)" "$(counts)"
lc "$L" drop-extents Logs "$e3" >/dev/null
wait_for "a drop: the store is at the leader's version" 20 at_version logs "$L" Logs
check_eq "... 12 again" "$(expect 12 2)" "$(counts)"

hc='{"query_datascope":"hotcache"}'
not_queryable() {
	[ "$(curl -s "$URL/v1/databases/Logs/extents?table=Old" |
		jq '[.extents[] | select(.query.state == "not_queryable")] | length')" = 1 ]
}
wait_for "Old's extent of rows that do not parse is not queryable" 20 not_queryable
check_eq "hotcache: the bare count of Old counts its hot extent only" "11 11" \
	"$(kql 'Old | count' "$hc") $(kql 'Old | count' "$hc")"
check_eq "... as a scan does" "11 11" \
	"$(kql 'Old | summarize sum(1)' "$hc") $(kql 'Old | where Code > 0 | count' "$hc")"
check_eq "the default datascope reads the cold extent through: 24, bare or scanned" "24 24 24" \
	"$(kql 'Old | count') $(kql 'Old | summarize sum(1)') $(kql 'Old | count')"
check_eq "... and hotcache still counts 11" "11 11" \
	"$(kql 'Old | count' "$hc") $(kql 'Old | summarize sum(1)' "$hc")"

# opened: the sessions the workers' queries opened so far (/metrics)
opened() {
	curl -s "$URL/metrics" | awk '/^followerd_query_sessions_total\{result="opened"\}/ { print $2 }'
}
# warm: every worker holds a session: four queries one after the other
# (the workers take turns), then two at a time three times, open none
warm() {
	local o i
	o=$(opened)
	for i in 1 2 3 4; do kql 'Events | count' >/dev/null; done
	for i in 1 2 3; do
		curl -s -o /dev/null -X POST "$URL/v2/rest/query" -d '{"db":"Logs","csl":"Events | count"}' &
		curl -s -o /dev/null -X POST "$URL/v2/rest/query" -d '{"db":"Logs","csl":"Events | count"}'
		wait $!
	done
	[ "$(opened)" = "$o" ]
}
leader_seen() { [ "$(q "SELECT leader_version FROM databases WHERE config = 'logs'")" = "$(leader_version "$L" Logs)" ]; }
unreachable() { [ -n "$(q "SELECT last_error FROM databases WHERE config = 'logs'")" ]; }
reachable() { [ -z "$(q "SELECT last_error FROM databases WHERE config = 'logs'")" ]; }
wait_for "both workers keep a session" 20 warm
o=$(opened)
v=$(applied logs)
curl -s -o /dev/null -d '*/log/* * status 503' "$FS/_fault"
e4=$(extent 4 6)
wait_for "the leader's new version: a poll's status row" 20 leader_seen
wait_for "... its log unreachable: the error row" 20 unreachable
# few: three queries, each asked twice
few() {
	local q out=""
	for q in 'Events | count' 'Events | where Code > 0 | count' 'Events | summarize dcount(Code)'; do
		out+="$(kql "$q") $(kql "$q") | "
	done
	echo "$out"
}
check_eq "... nothing applied: the queries answer 12" "12 12 | 12 12 | 2 2 | " "$(few)"
check_eq "... and opened no session (kept across the status commits)" "$o $v" "$(opened) $(applied logs)"
curl -s -o /dev/null -X POST "$FS/_fault/clear"
wait_for "the log is reachable again: the extent applied" 20 at_version logs "$L" Logs
wait_for "... the error cleared" 20 reachable
check_eq "... the next queries answer 18" "18 18 | 18 18 | 3 3 | " "$(few)"
check "... in sessions opened afresh" [ "$(opened)" -gt "$o" ]
wait_for "both workers keep a session again" 20 warm
check_eq "... a query of the same extents with their ingestion times (the kept views have none)" \
	"18 18 true true" "$(kql 'Events | where Code > 0 | count') $(kql 'Events | where Code > 0 | count') \
$(kql 'Events | extend t = ingestion_time() | take 1 | project t > datetime(2000-01-01)') \
$(kql 'Events | extend t = ingestion_time() | take 1 | project t > datetime(2000-01-01)')"
done_testing
