#!/usr/bin/env bash
# kql_conformance — many KQL queries, end to end, over a generated leader:
# kql_conformance.mjs writes seeded log-like data (nulls, empty and
# mixed-case strings, dynamic bags and arrays, timespans, several extents,
# a small dimension table) as CSV; leaderctl publishes it; followerd
# follows it; the official Node SDK (azure-kusto-data) runs each query and
# its answer is compared, typed, with the rows the script computes in
# JavaScript from the same data (never from followerd's output).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

need_kusto_sdk
MJS=$E2E_ROOT/tests/e2e/kql_conformance.mjs

sdk_port

L=$T/leader
mkdir -p "$L" "$T/data"
node "$MJS" gen "$T/data" || { not_ok "the data generator ran"; done_testing; }
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events "$(cat "$T/data/Events.schema")" >/dev/null
lc "$L" create-table Logs Hosts "$(cat "$T/data/Hosts.schema")" >/dev/null
lc "$L" set-caching-policy Logs 3650d >/dev/null
for f in "$T"/data/Events.*.csv; do lc "$L" ingest Logs Events "$f" --format csv >/dev/null; done
lc "$L" ingest Logs Hosts "$T/data/Hosts.1.csv" --format csv >/dev/null
NEXT=$(ls "$T"/data/*.csv | wc -l)

lc "$L" add-principal Logs viewers 'aaduser=viewer@x' >/dev/null
write_tokens "$T/tokens" viewer
{
	daemon_conf "listen = 127.0.0.1:$PORT" "tokens_file = $T/tokens"
	attach_conf logs "$L" Logs
} >"$CONF"
start_listening
wait_for "the leader's Logs is applied" 20 at_version logs "$L" Logs
loaded() {
	local t n=0
	for t in Events Hosts; do
		n=$((n + $(loaded_extents Logs "$t")))
	done
	[ "$n" = "$NEXT" ]
}
wait_for "the $NEXT extents are loaded" 30 loaded

SDK=$SDK URL=$URL node "$MJS" check "$T/data" >"$T/node.out" 2>&1
relay_tap "$T/node.out" $?
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
