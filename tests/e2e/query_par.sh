#!/usr/bin/env bash
# query_par — parallel scans: a summarize over a stored table runs on two
# partitions of its extents (FOLLOWERD_TEST_PAR_MIN_ROWS=1 lowers the
# 200,000-row threshold) and answers exactly what the same daemon answers
# with the plan run whole (nulls, a filter leaving no row, summarize
# without by over nothing, avg of nulls only, dcount, top above it, top N,
# take N over a filter, distinct; arg_max/arg_min with ties and all keys
# null, make_list/make_set (the scan's order, their max size), avg of
# datetimes, percentile/percentiles of reals, longs, datetimes and
# timespans (a Debug level of null Latency only); joins whose left side is the table, each partition
# joined with the whole right side: duplicate and null keys, inner,
# leftouter, leftsemi, leftanti; a right side past the bound, a quarter of
# the left's rows, runs whole); unions of two tables (withsource, a
# column one lacks, tables matched by wildcard names), every table's
# extents partitioned; while
# the leader commits, merges and drops, every parallel answer is one whole
# version.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

PORT=$(free_port)
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events \
	'Timestamp:datetime,Level:string,Host:string,Latency:real,Code:long' >/dev/null
# extent N: 40 rows; Latency empty (null) every 7th row, Code every 5th
for e in 1 2 3 4 5 6; do
	for ((i = 0; i < 40; i++)); do
		n=$((e * 100 + i))
		lat=$([ $((n % 7)) = 0 ] || echo "$((n % 40)).25")
		code=$([ $((n % 5)) = 0 ] || echo "$((n % 13))")
		printf '2026-12-01T%02d:00:00Z,%s,h%d,%s,%s\n' $((n % 9)) \
			"$([ "$e" = 6 ] && echo Debug || echo Info)" $((n % 4)) \
			"$([ "$e" = 6 ] || echo "$lat")" "$code"
	done >"$T/x$e.csv"
	lc "$L" ingest Logs Events "$T/x$e.csv" --format csv >/dev/null
done
# the right sides of joins: Hosts and Codes with duplicate keys, a null
# Code, keys Events lacks; Big, 100 rows: more than a quarter of Events'
lc "$L" create-table Logs Hosts 'Host:string,Team:string' >/dev/null
printf 'h0,a\nh1,b\nh1,c\nh9,d\n' >"$T/hosts.csv"
lc "$L" ingest Logs Hosts "$T/hosts.csv" --format csv >/dev/null
lc "$L" create-table Logs Codes 'Code:long,Name:string' >/dev/null
printf '1,a\n1,b\n,c\n99,d\n7,e\n' >"$T/codes.csv"
lc "$L" ingest Logs Codes "$T/codes.csv" --format csv >/dev/null
lc "$L" create-table Logs Big 'Host:string,N:long' >/dev/null
for ((i = 0; i < 100; i++)); do echo "h$((i % 4)),$i"; done >"$T/big.csv"
lc "$L" ingest Logs Big "$T/big.csv" --format csv >/dev/null
# a union's other table: Code and Host as Events', Extra its own
lc "$L" create-table Logs Audit 'Level:string,Host:string,Code:long,Extra:string' >/dev/null
for e in 1 2; do
	for ((i = 0; i < 30; i++)); do
		printf '%s,h%d,%s,x%d\n' "$([ $((i % 3)) = 0 ] && echo Audit || echo Info)" $((i % 5)) \
			"$([ $((i % 4)) = 0 ] || echo $((e * 10 + i % 9)))" $((i % 2))
	done >"$T/a$e.csv"
	lc "$L" ingest Logs Audit "$T/a$e.csv" --format csv >/dev/null
done
daemon() { # debug log: the parallel scans are logged
	{ daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"; attach_conf logs "$L" Logs; } |
		sed 's/^log_level = info/log_level = debug/' >"$CONF"
	start_follower
	wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
}
query() {
	curl -s -m 20 -X POST "http://127.0.0.1:$PORT/v1/rest/query" \
		-d "$(jq -cn --arg q "$1" '{db: "Logs", csl: $q}')" | jq -c '.Tables[0].Rows'
}
queries=(
	'Events | count'
	'Events | where Level == "Info" | count'
	'Events | summarize count() by Level'
	'Events | summarize avg(Latency), max(Latency), min(Code), sum(Code), dcount(Code) by Host | order by Host asc'
	'Events | where Level == "Debug" | summarize avg(Latency), count()'
	'Events | where Level == "nothing" | summarize count(), sum(Code), avg(Latency)'
	'Events | summarize n = count() by bin(Timestamp, 1h), Host | top 3 by n desc, Host asc, Timestamp asc'
	'Events | summarize dcountif(Host, Code > 3), countif(Latency > 10), sumif(Code, Level == "Info") by Level'
	'Events | top 5 by Latency desc, Timestamp asc, Host asc, Code asc, Level asc'
	'Events | where Code > 10 | take 1000 | order by Timestamp asc, Host asc, Code asc, Latency asc'
	'Events | where Code > 10 | take 3 | count'
	'Events | distinct Host, Level | order by Host asc, Level asc'
	'Events | where Level == "Info" | join kind=inner Hosts on Host | summarize count(), sum(Code) by Team | order by Team asc'
	'Events | join kind=inner Codes on Code | summarize count(), avg(Latency) by Name, Host | order by Name asc, Host asc'
	'Events | join kind=leftouter Codes on Code | summarize count(), dcount(Name) by Host | order by Host asc'
	'Events | join kind=leftsemi Hosts on Host | summarize count() by Host | order by Host asc'
	'Events | join kind=leftanti Codes on Code | summarize count(), countif(isnull(Code))'
	'Events | where Level == "nothing" | join kind=inner Hosts on Host | summarize count()'
	'Events | join kind=inner Hosts on Host | top 3 by Code desc, Timestamp asc, Team asc, Latency asc'
	'Events | join kind=inner Big on Host | summarize count(), sum(N)'
	'Events | join kind=inner Hosts on Host | distinct Team, Level | order by Team asc, Level asc'
	'Events | join Hosts on Host | summarize count() by Team | order by Team asc'
	'Events | where Level == "Info" | join kind=innerunique Codes on Code | summarize count() by Name, Code | order by Code asc'
	'Events | summarize arg_max(Timestamp, Host, Code), arg_min(Latency, *) by Level | order by Level asc'
	'Events | where Level == "Debug" | summarize arg_max(Latency, Host, Code), arg_min(Code, Timestamp)'
	'Events | summarize make_list(Code, 50), make_set(Host), make_set(Latency, 5) by Level | order by Level asc'
	'Events | summarize avg(Timestamp), make_list(Host, 10), arg_max(Code, Timestamp), count()'
	'Events | summarize percentile(Latency, 95), percentiles(Code, 5, 50, 99), percentile(Timestamp, 50) by Level | order by Level asc'
	'Events | extend d = Timestamp - datetime(2026-12-01) | summarize percentiles(d, 10, 90), percentile(Latency, 50), count()'
	'union withsource=Src Events, Audit | summarize count(), sum(Code), dcount(Extra), make_list(Code, 40) by Src, Level | order by Src asc, Level asc'
	'union Audit, (Events | where Level == "Info") | where Code > 5 | summarize count(), avg(Latency), max(Extra) by Host | order by Host asc'
	'union withsource=Src E*s, *dit | summarize count(), sum(Code) by Src | order by Src asc'
)
answers() { for q in "${queries[@]}"; do query "$q"; done; }

# scans KIND: followerd_query_scans_total{plan="KIND"}
scans() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v k="plan=\"$1\"" 'index($0, k) { print $2 }'; }
# the plan whole: the default threshold is far above these 240 rows
daemon
answers >"$T/whole"
check_eq "no scan split below the threshold" "0 0" "$(scans split) $(scans hashed)"
stop_follower
export FOLLOWERD_TEST_PAR_MIN_ROWS=1
daemon
answers >"$T/split"
check "the queries answered" test "$(grep -c '^\[' "$T/whole")" = "${#queries[@]}"
check_eq "split answers equal whole ones" "$(cat "$T/whole")" "$(cat "$T/split")"
check "the daemon split them" grep -q 'over 2 partitions: merged' "$FLOG"
check "followerd_query_scans_total counts the split scans" test "$(scans split)" -ge 20
check "the daemon split the joins" grep -q 'over 2 partitions, joined with tables read whole: merged' "$FLOG"
check_eq "innerunique: one left row per host (h1 twice in Hosts)" \
	'[["a",1],["b",1],["c",1]]' "$(sed -n 22p "$T/split")"
check "a right side past the bound kept the plan whole" grep -q "a join's right side of 100 rows" "$FLOG"
check_eq "count without by over no row: one row, 0 (avg NaN)" '[[0,0,"NaN"]]' "$(sed -n 6p "$T/split")"
# the scan-order aggregates and the percentiles split too (once each, its
# partitions merged)
merged() { grep -c 'over 2 partitions: merged' "$FLOG"; }
before=$(merged)
for q in "${queries[@]:23:6}"; do query "$q" >/dev/null; done
six_more() { [ "$(merged)" -ge $((before + 6)) ]; }
wait_for "arg_max, make_list, make_set, avg of datetimes, percentiles split" 10 six_more
# Debug rows (extent 6) have no Latency: arg_max's row is their first
check_eq "arg_max over null keys only: the first row" \
	'[[null,"h0",null,0,"2026-12-01T08:00:00Z"]]' "$(sed -n 25p "$T/split" | sed 's/\.0000000Z/Z/g')"
# unions: every table's extents partitioned, the split counted
union_splits() { grep -c "and the union's other tables over 2 partitions: merged" "$FLOG"; }
check "the daemon split the unions (a wildcard union's too)" test "$(union_splits)" -ge 3
before=$(scans split)
for q in "${queries[@]: -3}"; do query "$q" >/dev/null; done
three_more() { [ "$(scans split)" -ge $((before + 3)) ]; }
wait_for "followerd_query_scans_total{plan=\"split\"} counts the unions" 10 three_more
check_eq "union withsource: Audit's rows, then Events'" \
	'["Audit","Audit",20,246]' "$(sed -n 30p "$T/split" | jq -c '.[0][0:4]')"
check_eq "union E*s, *dit: withsource names the tables matched" \
	'["Audit","Events"]' "$(sed -n 32p "$T/split" | jq -c '[.[][0]]')"

# while the leader commits, merges and drops: each group's 7 rows or none
client() {
	local n=0 bad=0 body
	while [ ! -e "$T/stop" ]; do
		body=$(query 'Events | where Level == "V" | summarize n = count() by Code')
		n=$((n + 1))
		jq -e 'length > 0 and all(.[1] == 7)' <<<"$body" >/dev/null || {
			bad=$((bad + 1)); echo "$body" >>"$T/bad"; }
	done
	echo "$n $bad" >"$T/client.out"
}
extent() { # 7 rows of Code 1000 + N, level V
	for i in 1 2 3 4 5 6 7; do printf '2026-12-01T00:00:0%dZ,V,h,1,%d\n' "$i" $((1000 + $1)); done >"$T/v$1.csv"
	lc "$L" ingest Logs Events "$T/v$1.csv" --format csv
}
extent 0 >/dev/null
wait_for "the first V extent is queryable" 20 at_version logs "$L" Logs
client &
_pids+=($!)
for e in $(seq 1 8); do
	id=$(extent "$e")
	[ "$e" = 3 ] && three=$id
	[ "$e" = 4 ] && lc "$L" merge-extents Logs "$three" "$id" >/dev/null
	[ "$e" = 6 ] && lc "$L" drop-extents Logs "$id" >/dev/null
done
wait_for "the follower reaches the leader's last version" 30 at_version logs "$L" Logs
touch "$T/stop"
until_ok 30 test -s "$T/client.out"
read -r n bad <"$T/client.out"
diag "$n answers, $bad bad"
check "the client got answers while the leader committed ($n)" test "$n" -ge 3
check_eq "every parallel answer was one whole version" 0 "$bad"
[ "$bad" = 0 ] || head -3 "$T/bad" | sed 's/^/# /'
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"

# a percentile's values (each partition's rows') past the bound: whole at
# once, not after the partitions read them all
export FOLLOWERD_TEST_PAR_MAX_VALUES=100
daemon
before=$(scans split)
pq='Events | where Level != "V" | summarize percentile(Latency, 95), percentiles(Code, 5, 50, 99), percentile(Timestamp, 50) by Level | order by Level asc'
check_eq "past the values' bound: the whole plan's answer" "$(sed -n 28p "$T/whole")" "$(query "$pq")"
check "... run whole, as the log says" grep -q "rows' values over 2 partitions, past 100 each: whole" "$FLOG"
check_eq "... not counted as split" "$before" "$(scans split)"
check_eq "... a count still splits" "$(sed -n 2p "$T/whole")" "$(query "${queries[1]}")"
check "... and is counted" test "$(scans split)" -gt "$before"
stop_follower
done_testing
