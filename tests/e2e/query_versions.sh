#!/usr/bin/env bash
# query_versions — several clients query while the leader commits: every
# answer is exactly one version (each extent's 7 rows all there or none,
# never a row twice), queries in the default datascope wait for a commit's
# extents to load rather than fail, and a merge and a drop are never seen
# half done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

PORT=$(free_port)
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Code:long' >/dev/null
extent() { # N: 7 rows with Code N
	for i in 1 2 3 4 5 6 7; do printf '2026-12-01T00:00:0%dZ,%d\n' "$i" "$1"; done >"$T/x$1.csv"
	lc "$L" ingest Logs Events "$T/x$1.csv" --format csv
}
extent 0 >/dev/null
{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; attach_conf logs "$L" Logs; } >"$CONF"
start_follower
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs

# Clients: each answer's groups must all hold 7 rows.
client() {
	local n=0 bad=0 body
	while [ ! -e "$T/stop" ]; do
		body=$(curl -s -m 20 -X POST "http://127.0.0.1:$PORT/v1/rest/query" \
			-d '{"db":"Logs","csl":"Events | summarize n = count() by Code"}' -w '\n%{http_code}')
		n=$((n + 1))
		if [ "$(tail -1 <<<"$body")" != 200 ]; then
			bad=$((bad + 1)); echo "HTTP: $body" >>"$T/client$1.bad"
		elif ! head -1 <<<"$body" | jq -e '.Tables[0].Rows | length > 0 and all(.[1] == 7)' >/dev/null; then
			bad=$((bad + 1)); head -1 <<<"$body" >>"$T/client$1.bad"
		fi
	done
	echo "$n $bad" >"$T/client$1.out"
}
for c in 1 2 3; do client "$c" & _pids+=($!); done
for e in $(seq 1 12); do
	id=$(extent "$e")
	[ "$e" = 4 ] && four=$id
	[ "$e" = 5 ] && lc "$L" merge-extents Logs "$four" "$id" >/dev/null
	[ "$e" = 9 ] && lc "$L" drop-extents Logs "$id" >/dev/null
done
wait_for "the follower reaches the leader's last version" 30 at_version logs "$L" Logs
sleep 1 # the clients' last answers are of the last version too
touch "$T/stop"
for c in 1 2 3; do until_ok 30 test -s "$T/client$c.out"; done
total=0 bad=0
for c in 1 2 3; do read -r n b <"$T/client$c.out"; total=$((total + n)); bad=$((bad + b)); done
diag "$total answers, $bad bad"
check "the clients got answers while the leader committed ($total)" test "$total" -ge 9
check_eq "every answer was one whole version, none failed" 0 "$bad"
[ "$bad" = 0 ] || cat "$T"/client*.bad | head -5 | sed 's/^/# /'
final=$(curl -s -X POST "http://127.0.0.1:$PORT/v2/rest/query" \
	-d '{"db":"Logs","csl":"Events | summarize n = count() by Code | summarize groups = count(), rows = sum(n)"}' |
	jq -c '.[] | select(.TableKind == "PrimaryResult") | .Rows[0]')
check_eq "the last version: 12 groups (13 extents, one merged in, one dropped), 84 rows" "[12,84]" "$final"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
