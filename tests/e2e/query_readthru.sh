#!/usr/bin/env bash
# query_readthru — a query over a visible version is complete: the cold
# extents it needs (a caching policy of 7 days, extents created in 2020:
# the warmer never fetches them) are read through for it — fetched,
# verified, loaded — within query_readthru_max_size; past the bound the
# query is refused with an error that names the setting and says how to
# narrow the query.  A time filter skips the cold extents by their column
# statistics before anything is read (nothing read through, the skip
# counted in /metrics); query_datascope=hotcache reads only the hot extents
# that are loaded (not the cold ones a read-through loaded) and says how many
# extents it skipped; a read-through slower than
# servertimeout answers at the deadline; an artifact the leader lost is an
# error naming it.  Every answer is checked against
# what this test computes from the CSV it published.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"
[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"

sdk_port
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Code:long' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null

# 3 hot extents of the last hours; 4 cold ones (created in 2020, rows of 2020)
hour() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
for e in 1 2 3; do
	ts=$(hour "-$e hours")
	awk -v e="$e" -v ts="$ts" 'BEGIN { for (i = 0; i < 50; i++) printf "%s,hot%d,%d\n", ts, i % 5, e * 1000 + i }' >"$T/hot$e.csv"
	lc "$L" ingest Logs Events "$T/hot$e.csv" --format csv >/dev/null
done
for e in 1 2 3 4; do
	awk -v e="$e" 'BEGIN { for (i = 0; i < 40; i++) printf "2020-0%d-01T%02d:00:00Z,cold%d,%d\n", e, i % 24, i % 3, e * 100 + i }' >"$T/cold$e.csv"
	lc "$L" ingest Logs Events "$T/cold$e.csv" --format csv --created-on "2020-0$e-01T00:00:00Z" >/dev/null
done
cat "$T"/hot?.csv >"$T/hot.csv"
cat "$T"/hot?.csv "$T"/cold?.csv >"$T/all.csv"
COLD_BYTES=$(cat "$T"/cold?.csv | wc -c)
# count, sum(Code), distinct hosts: computed here, not by followerd
agg() { awk -F, '{ n++; s += $3; h[$2] = 1 } END { printf "%d %d %d\n", n, s, length(h) }' "$1"; }

# the leader's directory served over HTTP by faultserver (a delay below)
bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
FS=http://127.0.0.1:$(cat "$T/fs.port")
conf() {
	{
		daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" \
			"query_readthru_max_size = $1" "cache_demand_keep = 10m"
		attach_conf logs "$FS" Logs
	} >"$CONF"
}
conf $((COLD_BYTES - 1))
start_listening
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
loaded() {
	[ "$(loaded_extents Logs Events "")" = "$1" ]
}
wait_for "the 3 hot extents are loaded, the 4 cold ones are not" 30 loaded 3

# query CSL [OPTIONS_JSON]: the v1 answer in $T/body, the status printed.
query() {
	jq -nc --arg csl "$1" --argjson o "${2:-{\}}" '{db: "Logs", csl: $csl, properties: {Options: $o}}' >"$T/req"
	curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL/v1/rest/query" --data-binary @"$T/req"
}
# agg_q [WHERE]: the aggregate over Events (after the filter, if any)
agg_q() { echo "Events ${1:+| $1 }| summarize n = count(), s = sum(Code), h = dcount(Host)"; }
answer() { jq -r '.Tables[0].Rows[0] | map(tostring) | join(" ")' "$T/body"; }
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }

# ---- a time filter skips the cold extents: nothing is read through ----
check_eq "a last-day query answers 200" 200 "$(query "$(agg_q 'where Timestamp > ago(1d)')")"
check_eq "... the hot rows exactly" "$(agg "$T/hot.csv")" "$(answer)"
check_eq "... nothing was read through" "0 0" \
	"$(metric followerd_query_readthru_files_total) $(metric followerd_query_readthru_bytes_total)"
check "... the 4 cold extents were skipped by their statistics" \
	test "$(metric followerd_query_extents_skipped_total)" -ge 4
check "... and not loaded" loaded 3

# ---- hotcache reads what is loaded ----
check_eq "hotcache: 200" 200 "$(query "$(agg_q)" '{"query_datascope":"hotcache"}')"
check_eq "... the hot rows" "$(agg "$T/hot.csv")" "$(answer)"
check_eq "... and says it skipped the 4 cold extents" 4 \
	"$(jq -r '[.Tables[].Rows[][] | strings | select(test("SkippedExtents")) | fromjson | .SkippedExtents][0]' "$T/body")"

# ---- over the bound: a clear error ----
check_eq "every row needs the cold extents: over query_readthru_max_size, 400" 400 "$(query "$(agg_q)")"
msg=$(jq -r '.error.message' "$T/body")
check_match "... the error names the setting and its value" \
	"more than query_readthru_max_size allows \([^)]*, $((COLD_BYTES - 1)) bytes\)" "$msg"
check_match "... the bytes needed" "would fetch [^(]*\($COLD_BYTES bytes\)" "$msg"
check_match "... and how to narrow the query" "time filter.*hotcache" "$msg"
check_eq "... Kusto's error shape" "LimitsExceeded" "$(jq -r '.error.code' "$T/body")"
check_eq "... counted, nothing read through" "1 0" \
	"$(metric 'followerd_query_readthru_refused_total{reason="bound"}') $(metric followerd_query_readthru_files_total)"

# ---- within the bound: read through, exactly the rows ----
conf "$COLD_BYTES"
reload
check_eq "with the bound at the cold extents' size, the same query answers 200" 200 "$(query "$(agg_q)")"
check_eq "... every row of the version, hot and cold" "$(agg "$T/all.csv")" "$(answer)"
check_eq "... the 4 cold artifacts were read through, their bytes counted" "4 $COLD_BYTES" \
	"$(metric followerd_query_readthru_files_total) $(metric followerd_query_readthru_bytes_total)"
check "... and are loaded now" loaded 7
check_eq "hotcache still reads the hot extents only (the cold ones are loaded, not hot)" \
	"200 $(agg "$T/hot.csv") 4" \
	"$(query "$(agg_q)" '{"query_datascope":"hotcache"}') $(answer) $(jq -r '[.Tables[].Rows[][] | strings | select(test("SkippedExtents")) | fromjson | .SkippedExtents][0]' "$T/body")"
check_eq "the cold rows alone (a 2020 filter: the hot extents skipped)" 200 \
	"$(query "$(agg_q 'where Timestamp < datetime(2021-01-01)')")"
check_eq "... exactly the cold rows" "$(cat "$T"/cold?.csv | agg /dev/stdin)" "$(answer)"
check_eq "... nothing more read through" 4 "$(metric followerd_query_readthru_files_total)"

# ---- servertimeout while an artifact is read through ----
printf '2019-03-01T00:00:00Z,slow,7\n' >"$T/slow.csv"
lc "$L" ingest Logs Events "$T/slow.csv" --format csv --created-on 2019-03-01T00:00:00Z >/dev/null
slow=$(sha256sum "$T/slow.csv" | cut -d' ' -f1)
curl -sf -d "/artifacts/*/$slow 1 delay 3000" "$FS/_fault" >/dev/null || diag "could not add the delay"
wait_for "the follower is at the leader's new version" 20 at_version logs "$L" Logs
t0=$(date +%s%N)
check_eq "a read-through slower than servertimeout (1s): 408" 408 \
	"$(query "$(agg_q)" '{"servertimeout":"00:00:01"}')"
check "... answered at the deadline, not after the download" \
	test $((($(date +%s%N) - t0) / 1000000)) -lt 2800
check_match "... saying so" "servertimeout.*read through" "$(jq -r '.error.message' "$T/body")"
check_eq "the download went on: the next query answers every row" \
	"200 $(cat "$T/all.csv" "$T/slow.csv" | agg /dev/stdin)" "$(query "$(agg_q)") $(answer)"

# ---- an artifact the leader lost: a clear error naming it ----
printf '2019-06-01T00:00:00Z,lost,1\n' >"$T/lost.csv"
lc "$L" ingest Logs Events "$T/lost.csv" --format csv --created-on 2019-06-01T00:00:00Z >/dev/null
lost=$(sha256sum "$T/lost.csv" | cut -d' ' -f1)
rm -f "$L/artifacts/${lost:0:2}/$lost"
wait_for "the follower is at the leader's new version" 20 at_version logs "$L" Logs
check_eq "a query that needs an extent whose artifact is gone: 503" 503 "$(query "$(agg_q)")"
check_match "... the error names the artifact and says how to narrow the query" \
	"could not be read through: .*$lost.*hotcache" "$(jq -r '.error.message' "$T/body")"
check_eq "... counted (with the timeout)" 2 \
	"$(metric 'followerd_query_readthru_refused_total{reason="error"}')"
check_eq "a time filter that skips that extent still answers" 200 \
	"$(query "$(agg_q 'where Timestamp > datetime(2019-12-31)')")"
check_eq "... every other row" "$(agg "$T/all.csv")" "$(answer)"

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
