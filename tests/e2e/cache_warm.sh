#!/usr/bin/env bash
# cache_warm — followerd keeps the artifact cache warm (lib/warm): the
# artifacts of hot extents end up in cache_dir/objects with their sha256 and
# are recorded cached in the store, cold ones are not fetched; a caching
# policy change makes the cold extent hot and it is fetched; two databases
# with an identical artifact share one file; an artifact corrupted on the
# leader is quarantined after WARM_MAX_FAILS (3) failed verifications and
# never lands in objects/.  A hot span's end re-evaluates on a timer.  Eviction: a cold extent's artifact (policy
# change), a dropped extent's and a detached database's are removed unless a
# hot extent still holds them; cache_max_size keeps the newest hot artifacts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

L=$T/leader
CACHE=$T/cache
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'msg:string' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null

# ingest_at DB FILE_TAG [LEADERCTL_ARGS...]: one extent with a fresh artifact;
# prints the artifact's sha256.
ingest_at() {
	printf '%s,%05d,%05d\n' "$2" "$RANDOM" "$RANDOM" >"$T/$2.csv"
	lc "$L" ingest "$1" Events "$T/$2.csv" "${@:3}" >"$T/$2.id"
	sha256sum "$T/$2.csv" | cut -d' ' -f1
}

# object SHA: the cache path of an artifact.
object() { echo "$CACHE/objects/${1:0:2}/$1"; }

# cached_ok SHA: the object is there with the right digest and the store says cached.
cached_ok() {
	[ -f "$(object "$1")" ] || return 1
	[ "$(sha256sum "$(object "$1")" | cut -d' ' -f1)" = "$1" ] || return 1
	[ "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$1')")" = cached ]
}

hot=$(ingest_at Logs hot)
cold=$(ingest_at Logs cold --created-on 2020-01-01T00:00:00Z)

{ daemon_conf; attach_conf logs "$L" Logs; } >"$CONF"
start_follower

wait_for "the hot artifact is cached, verified, recorded" 10 cached_ok "$hot"
wait_for "the store is at the leader's version" 10 at_version logs "$L" Logs
check "the cold artifact is not fetched" test ! -e "$(object "$cold")"
check_eq "nothing is left in tmp/" "" "$(ls "$CACHE/tmp")"

# ---- a policy change makes the cold extent hot ----
lc "$L" set-caching-policy Logs none >/dev/null
wait_for "with no policy everything is hot: the old extent is fetched" 10 cached_ok "$cold"

# evicted SHA: no object, and the store no longer says cached.
evicted() {
	[ ! -e "$(object "$1")" ] &&
		[ "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$1')")" != cached ]
}

lc "$L" set-caching-policy Logs 7d >/dev/null
wait_for "back to 7d: the cold artifact is evicted" 10 evicted "$cold"
check "... the hot one stays" cached_ok "$hot"

# ---- time alone makes an extent cold (the policy_next_change timer) ----
lc "$L" create-table Logs Short 'msg:string' >/dev/null
lc "$L" set-caching-policy Logs --table Short 00:00:10 >/dev/null
printf 'short,%05d\n' "$RANDOM" >"$T/short.csv"
short=$(sha256sum "$T/short.csv" | cut -d' ' -f1)
lc "$L" ingest Logs Short "$T/short.csv" >/dev/null
wait_for "an extent hot for 10 s is cached" 10 cached_ok "$short"
v=$(applied logs)
wait_for "... and evicted once it turns cold, with no leader change" 20 evicted "$short"
check_eq "... (the leader did not move)" "$v" "$(applied logs)"

# ---- dedupe: a second database with the same artifact ----
lc "$L" create-database Other >/dev/null
lc "$L" create-table Other Events 'msg:string' >/dev/null
lc "$L" ingest Other Events "$T/hot.csv" >/dev/null
{ daemon_conf; attach_conf logs "$L" Logs; attach_conf other "$L" Other; } >"$CONF"
reload
wait_for "the second database is followed" 10 at_version other "$L" Other
newer=$(ingest_at Other newer)
wait_for "the second database's own artifact is cached" 10 cached_ok "$newer"
check_eq "the shared artifact is one file" 2 "$(find "$CACHE/objects" -type f | wc -l)"

# ---- dropped extents and detached databases ----
lc "$L" drop-extents Other "$(cat "$T/newer.id")" >/dev/null
wait_for "a dropped extent's artifact is evicted" 10 evicted "$newer"
lc "$L" drop-extents Logs "$(cat "$T/hot.id")" >/dev/null
wait_for "the first database dropped the shared artifact's extent" 10 at_version logs "$L" Logs
check "an artifact the other database holds hot stays" cached_ok "$hot"
{ daemon_conf; attach_conf logs "$L" Logs; } >"$CONF"
reload
wait_for "once its last database is detached it is evicted" 10 evicted "$hot"

# ---- a corrupted artifact is quarantined, never served ----
# (corrupted while the follower is stopped: it must never see the good bytes)
stop_follower
bad=$(ingest_at Logs bad)
f=$L/artifacts/${bad:0:2}/$bad
chmod u+w "$f" 2>/dev/null
printf 'XX' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
start_follower
quarantined() { [ "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$bad')")" = quarantined ]; }
wait_for "the corrupted artifact is quarantined after its retries" 20 quarantined
check_eq "... after 3 failures" 3 "$(q "SELECT fails FROM blobs WHERE hex(sha256) = upper('$bad')")"
check "... and never in objects/" test ! -e "$(object "$bad")"
check "... a copy is kept in quarantine/" test -f "$CACHE/quarantine/$bad"

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
bsize=$(stat -c %s "$T/bad.csv")
check_eq "warm_status: the quarantined artifact is the only hot one, not pending" \
	"logs hot=1/$bsize cached=0/0 pending=0 in_flight=0 failed=0 quarantined=1 over_limit=0" \
	"$("$TOOLS/warmstat" "$CONF")"

# ---- cache_max_size: the newest hot artifacts that fit ----
n1=$(ingest_at Logs n1 --created-on "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)")
n2=$(ingest_at Logs n2 --created-on "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)")
n3=$(ingest_at Logs n3 --created-on "$(date -u -d '-1 hours' +%Y-%m-%dT%H:%M:%SZ)")
sz=$(stat -c %s "$T/n3.csv")
PORT=$(free_port)
{
	daemon_conf "cache_max_size = $((sz * 2 + 1))" "listen = 127.0.0.1:$PORT" "allow_anonymous = true"
	attach_conf logs "$L" Logs
} >"$CONF"
: >"$FLOG"
start_follower
wait_for "the two newest fit under cache_max_size" 10 cached_ok "$n3"
wait_for "... the second newest too" 10 cached_ok "$n2"
wait_for "... the oldest is not in the cache" 10 test ! -e "$(object "$n1")"
check "... so the cache holds at most the limit" test "$(cat "$CACHE"/objects/*/* | wc -c)" -le $((sz * 2 + 1))

# ---- the live counts, from the daemon: the cache view and /metrics ----
warming() { curl -s "http://127.0.0.1:$PORT/v1/databases/Logs/cache" | jq -c "$1"; }
settled() { [ "$(warming '.warming | .pending + .in_flight')" = 0 ] && [ "$(warming '.warming.over_limit')" = 1 ]; }
wait_for "the cache view's warming counts settle" 10 settled
check_eq "... hot, cached, over the limit, quarantined" \
	"[4,$((sz * 3 + bsize)),2,$((sz * 2)),1,1]" \
	"$(warming '.warming | [.hot_files, .hot_bytes, .cached_files, .cached_bytes, .over_limit, .quarantined]')"
check_eq "... per table: Events holds them all, Short none" "[4,2,0]" \
	"$(warming '.warming.tables | [.Events.hot_files, .Events.cached_files, .Short.hot_files]')"
curl -s "http://127.0.0.1:$PORT/metrics" >"$T/metrics"
# two downloads at least (n1 too when a scan saw it before n2 and n3 were
# applied: it is evicted again), each of sz bytes, every one a success
okn=$(awk '/^followerd_fetch_artifacts_total\{result="ok"\}/ {print $2}' "$T/metrics")
check "/metrics: the downloads of this run (2 or 3: $okn)" test "${okn:-0}" -ge 2 -a "${okn:-0}" -le 3
check_eq "... their bytes" "followerd_fetch_bytes_total $((sz * okn))" "$(grep '^followerd_fetch_bytes_total' "$T/metrics")"
check_match "... the last sync step's time" '^followerd_database_sync_step_seconds\{database="Logs"\} [0-9]+\.[0-9]{3}$' \
	"$(grep '^followerd_database_sync_step_seconds' "$T/metrics")"
check_eq "... no failed download" 'followerd_fetch_artifacts_total{result="error"} 0' \
	"$(grep '^followerd_fetch_artifacts_total{result="error"}' "$T/metrics")"
check_eq "... evictions: n1 when it was fetched" "followerd_cache_evicted_total $((okn - 2))" \
	"$(grep '^followerd_cache_evicted_total' "$T/metrics")"
check_eq "... the hot bytes not cached: hot minus cached" \
	"$((sz * 3 + bsize)) $((sz * 2))" \
	"$(awk '/^followerd_database_hot_bytes\{database="Logs"\}/ {a = $2} /^followerd_database_hot_cached_bytes\{database="Logs"\}/ {b = $2} END {print a, b}' "$T/metrics")"
stop_follower
check_eq "warm_status: two cached, one over the limit, one quarantined" \
	"logs hot=4/$((sz * 3 + bsize)) cached=2/$((sz * 2)) pending=0 in_flight=0 failed=0 quarantined=1 over_limit=1" \
	"$("$TOOLS/warmstat" "$CONF")"
done_testing
