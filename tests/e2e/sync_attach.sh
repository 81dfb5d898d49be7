#!/usr/bin/env bash
# sync_attach — which databases one daemon follows, and leaving them:
#  - "*" follows every database of a leader as it appears and disappears,
#    under local_prefix names;
#  - two leaders publishing the same database name, followed side by side
#    under different local names;
#  - the leader detaches this follower (detach-follower) and attaches it
#    again; another follower's name in the list changes nothing;
#  - a configuration removed + SIGHUP detaches its databases; added back, it
#    attaches again; --once with a configuration gone detaches it too;
#  - a local name another configuration holds is refused, not overwritten.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

A=$T/leader-a
B=$T/leader-b
mkdir -p "$A" "$B"
for L in "$A" "$B"; do
	lc "$L" init >/dev/null
	lc "$L" create-database Logs >/dev/null
	lc "$L" create-table Logs Events 'msg:string' >/dev/null
	ingest "$L" Logs Events "x$RANDOM" >/dev/null
done
lc "$A" create-database Metrics >/dev/null

write_conf() {
	{
		daemon_conf
		attach_conf a-all "$A" '*' 'local_prefix = a_'
		attach_conf b-logs "$B" Logs 'local_name = b_logs'
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$CONF"
}
write_conf
start_follower

wait_for "'*' follows every database of leader a" 10 same_as_leader a-all/Logs "$A" Logs
wait_for "... Metrics too" 10 same_as_leader a-all/Metrics "$A" Metrics
wait_for "leader b's Logs is followed beside leader a's" 10 same_as_leader b-logs "$B" Logs
check_eq "local names" "a_Logs a_Metrics b_logs" \
	"$(q "SELECT group_concat(local_name, ' ') FROM (SELECT local_name FROM databases ORDER BY local_name)")"
check "the two Logs differ (different uuids)" test \
	"$(q "SELECT uuid FROM databases WHERE config='a-all/Logs'")" != "$(q "SELECT uuid FROM databases WHERE config='b-logs'")"

# ---- databases appear and disappear under "*" ----
lc "$A" create-database Traces >/dev/null
wait_for "a new database at the leader is followed" 10 same_as_leader a-all/Traces "$A" Traces
lc "$A" drop-database Metrics >/dev/null
wait_for "a dropped one leaves the store" 10 not_in_store a-all/Metrics
check "the others stay" in_store a-all/Traces

# ---- the leader detaches this follower ----
lc "$A" detach-follower Traces someone-else >/dev/null
ingest "$A" Logs Events y >/dev/null
wait_for "another follower's detach changes nothing here" 10 same_as_leader a-all/Logs "$A" Logs
check "... Traces is still followed" in_store a-all/Traces
lc "$A" detach-follower Traces "$FOLLOWER_NAME" >/dev/null
wait_for "detach-follower with this follower's name: it leaves the store" 10 not_in_store a-all/Traces
check_match "the detach is logged with its reason" 'a-all/Traces: database detached.*leader detached this follower' "$(cat "$FLOG")"
lc "$A" create-table Traces Spans 'id:string' >/dev/null
sleep 0.5
check "a detached database stays out while the leader lists this follower" not_in_store a-all/Traces
lc "$A" attach-follower Traces "$FOLLOWER_NAME" >/dev/null
wait_for "attach-follower: it comes back in full" 10 same_as_leader a-all/Traces "$A" Traces

# ---- configurations removed, added back ----
{ daemon_conf; attach_conf b-logs "$B" Logs 'local_name = b_logs'; } >"$CONF"
reload
wait_for "a removed configuration: its databases leave on SIGHUP" 10 not_in_store a-all/Logs
wait_for "... all of them" 10 not_in_store a-all/Traces
check "the other configuration stays" in_store b-logs
check_eq "no row of a removed database is left" 0 "$(q "SELECT count(*) FROM entities e JOIN databases d ON d.id = e.db WHERE d.config LIKE 'a-all/%'")"
write_conf
reload
wait_for "added back, it attaches again" 10 same_as_leader a-all/Logs "$A" Logs

# ---- a local name another configuration holds ----
write_conf "$(attach_conf clash "$B" Logs 'local_name = a_Logs')"
reload
wait_for "a single database wins its local name over '*'" 10 not_in_store a-all/Logs
wait_for "... and is followed under it" 10 same_as_leader clash "$B" Logs
check_match "the database of '*' left with the reason" "a-all/Logs: database detached: configuration 'clash' names the local database 'a_Logs'" "$(cat "$FLOG")"
write_conf
reload
wait_for "removing it gives the name back to '*'" 10 same_as_leader a-all/Logs "$A" Logs

# ---- --once with a configuration gone ----
stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
{ daemon_conf; attach_conf a-all "$A" '*' 'local_prefix = a_'; } >"$CONF"
out=$("$FOLLOWERD" --once -c "$CONF" 2>&1)
check_eq "--once exits 0 when everything synced" 0 $?
check "--once detached the configuration that is gone" not_in_store b-logs
check_match "... and logged it" 'b-logs: database detached.*no configuration' "$out"
check "the rest is in sync" same_as_leader a-all/Logs "$A" Logs
done_testing
