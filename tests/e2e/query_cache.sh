#!/usr/bin/env bash
# query_cache — the query store's bytes count against cache_max_size with
# the artifacts (lib/cache/warm_qs.c): with a limit the artifacts alone fit
# under but not with the rows they loaded, the oldest hot extents go (their
# artifacts and, after them, their rows) until artifacts + query store fit;
# the follower reports it (the cache view, /metrics); and a cold extent read
# through (kept for cache_demand_keep, loaded by qsync) goes before any hot
# one.  Sizes are the cache directory's files (objects/ and query/).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

L=$T/leader
CACHE=$T/cache
QDIR=$CACHE/query
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Latency:real,Code:long' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null

# extent TAG HOURS_AGO: 20,000 rows created that long ago; prints its id.
extent() {
	awk -v t="$1" 'BEGIN { for (i = 0; i < 20000; i++)
		printf "2026-12-01T%02d:%02d:%02d.%07dZ,%s-h%d,%d.25,%d\n", i % 24, i % 60, i % 60, i, t, i % 50, i % 900, i }' >"$T/$1.csv"
	lc "$L" ingest Logs Events "$T/$1.csv" --format csv \
		--created-on "$(date -u -d "-$2 hours" +%Y-%m-%dT%H:%M:%SZ)"
}
sha() { sha256sum "$T/$1.csv" | cut -d' ' -f1; }
object() { echo "$CACHE/objects/${1:0:2}/$1"; }
for i in 1 2 3 4 5 6; do eval "X$i=\$(extent n$i $((7 - i)))"; done
C=$(extent cold $((24 * 30)))

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
conf() {
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" "cache_demand_keep = 1h" \
		"cache_max_size = $1"
	attach_conf logs "$L" Logs
}
conf 0 >"$CONF"
start_follower
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
DBID=$(q "SELECT id FROM databases WHERE config = 'logs'")
qq() { sqlite3 -readonly "$QDIR/$DBID.db" "$1" 2>/dev/null; }
nloaded() { qq "SELECT count(*) FROM qextents"; }
loaded() { [ "$(qq "SELECT count(*) FROM qextents WHERE extent = '$1'")" = 1 ]; }
not_loaded() { [ "$(qq "SELECT count(*) FROM qextents WHERE extent = '$1'")" = 0 ]; }
sum() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
view() { curl -s "$URL/v1/databases/Logs/cache" | jq -r "$1"; }
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
settled() { [ "$(view '.warming | .pending + .in_flight + .query_store.waiting')" = 0 ]; }
six_loaded() { [ "$(nloaded)" = 6 ]; }
seen_loaded() { [ "$(view .warming.query_store.loaded_extents)" = 6 ] && settled; }
wait_for "the six hot extents are loaded" 30 six_loaded
wait_for "... and the warmer has seen them loaded" 10 seen_loaded
check "the cold extent is neither cached nor loaded" test ! -e "$(object "$(sha cold)")"
A=$(sum "$CACHE/objects")
Q=$(sum "$QDIR")
ONE=$(((A + Q) / 6))
diag "artifacts $A bytes, query store $Q bytes ($(qq "SELECT sum(bytes) FROM qextents") loaded), one extent ~$ONE bytes in all"
check "the query store takes room beside the artifacts" test "$Q" -gt $((A / 4))
# near: the -shm index comes and goes with the connections
near() { [ $(($1 - $2)) -le 65536 ] && [ $(($2 - $1)) -le 65536 ]; }
# the warmer's count is as of its last scan; the WAL may be truncated since
counted() { near "$(sum "$QDIR")" "$(view .warming.query_store.bytes)"; }
metered() { near "$(sum "$QDIR")" "$(metric followerd_query_store_bytes)"; }
wait_for "the cache view counts the query store's bytes (about $Q)" 10 counted
wait_for "/metrics: followerd_query_store_bytes" 10 metered

# ---- a cold extent read through goes first ----
check_eq "a cold artifact is read through" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/artifacts/$(sha cold)")"
wait_for "... and its extent is loaded (visible, cached)" 20 loaded "$C"
LIM1=$((A + Q + ONE / 4))
conf "$LIM1" >"$CONF"
reload
wait_for "over the limit, the cold artifact goes though cache_demand_keep holds it" 20 \
	test ! -e "$(object "$(sha cold)")"
wait_for "... and its rows leave the query store" 20 not_loaded "$C"
for i in 1 2 3 4 5 6; do
	eval "x=\$X$i"
	check "... hot extent n$i stays cached and loaded" eval "test -e '$(object "$(sha n$i)")' && loaded $x"
done
check_eq "... no hot artifact is over the limit" 0 "$(view .warming.over_limit)"

# ---- artifacts alone fit, artifacts + query store do not ----
LIM2=$((A + Q - ONE * 3 / 2))
check "the limit holds the artifacts alone ($A <= $LIM2)" test "$A" -le "$LIM2"
conf "$LIM2" >"$CONF"
reload
within() { [ "$(sum "$CACHE")" -le "$LIM2" ] && settled; }
wait_for "the cache directory (objects and query store) comes within the limit" 30 within
diag "cache directory: $(sum "$CACHE") bytes (objects $(sum "$CACHE/objects"), query $(sum "$QDIR")), limit $LIM2"
check "the oldest hot extent went first: its artifact" test ! -e "$(object "$(sha n1)")"
check "... and its rows" not_loaded "$X1"
check "the newest stays cached and loaded" eval "test -e '$(object "$(sha n6)")' && loaded $X6"
check "the cache view reports hot artifacts over the limit" test "$(view .warming.over_limit)" -ge 1
used_within() { [ "$(metric followerd_cache_used_bytes)" -le "$LIM2" ]; }
wait_for "/metrics: followerd_cache_used_bytes within the limit" 10 used_within
check "... the query store's part of it" test "$(metric followerd_query_store_bytes)" -gt 0
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
