#!/usr/bin/env bash
# query_schema — KQL over extents written under older schemas, and over a
# leader whose history goes back: a column added later is null for the
# older extents, a dropped one is gone, a retyped one converts where Kusto
# would (long -> string, string -> long) and is null where it cannot; after
# an older copy of the leader is restored, queries answer exactly its rows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

PORT=$(free_port)
L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 1000 >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Code:long,Lat:real,Tag:string' >/dev/null
lc "$L" set-caching-policy Logs 3650d >/dev/null
printf '2026-12-01T00:00:01Z,a,1,0.5,17\n2026-12-01T00:00:02Z,b,2,1.5,x9\n' >"$T/old.csv"
lc "$L" ingest Logs Events "$T/old.csv" --format csv >/dev/null

{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; attach_conf logs "$L" Logs; } >"$CONF"
start_follower

# kql TEXT: the primary result's rows as compact JSON (v1 endpoint).
kql() {
	curl -s -m 20 -X POST "http://127.0.0.1:$PORT/v1/rest/query" \
		--data-binary "$(jq -nc --arg q "$1" '{db: "Logs", csl: $q}')" | jq -c '.Tables[0].Rows'
}
kql_is() { [ "$(kql "$1")" = "$2" ]; }
# col_type NAME: the primary result's type of column NAME for Events.
col_type() {
	curl -s -m 20 -X POST "http://127.0.0.1:$PORT/v2/rest/query" \
		--data-binary '{"db":"Logs","csl":"Events | take 1"}' |
		jq -r --arg c "$1" '.[] | select(.TableKind == "PrimaryResult") | .Columns[] | select(.ColumnName == $c) | .ColumnType'
}

wait_for "the first extent is queryable" 20 kql_is 'Events | count' '[[2]]'

# ---- add a column, drop one, retype two ----
lc "$L" alter-table Logs Events 'Timestamp:datetime,Host:string,Code:string,Tag:long,Extra:int' >/dev/null
printf '2026-12-01T00:00:03Z,c,code3,30,7\n' >"$T/new.csv"
lc "$L" ingest Logs Events "$T/new.csv" --format csv >/dev/null
wait_for "the extent of the new schema is queryable" 20 kql_is 'Events | count' '[[3]]'
check_eq "a column added later is null for the older extents" '[["a",null],["b",null],["c",7]]' \
	"$(kql 'Events | project Host, Extra | order by Host asc')"
check_eq "a dropped column is gone" "" "$(col_type Lat)"
check_match "a query naming the dropped column is refused naming it" "Lat" \
	"$(curl -s -X POST "http://127.0.0.1:$PORT/v2/rest/query" -d '{"db":"Logs","csl":"Events | project Lat"}')"
check_eq "a retyped column has the current type" "string" "$(col_type Code)"
check_eq "long -> string converts as Kusto's tostring" '[["a","1"],["b","2"],["c","code3"]]' \
	"$(kql 'Events | project Host, Code | order by Host asc')"
check_eq "string -> long converts where it can, null where it cannot" '[["a",17],["b",null],["c",30]]' \
	"$(kql 'Events | project Host, Tag | order by Host asc')"
check_eq "filters see the converted values" '[[2]]' "$(kql 'Events | where isnotnull(Tag) | count')"

# ---- an older copy of the leader is restored ----
cp -a "$L" "$T/backup"
printf '2026-12-01T00:00:04Z,d,code4,40,8\n' >"$T/later.csv"
lc "$L" ingest Logs Events "$T/later.csv" --format csv >/dev/null
wait_for "the later extent is queryable" 20 kql_is 'Events | count' '[[4]]'
rm -rf "$L.gone" && mv "$L" "$L.gone" && cp -a "$T/backup" "$L"
wait_for "after a restore, queries answer the older version's rows exactly" 20 \
	kql_is 'Events | summarize n = count(), hosts = make_set(Host)' '[[3,["a","b","c"]]]'
check_eq "no row of the rewound extent remains" '[[0]]' "$(kql 'Events | where Host == "d" | count')"

stop_follower
done_testing
