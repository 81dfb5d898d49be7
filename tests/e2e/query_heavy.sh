#!/usr/bin/env bash
# query_heavy — queries run off the event loop: while heavy queries keep
# every query worker busy, /healthz answers within 50 ms, the JSON views and
# .show commands answer, and a leader's commit is applied on time; each
# client that disconnects cancels its query; a servertimeout set in the
# query's text stops it with Kusto's timeout error.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Code:long' >/dev/null
printf '2026-12-01T00:00:01Z,1\n' >"$T/a.csv"
lc "$L" ingest Logs Events "$T/a.csv" --format csv >/dev/null
{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; attach_conf logs "$L" Logs; } >"$CONF"
start_follower
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs

# A query that computes for minutes (a billion-row range).
HEAVY='range x from 1 to 1000000000 step 1 | summarize sum(x)'
heavy() { # N: in the background, its pid the client's own
	exec curl -s -m 40 -o "$T/heavy$1.out" -w '%{http_code} %{time_total}\n' -X POST "$URL/v2/rest/query" \
		--data-binary "$(jq -nc --arg q "$HEAVY" '{db: "Logs", csl: $q}')" >"$T/heavy$1.code"
}
for i in 1 2 3; do (heavy "$i") & _pids+=($!); done
# busy: every worker runs a heavy query, the third waits
busy() {
	local m
	m=$(curl -s "$URL/metrics")
	grep -qx 'followerd_queries_running 2' <<<"$m" && grep -qx 'followerd_queries_queued 1' <<<"$m"
}
wait_for "both workers run a heavy query, the third waits" 10 busy

worst=0
for _ in $(seq 1 20); do
	t=$(curl -s -o /dev/null -w '%{time_total}' "$URL/healthz")
	worst=$(echo "if ($t > $worst) $t else $worst" | bc -l)
	sleep 0.1
done
diag "worst /healthz time while the workers are busy: ${worst}s"
check "/healthz answers within 50 ms while heavy queries run" test "$(echo "$worst < 0.05" | bc -l)" = 1
check_eq "the JSON views answer meanwhile" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$URL/v1/databases")"
check_eq ".show commands answer meanwhile" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -m 2 -X POST "$URL/v1/rest/mgmt" -d '{"db":"Logs","csl":".show tables"}')"
printf '2026-12-01T00:00:02Z,2\n' >"$T/b.csv"
lc "$L" ingest Logs Events "$T/b.csv" --format csv >/dev/null
wait_for "a leader's commit is applied while the workers are busy" 3 at_version logs "$L" Logs
curl -s "$URL/metrics" | grep "^followerd_queries" | sed "s/^/# /"
check "the heavy queries were still running then" busy

# the clients go away: their queries stop, the workers are free at once
kill "${_pids[@]: -3}" 2>/dev/null
idle() { curl -s "$URL/metrics" | grep -qx 'followerd_queries_running 0'; }
wait_for "clients that disconnect cancel their queries" 3 idle
check_eq "a query runs at once after them" '[[3]]' "$(curl -s -m 5 -X POST "$URL/v1/rest/query" \
	-d '{"db":"Logs","csl":"range x from 1 to 3 step 1 | count"}' | jq -c '.Tables[0].Rows')"

# an answer that ends within its first chunk goes out whole, one that
# does not is streamed as it is produced
hdrs() { curl -s -m 20 -D - -o "$T/ans.json" -X POST "$URL/v2/rest/query" \
	--data-binary "$(jq -nc --arg q "$1" '{db: "Logs", csl: $q}')" | tr -d '\r' | tr 'A-Z' 'a-z'; }
h=$(hdrs 'print x = 1')
check_match "a small answer has a Content-Length" '^content-length: [0-9]+$' "$h"
check_fails "... and is not chunked" grep -q '^transfer-encoding' <<<"$h"
check_eq "... and is whole" 1 "$(jq '[.[] | select(.TableKind == "PrimaryResult") | .Rows[]] | length' "$T/ans.json")"
h=$(hdrs 'range x from 1 to 300000 step 1')
check_match "a big answer is streamed in chunks" '^transfer-encoding: chunked$' "$h"
check_eq "... and is whole" 300000 "$(jq '[.[] | select(.TableKind == "PrimaryResult") | .Rows[]] | length' "$T/ans.json")"

# servertimeout stops a query with Kusto's timeout error
start=$(date +%s.%N)
out=$(curl -s -m 20 -w '\n%{http_code}' -X POST "$URL/v2/rest/query" \
	--data-binary "$(jq -nc --arg q "set servertimeout = 2s; $HEAVY" '{db: "Logs", csl: $q}')")
secs=$(echo "$(date +%s.%N) - $start" | bc -l)
diag "a query with servertimeout 2s ended after ${secs}s: $(tail -1 <<<"$out")"
check "a set servertimeout stops the query on time" test "$(echo "$secs < 4" | bc -l)" = 1
check_match "it answers Kusto's timeout error" 'RequestExecutionTimeout.*exceeded the allowed limits' "$out"
check_eq "with HTTP 408" 408 "$(tail -1 <<<"$out")"

stop_follower
done_testing
