#!/usr/bin/env bash
# sync_basic — followerd follows a directory leader through its log while it
# changes: create, ingest, drop, merge, schema changes (columns added,
# dropped, retyped, reordered: recorded in the history), external tables,
# views, policies, principals; the store holds exactly the leader's state at
# every step, with lag 0; SIGTERM stops it cleanly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 1000 >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'ts:datetime,msg:string' >/dev/null

{ daemon_conf; attach_conf logs "$L" Logs; } >"$CONF"
start_follower

wait_for "the first versions are applied" 10 same_as_leader logs "$L" Logs
check_eq "the database is named as configured" "Logs" "$(q "SELECT local_name FROM databases WHERE config='logs'")"

# ---- extents ----
e1=$(ingest "$L" Logs Events a)
e2=$(ingest "$L" Logs Events b)
e3=$(ingest "$L" Logs Events c)
wait_for "ingested extents arrive" 10 same_as_leader logs "$L" Logs
check_eq "three extents stored" 3 "$(q "SELECT extents FROM databases WHERE config='logs'")"

lc "$L" drop-extents Logs "$e1" >/dev/null
wait_for "a dropped extent leaves" 10 same_as_leader logs "$L" Logs

lc "$L" merge-extents Logs "$e2" "$e3" >/dev/null
wait_for "a merge replaces two extents by one" 10 same_as_leader logs "$L" Logs
v=$(leader_version "$L" Logs)
check_match "the merge is one history row: +1 -2" "^$v commit \+1 -2 " "$(history logs | tail -1)"

# ---- schema changes, recorded in the history ----
lc "$L" alter-table Logs Events 'ts:datetime,msg:string,level:int' >/dev/null
wait_for "a column added" 10 same_as_leader logs "$L" Logs
check_match "... recorded as column_added" '"change":"column_added".*"column":"level"' "$(history logs | tail -1)"

lc "$L" alter-table Logs Events 'ts:datetime,level:int' >/dev/null
wait_for "a column dropped" 10 same_as_leader logs "$L" Logs
check_match "... recorded as column_dropped" '"change":"column_dropped".*"column":"msg"' "$(history logs | tail -1)"

lc "$L" alter-table Logs Events 'ts:datetime,level:long' >/dev/null
wait_for "a column retyped" 10 same_as_leader logs "$L" Logs
check_match "... recorded as column_retyped int -> long" \
	'"change":"column_retyped".*"column":"level".*"old_type":"int".*"new_type":"long"' "$(history logs | tail -1)"

lc "$L" alter-table Logs Events 'level:long,ts:datetime' >/dev/null
wait_for "columns reordered" 10 same_as_leader logs "$L" Logs
check_match "... recorded as columns_reordered" '"change":"columns_reordered"' "$(history logs | tail -1)"
check_eq "the stored column order is the leader's" "level,ts" \
	"$(q "SELECT group_concat(c.name) FROM (SELECT c.name FROM columns c JOIN entities e ON e.id = c.entity WHERE e.name='Events' ORDER BY c.ord) c")"

# ---- other entities, policies, principals ----
lc "$L" create-external-table Logs Ext 'a:string' --location 'https://example.com/x' >/dev/null
lc "$L" create-materialized-view Logs View 'level:long' --source Events --query 'Events | summarize count() by level' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null
lc "$L" set-caching-policy Logs --table Events 1d >/dev/null
lc "$L" set-retention-policy Logs --table Events 30d >/dev/null
lc "$L" add-principal Logs viewers 'aaduser=alice@example.com' --name Alice >/dev/null
ingest "$L" Logs Events d >/dev/null
wait_for "external tables, views, policies and principals arrive" 10 same_as_leader logs "$L" Logs

lc "$L" drop-materialized-view Logs View >/dev/null
lc "$L" set-caching-policy Logs none >/dev/null
lc "$L" remove-principal Logs viewers 'aaduser=alice@example.com' >/dev/null
wait_for "and leave again" 10 same_as_leader logs "$L" Logs

check_eq "lag is 0 versions" 0 "$("$TOOLS/storedump" "$STORE" lag logs | cut -d' ' -f1)"
check_eq "no error is kept" "" "$(q "SELECT last_error FROM databases WHERE config='logs'")"
check_eq "the state word is idle" idle "$(q "SELECT state FROM databases WHERE config='logs'")"
check_match "applied versions are logged" 'logs: applied version' "$(cat "$FLOG")"

# ---- an idle follower of a directory leader does not rewrite the store ----
before=$(stat -c %Y.%s "$STATE/state.db-wal" 2>/dev/null)
sleep 1
check_eq "no store write while nothing changes" "$before" "$(stat -c %Y.%s "$STATE/state.db-wal" 2>/dev/null)"

stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
check_eq "no warning or error was logged" "" "$(grep -E '^<[0-4]>' "$FLOG")"
done_testing
