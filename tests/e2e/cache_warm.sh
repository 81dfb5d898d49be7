#!/usr/bin/env bash
# cache_warm — followerd keeps the artifact cache warm (lib/warm): the
# artifacts of hot extents end up in cache_dir/objects with their sha256 and
# are recorded cached in the store, cold ones are not fetched; a caching
# policy change makes the cold extent hot and it is fetched; two databases
# with an identical artifact share one file; an artifact corrupted on the
# leader is quarantined after WARM_MAX_FAILS (3) failed verifications and
# never lands in objects/.
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
	printf '%s,%s,%s\n' "$2" "$RANDOM" "$RANDOM" >"$T/$2.csv"
	lc "$L" ingest "$1" Events "$T/$2.csv" "${@:3}" >/dev/null
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

# ---- dedupe: a second database with the same artifact ----
lc "$L" create-database Other >/dev/null
lc "$L" create-table Other Events 'msg:string' >/dev/null
lc "$L" ingest Other Events "$T/hot.csv" >/dev/null
{ daemon_conf; attach_conf logs "$L" Logs; attach_conf other "$L" Other; } >"$CONF"
reload
wait_for "the second database is followed" 10 at_version other "$L" Other
newer=$(ingest_at Other newer)
wait_for "the second database's own artifact is cached" 10 cached_ok "$newer"
check_eq "the shared artifact is one file" 3 "$(find "$CACHE/objects" -type f | wc -l)"

# ---- a corrupted artifact is quarantined, never served ----
bad=$(ingest_at Logs bad)
f=$L/artifacts/${bad:0:2}/$bad
chmod u+w "$f" 2>/dev/null
printf 'XX' | dd of="$f" bs=1 seek=0 conv=notrunc status=none
quarantined() { [ "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$bad')")" = quarantined ]; }
wait_for "the corrupted artifact is quarantined after its retries" 20 quarantined
check_eq "... after 3 failures" 3 "$(q "SELECT fails FROM blobs WHERE hex(sha256) = upper('$bad')")"
check "... and never in objects/" test ! -e "$(object "$bad")"
check "... a copy is kept in quarantine/" test -f "$CACHE/quarantine/$bad"

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
