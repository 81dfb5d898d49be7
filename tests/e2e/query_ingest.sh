#!/usr/bin/env bash
# query_ingest — ingestion_time() and the extents a filter skips before
# anything is read: two ingests at different times (the older created two
# hours ago); each row's ingestion_time() is its extent's created-on; a
# filter on it counts only the newer extent's rows and skips the older one
# by its created-on (followerd_query_extents_skipped_total goes up by one);
# a filter on a long column skips the extent whose statistics exclude it;
# ingestion_time() where the rows are no table's is refused by name.  Every
# answer is checked against what this test computes from the CSV it
# published.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"

sdk_port
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Code:long' >/dev/null
old=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# the older extent: 7 rows, Code 1..7, created two hours ago; the newer: 5
# rows, Code 1001..1005, created now (both with this hour's timestamps)
awk -v ts="$now" 'BEGIN { for (i = 1; i <= 7; i++) printf "%s,%d\n", ts, i }' >"$T/old.csv"
awk -v ts="$now" 'BEGIN { for (i = 1; i <= 5; i++) printf "%s,%d\n", ts, 1000 + i }' >"$T/new.csv"
lc "$L" ingest Logs Events "$T/old.csv" --format csv --created-on "$old" >/dev/null
lc "$L" ingest Logs Events "$T/new.csv" --format csv --created-on "$now" >/dev/null
sum() { awk -F, '{ s += $2 } END { print NR, s }' "$1"; }

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"
	attach_conf logs "http://127.0.0.1:$(cat "$T/fs.port")" Logs
} >"$CONF"
start_listening
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
loaded() { [ "$(loaded_extents Logs Events "")" = 2 ]; }
wait_for "both extents are loaded" 30 loaded

# query CSL: the v1 answer in $T/body, the HTTP status printed.
query() {
	jq -nc --arg csl "$1" '{db: "Logs", csl: $csl}' >"$T/req"
	curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/v1/rest/query" --data-binary @"$T/req"
}
# rows: the first table's rows, a line each, cells joined by spaces
rows() { jq -r '.Tables[0].Rows[] | map(tostring) | join(" ")' "$T/body"; }
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
skipped() { metric followerd_query_extents_skipped_total; }
# ticks of an ISO time, as Kusto's JSON writes it (7 fraction digits)
kusto_time() { date -u -d "$1" +%Y-%m-%dT%H:%M:%S.0000000Z; }

check_eq "each row's ingestion_time() is its extent's created-on" 200 \
	"$(query 'Events | summarize n = count(), s = sum(Code) by t = ingestion_time() | order by t asc')"
check_eq "... 7 rows at $old, 5 at $now" \
	"$(kusto_time "$old") $(sum "$T/old.csv")
$(kusto_time "$now") $(sum "$T/new.csv")" "$(rows)"

s0=$(skipped)
check_eq "where ingestion_time() > ago(1h): 200" 200 \
	"$(query 'Events | where ingestion_time() > ago(1h) | summarize n = count(), s = sum(Code)')"
check_eq "... only the newer extent's rows" "$(sum "$T/new.csv")" "$(rows)"
check_eq "... the older extent skipped by its created-on, unread" 1 $(($(skipped) - s0))

s0=$(skipped)
check_eq "where ingestion_time() between 3 and 1 hours ago: 200" 200 \
	"$(query 'Events | where ingestion_time() between (ago(3h) .. ago(1h)) | summarize n = count(), s = sum(Code)')"
check_eq "... only the older extent's rows" "$(sum "$T/old.csv")" "$(rows)"
check_eq "... the newer extent skipped" 1 $(($(skipped) - s0))

s0=$(skipped)
check_eq "where Code > 1002: 200" 200 "$(query 'Events | where Code > 1002 | summarize n = count(), s = sum(Code)')"
check_eq "... the rows this test counts" \
	"$(awk -F, '$2 > 1002 { n++; s += $2 } END { print n, s }' "$T/new.csv")" "$(rows)"
check_eq "... the older extent skipped by its statistics (Code 1..7)" 1 $(($(skipped) - s0))

s0=$(skipped)
check_eq "where Code in (3, 4.0): 200" 200 "$(query 'Events | where Code in (3, 4.0) | count')"
check_eq "... 2 rows" 2 "$(rows)"
check_eq "... the newer extent skipped (Code 1001..1005)" 1 $(($(skipped) - s0))

check_eq "ingestion_time() after summarize: 400" 400 \
	"$(query 'Events | summarize count() by Code | extend t = ingestion_time()')"
check_match "... the error says where the rows stopped being a table's" \
	"ingestion_time\(\): the rows of 'extend' are not a table's \(they come from summarize\)" \
	"$(jq -r '.error.message' "$T/body")"
done_testing
