#!/usr/bin/env bash
# cache_window — the warmer admits a window of downloads, not every wanted
# artifact at once: at most 8 per fetch slot hold a .part file (and its
# descriptor) while the rest wait in their leader host's queue, newest
# first.  A read-through request for an artifact still waiting goes to the
# front: it is served long before the warm reaches it.  The leader is a
# directory served by faultserver, which answers each artifact 100 ms late.
# A reload with more fetch slots widens the window.  An artifact fetched for a
# request stays cached for cache_demand_keep, though cold, then is evicted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"
command -v curl >/dev/null || skip_all "curl not installed"

N=100     # generated extents, hot (no caching policy)
WINDOW=16 # 8 x fetch_concurrency (2)
L=$T/leader
CACHE=$T/cache
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" generate Logs --tables 1 --extents "$N" --artifact-size 2048 >/dev/null
table=$(lc "$L" show Logs --json | jq -r '.entities[0].name')
# the oldest extent: the lowest priority, the last the warm would fetch
head -c 3000 /dev/urandom >"$T/old.bin"
lc "$L" ingest Logs "$table" "$T/old.bin" --created-on 2020-01-01T00:00:00Z >/dev/null
old=$(sha256sum "$T/old.bin" | cut -d' ' -f1)
total=$((N + 1))

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
FS=http://127.0.0.1:$(cat "$T/fs.port")
curl -sf -d '/artifacts/* * delay 100' "$FS/_fault" >/dev/null || diag "could not add the rule"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" \
		"fetch_concurrency = 2" "fetch_concurrency_per_leader = 2"
	attach_conf logs "$FS" Logs
} >"$CONF"
start_follower

# cached: how many artifacts the store records cached (0 while it is busy)
cached() {
	local n
	n=$(q "SELECT count(*) FROM blobs WHERE state = 'cached'")
	echo "${n:-0}"
}
all_cached() { [ "$(cached)" -eq "$total" ]; }
warming() { [ "$(cached)" -ge 1 ]; }

# sample: the most .part files and descriptors seen until all are cached
# (or 30 s), as "PARTS FDS" in $T/max.
sample() {
	local p f max_parts=0 max_fds=0 deadline=$((SECONDS + 30))
	while [ "$(cached)" -lt "$total" ] && [ "$SECONDS" -lt "$deadline" ]; do
		p=$(find "$CACHE/tmp" -name '*.part' 2>/dev/null | wc -l)
		f=$(find "/proc/$FPID/fd" -mindepth 1 2>/dev/null | wc -l)
		[ "$p" -le "$max_parts" ] || max_parts=$p
		[ "$f" -le "$max_fds" ] || max_fds=$f
		sleep 0.05
	done
	echo "$max_parts $max_fds" >"$T/max"
}
sample &
sampler=$!
wait_for "the warm has begun" 10 warming

# ---- a waiting artifact asked for goes first ----
t0=$(date +%s%N)
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 "$URL/v1/artifacts/$old")
ms=$((($(date +%s%N) - t0) / 1000000))
done_then=$(cached)
check_eq "the oldest artifact, asked for: 200, byte-exact" "200 $old" \
	"$code $(sha256sum <"$T/body" | cut -d' ' -f1)"
diag "served in $ms ms, with $done_then of $total cached"
check "... within 2 s (the warm alone needs ~$((total * 100 / 2 / 1000)) s)" test "$ms" -lt 2000
check "... before the warm got to it ($done_then of $total cached then)" \
	test "$done_then" -lt $((total - 10))

# ---- the status: the window is in flight, the rest pending ----
counts=$(curl -s "$URL/v1/databases/Logs/cache" | jq -r '.warming | "\(.in_flight) \(.pending)"')
read -r in_flight pending <<<"$counts"
diag "mid-warm: in_flight=$in_flight pending=$pending"
check "mid-warm, in flight: the admitted ones (1..$WINDOW)" \
	test "${in_flight:-0}" -ge 1 -a "${in_flight:-99}" -le "$WINDOW"
check "... and the waiting ones are pending" test "${pending:-0}" -gt 10

# ---- the window: .part files and descriptors stay bounded ----
wait_for "every artifact ends up cached" 30 all_cached
wait "$sampler"
read -r max_parts max_fds <"$T/max"
diag "at most $max_parts .part files and $max_fds descriptors while warming"
check "at most $WINDOW .part files at once (of $total wanted)" test "$max_parts" -le "$WINDOW"
check "... and the window was used (more than the 2 transfers)" test "$max_parts" -gt 2
check "descriptors stay bounded too (< $total)" test "$max_fds" -lt "$total"
check_eq "nothing is left in tmp/" "" "$(ls "$CACHE/tmp")"

# ---- a reload to 4 slots widens the window (and the fetch limits) ----
lc "$L" generate Logs2 --tables 1 --extents 100 --artifact-size 2048 >/dev/null
# and a database with nothing hot, for cache_demand_keep below
lc "$L" create-database Cold >/dev/null
lc "$L" create-table Cold T 'a:string' >/dev/null
lc "$L" set-caching-policy Cold 0d >/dev/null
head -c 5000 /dev/urandom >"$T/cold.bin"
lc "$L" ingest Cold T "$T/cold.bin" >/dev/null
cold=$(sha256sum "$T/cold.bin" | cut -d' ' -f1)
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" \
		"fetch_concurrency = 4" "fetch_concurrency_per_leader = 4" "cache_demand_keep = 2s"
	attach_conf logs "$FS" Logs
	attach_conf logs2 "$FS" Logs2
	attach_conf cold "$FS" Cold
} >"$CONF"
total=$((total + 100))
sample &
sampler=$!
reload
wait_for "after a reload, the new database's artifacts are cached too" 30 all_cached
wait "$sampler"
read -r max_parts max_fds <"$T/max"
diag "at most $max_parts .part files and $max_fds descriptors with 4 slots"
check "more than 16 .part files at once: the window grew" test "$max_parts" -gt 16
check "... to at most 32" test "$max_parts" -le 32

# ---- a read-through artifact stays cache_demand_keep, then goes ----
object() { echo "$CACHE/objects/${1:0:2}/$1"; }
cold_in() { [ -n "$(q "SELECT 1 FROM databases WHERE config = 'cold'")" ]; }
wait_for "the cold database is followed" 10 cold_in
check_eq "the cold artifact is not warmed" "" "$(ls "$(object "$cold")" 2>/dev/null)"
check_eq "asked for, it is served: 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/v1/artifacts/$cold")"
t0=$SECONDS
check "... and kept in the cache, though cold" test -f "$(object "$cold")"
gone() { [ ! -e "$(object "$1")" ]; }
wait_for "... evicted once cache_demand_keep (2 s) is up" 15 gone "$cold"
check "... not before ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -ge 1

stop_follower
check_eq "followerd stopped cleanly" 0 "$FRC"
done_testing
