#!/usr/bin/env bash
# query_store — the rows of typed extents become the follower's query store
# (lib/store/qstore, lib/cache/qsync): leaderctl ingests CSV (plain, gzip,
# zstd) and JSON lines; followerd loads each hot extent's rows, typed, in one
# transaction each; an opaque extent (a leader from before formats) is not
# loaded; an extent whose rows do not parse (a leader that published bad
# data) is not queryable, with an error naming the table, extent, artifact,
# line and column, and the rest stays queryable; a dropped extent's rows go,
# a merge swaps; kill -9 in the middle of loads leaves no partial extent and
# no duplicate; a detached database's query store is removed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v gzip >/dev/null || skip_all "gzip not installed"
command -v zstd >/dev/null || skip_all "zstd not installed (make test-deps)"

L=$T/leader
QDIR=$T/cache/query
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Latency:real,Code:long' >/dev/null

# qq SQL: one read-only query of the database's query store.
qq() { sqlite3 -readonly "$QDIR/$DBID.db" "$1" 2>/dev/null; }
# rows_are N: the store holds N rows of Events, every loaded extent whole.
rows_are() {
	[ "$(qq "SELECT count(*) FROM d1")" = "$1" ] && extents_whole
}
# Every loaded extent has exactly its recorded rows in its rowid range.
extents_whole() {
	[ "$(qq "SELECT count(*) FROM qextents e WHERE rows != (SELECT count(*) FROM d1
		WHERE rowid >= e.eid << 32 AND rowid < (e.eid + 1) << 32)")" = 0 ]
}
loaded() { [ "$(qq "SELECT count(*) FROM qextents WHERE extent = '$1'")" = 1 ]; }
not_loaded() { [ "$(qq "SELECT count(*) FROM qextents WHERE extent = '$1'")" = 0 ]; }

printf '2026-12-01T10:00:00Z,web1,1.5,200\n2026-12-01T11:00:00.1234567+01:00,"web,2",2.5,500\n' >"$T/a.csv"
printf 'Timestamp,Host,Latency,Code\n2026-12-02T10:00:00Z,gz1,,404\n' | gzip >"$T/b.csv.gz"
printf '2026-12-03T10:00:00Z\tzs1\t3.5\t201\n' | zstd -q >"$T/c.tsv.zst"
printf '{"Host":"js1","Code":7,"Timestamp":"2026-12-04T00:00:00Z"}\n{"Latency":9.5}\n' >"$T/d.json"
A=$(lc "$L" ingest Logs Events "$T/a.csv" --format csv)
B=$(lc "$L" ingest Logs Events "$T/b.csv.gz" --format csv --ignore-first-record)
C=$(lc "$L" ingest Logs Events "$T/c.tsv.zst" --format tsv)
D=$(lc "$L" ingest Logs Events "$T/d.json" --format json)
printf 'opaque bytes\n' >"$T/o.bin"
O=$(lc "$L" ingest Logs Events "$T/o.bin" --rows 1)
# A leader that publishes rows that do not parse: an opaque artifact whose
# log object is then made to declare it CSV (leaderctl itself refuses it).
printf '2026-12-05T10:00:00Z,bad1,1.0,1\n2026-12-05T10:00:00Z,bad2,fast,2\n' >"$T/bad.csv"
X=$(lc "$L" ingest Logs Events "$T/bad.csv" --rows 2)
uuid=$(jq -r '.databases[0].uuid' "$L/head.json")
last=$(ls "$L/db/$uuid/log" | tail -1)
sed -i 's/"sha256":"\([0-9a-f]*\)"}\]/"sha256":"\1","format":"csv"}]/' "$L/db/$uuid/log/$last"
check_match "the bad leader's log declares csv" '"format":"csv"' "$(cat "$L/db/$uuid/log/$last")"

PORT=$(free_port)
{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; attach_conf logs "$L" Logs; } >"$CONF"
start_follower
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
DBID=$(q "SELECT id FROM databases WHERE config = 'logs'")
wait_for "every typed extent is loaded: 6 rows (plain, gzip with a header, zstd TSV, JSON)" 20 rows_are 6
check "the opaque extent is not loaded" not_loaded "$O"
check_eq "typed values: datetime ticks with an offset, a null real, JSON by name (a missing string is empty)" \
	"||9.5|;17962056000000000|gz1||404;17963424000000000|js1||7;17961192001234567|web,2|2.5|500;17961192000000000|web1|1.5|200;17962920000000000|zs1|3.5|201" \
	"$(qq "SELECT c0, c1, c2, c3 FROM d1 ORDER BY c1, c0" | paste -sd';')"
wait_for "the bad extent is not queryable" 20 test -n "$(qq "SELECT error FROM qerrors WHERE extent = '$X'")"
err=$(qq "SELECT error FROM qerrors WHERE extent = '$X'")
check_match "its error names the database, table and extent" "database 'Logs', table 'Events', extent $X" "$err"
check_match "...the artifact, the line, the column, its type and the value" \
	"artifact [0-9a-f]{64} \(bad.csv\):2: column 'Latency' \(real\): 'fast'" "$err"
check "...and none of its rows is loaded" not_loaded "$X"

# the extents view gives each extent's query state
view=$(curl -s "http://127.0.0.1:$PORT/v1/databases/Logs/extents?table=Events&limit=100")
state() { printf '%s' "$view" | jq -r --arg id "$1" '.extents[] | select(.id == $id) | .query | "\(.state) \(.rows // "-") \(.error // "-")"'; }
check_eq "the view: a loaded extent and its rows" "loaded 2 -" "$(state "$A")"
check_eq "the view: an opaque extent is not queryable, and why" \
	"not_queryable - its artifacts declare no data format" "$(state "$O")"
check_match "the view: the bad extent is not queryable, and why" "^not_queryable - database 'Logs'.*'fast'" \
	"$(state "$X")"

metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
check_match "/metrics: rows loaded per database and table" \
	'followerd_query_rows\{database="Logs",table="Events"\} 6' "$metrics"
check_match "/metrics: the extent that did not load" 'followerd_query_not_queryable_extents 1' "$metrics"
check_match "/metrics: loads by result" 'followerd_query_loads_total\{result="error"\} 1' "$metrics"

# ---- drop, merge ----
lc "$L" drop-extents Logs "$A" >/dev/null
wait_for "a dropped extent's rows go" 20 rows_are 4
M=$(lc "$L" merge-extents Logs "$B" "$C" | tail -1)
wait_for "a merge swaps: the merged extent is loaded" 20 loaded "$M"
check "...its sources are gone" not_loaded "$B"
check "...and no row is there twice" rows_are 4

# ---- kill -9 during loads ----
awk 'BEGIN { for (i = 0; i < 200000; i++) printf "2026-12-06T00:00:%02d.%07dZ,h%d,%d.5,%d\n", i % 60, i, i % 100, i % 1000, i }' >"$T/big.csv"
for i in 1 2 3; do lc "$L" ingest Logs Events "$T/big.csv" --format csv >/dev/null; done
for i in 1 2 3; do
	sleep 0.$((RANDOM % 5))
	kill -9 "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	check "after kill -9 ($i) every loaded extent is whole" extents_whole
	start_follower
done
wait_for "after restarts every row is loaded once: 4 + 600,000" 60 rows_are 600004
check_eq "no extent is loaded twice" 0 "$(qq "SELECT count(*) - count(DISTINCT extent) FROM qextents")"

# ---- detach ----
# queries first: a worker's session and the parallel scan's pooled
# connections open the store, and must let the removed file go
kql() {
	curl -s -m 20 -X POST "http://127.0.0.1:$PORT/v2/rest/query" \
		-d "$(jq -cn --arg q "$1" '{db: "Logs", csl: $q}')"
}
for q in 'Events | take 1' 'Events | summarize count() by Host' 'Events | summarize count() by Code'; do
	kql "$q" >/dev/null
done
# store_open N: how many of followerd's descriptors are the store's files
store_open() { ls -l "/proc/$FPID/fd" 2>/dev/null | grep -c -- "$QDIR/$DBID.db"; }
store_closed() { [ "$(store_open)" = 0 ]; }
check "queries hold the store open" test "$(store_open)" -gt 0
{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; } >"$CONF"
reload
wait_for "a detached database's query store is removed" 20 test ! -e "$QDIR/$DBID.db"
wait_for "no connection keeps the removed store open (its space freed)" 20 store_closed
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
