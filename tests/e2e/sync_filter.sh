#!/usr/bin/env bash
# sync_filter — include/exclude lists for tables, external tables and views:
# excluded objects never enter the store (by the log and by a checkpoint);
# including a view includes its source table, even an excluded one, with its
# past extents; dropping the view takes the table out again; changed lists
# take effect at the next sync after SIGHUP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 1000 >/dev/null
lc "$L" create-database Db >/dev/null
for t in T1 T2 Secret Hidden; do
	lc "$L" create-table Db "$t" 'a:string' >/dev/null
	ingest "$L" Db "$t" "$t-1" >/dev/null
done
lc "$L" create-external-table Db E1 'a:string' --location 'https://example.com/1' >/dev/null
lc "$L" create-external-table Db E2 'a:string' --location 'https://example.com/2' >/dev/null
lc "$L" create-materialized-view Db V1 'a:string' --source Secret --query 'Secret' >/dev/null
lc "$L" create-materialized-view Db V2 'a:string' --source T1 --query 'T1' >/dev/null
lc "$L" set-caching-policy Db --table T2 1d >/dev/null

# The leader's state without the named objects (and their extents and policies).
leader_without() {
	lc "$L" dump Db | jq -c --argjson x "$1" '
		def out($n): $n != null and any($x[]; . == $n);
		if .op == "add_extents" then .extents[] as $e | .extents = [$e] else . end
		| select(((.op | test("^create_")) and out(.name)) | not)
		| select((.op == "add_extents" and out(.extents[0].table)) | not)
		| select(out(.table) | not)'
}
# like CONFIG EXCLUDED_JSON: the store holds the leader's state minus EXCLUDED.
like() {
	at_version "$1" "$L" Db || return 1
	diff <("$TOOLS/storedump" "$STORE" dump "$1" | norm) <(leader_without "$2" | norm) >"$T/diff.out"
}
names() { q "SELECT group_concat(name, ' ') FROM (SELECT e.name FROM entities e JOIN databases d ON d.id = e.db WHERE d.config = '$1' ORDER BY e.name)"; }

lists=('exclude_tables = T2, Hidden' 'include_external_tables = E1' 'exclude_materialized_views = V2')
{ daemon_conf; attach_conf f "$L" Db "${lists[@]}"; } >"$CONF"
start_follower

wait_for "through the log: excluded objects never enter the store" 10 like f '["T2","Hidden","E2","V2"]'
check_eq "a view brings its excluded source table in" "E1 Secret T1 V1" "$(names f)"
check_eq "no extent of an excluded table" 0 "$(q "SELECT count(*) FROM extents x JOIN entities e ON e.id = x.entity WHERE e.name IN ('T2', 'Hidden')")"

# ---- the same by a checkpoint, into a second configuration ----
lc "$L" checkpoint Db >/dev/null
ingest "$L" Db T1 T1-2 >/dev/null
wait_for "f follows the new checkpoint's head" 10 like f '["T2","Hidden","E2","V2"]'
{ daemon_conf; attach_conf f "$L" Db "${lists[@]}"
  attach_conf g "$L" Db 'local_name = Db2' "${lists[@]}"; } >"$CONF"
reload
wait_for "through a checkpoint: the same objects" 10 like g '["T2","Hidden","E2","V2"]'
check_match "g was loaded from the checkpoint" '^[0-9]+ ckpt ' "$(history g | head -1)"

# ---- a commit adds a view over an excluded table that has history ----
ingest "$L" Db Hidden Hidden-2 >/dev/null
lc "$L" create-materialized-view Db V3 'a:string' --source Hidden --query 'Hidden' >/dev/null
wait_for "a new view brings its excluded source in, with its past extents" 10 like f '["T2","E2","V2"]'
check_eq "both extents of Hidden" 2 "$(q "SELECT count(*) FROM extents x JOIN entities e ON e.id = x.entity JOIN databases d ON d.id = x.db WHERE e.name = 'Hidden' AND d.config = 'f'")"

# ---- dropping the view takes the table out again ----
lc "$L" drop-materialized-view Db V3 >/dev/null
wait_for "dropping the view takes its excluded source out" 10 like f '["T2","Hidden","E2","V2"]'

# ---- changed lists take effect at the next sync ----
lists=('exclude_tables = Hidden' 'exclude_materialized_views = V*')
reloads=$(history g | grep -c ' ckpt ')
{ daemon_conf; attach_conf f "$L" Db "${lists[@]}"
  attach_conf g "$L" Db 'local_name = Db2' 'exclude_tables = Hidden, T2' 'include_external_tables = E1' 'exclude_materialized_views = V2'; } >"$CONF"
reload
wait_for "lists changed: newly included objects come with their extents, excluded ones leave" 10 like f '["Hidden","V1","V2"]'
check_eq "now: E1 E2 Secret T1 T2" "E1 E2 Secret T1 T2" "$(names f)"
wait_for "g (the same lists in another order) is unchanged" 10 like g '["T2","Hidden","E2","V2"]'
check_eq "... and was not reloaded" "$reloads" "$(history g | grep -c ' ckpt ')"

# ---- a restart with other lists: the store remembers the old ones ----
stop_follower
{ daemon_conf; attach_conf f "$L" Db 'exclude_tables = Hidden' 'exclude_materialized_views = V*' 'exclude_external_tables = *'
  attach_conf g "$L" Db 'local_name = Db2' 'exclude_tables = Hidden, T2' 'include_external_tables = E1' 'exclude_materialized_views = V2'; } >"$CONF"
out=$("$FOLLOWERD" --once -c "$CONF" 2>&1)
check_eq "--once after the lists changed offline exits 0" 0 $?
check "the lists changed while down are applied" like f '["Hidden","V1","V2","E1","E2"]'
done_testing
