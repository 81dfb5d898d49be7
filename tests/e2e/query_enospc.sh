#!/usr/bin/env bash
# query_enospc — a full disk during a load (the cache on a small tmpfs):
# the load rolls back (nothing of the extent is kept), /metrics and the
# extents view say so, the rest keeps working, and once space returns the
# extent loads whole without anyone asking.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

SMALL=$T/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=6m tmpfs "$SMALL" 2>/dev/null || skip_all "cannot mount a tmpfs here (not root?)"
trap 'kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; umount -l "$SMALL"; _e2e_cleanup' EXIT

PORT=$(free_port)
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Message:string' >/dev/null
awk 'BEGIN { for (i = 0; i < 12000; i++) printf "2026-12-01T00:00:00Z,message %06d of some length to fill pages %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }' >"$T/big.csv"
X=$(lc "$L" ingest Logs Events "$T/big.csv" --format csv)
size=$(stat -c %s "$T/big.csv")
# Leave room for the cached artifact and a little more, not for its rows.
free=$(df -B1 --output=avail "$SMALL" | tail -1)
fallocate -l $((free - size - 300000)) "$SMALL/filler" 2>/dev/null ||
	dd if=/dev/zero of="$SMALL/filler" bs=1 count=0 seek=$((free - size - 300000)) 2>/dev/null
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" "cache_dir = $SMALL" "min_free_space = 0"
	attach_conf logs "$L" Logs
} | sed "s|^cache_dir = $T/cache$||" >"$CONF"
start_follower
wait_for "the store is at the leader's version" 20 at_version logs "$L" Logs
metrics() { curl -s "http://127.0.0.1:$PORT/metrics"; }
load_failed() { metrics | grep -qE 'followerd_query_loads_total\{result="error"\} [1-9]'; }
wait_for "the load fails for want of space, and /metrics counts it" 30 load_failed
state() { curl -s "http://127.0.0.1:$PORT/v1/databases/Logs/extents?table=Events" | jq -r '.extents[0].query.state'; }
check_eq "the extent is not loaded (nothing of it kept)" not_loaded "$(state)"
check_eq "no row of it is in the query store" 0 \
	"$(sqlite3 -readonly "$SMALL/query/1.db" 'SELECT count(*) FROM qextents' 2>/dev/null || echo 0)"
rm -f "$SMALL/filler"
loaded() { [ "$(state)" = loaded ]; }
wait_for "once space returns the extent loads by itself" 30 loaded
check_eq "...whole: 12,000 rows" 12000 "$(sqlite3 -readonly "$SMALL/query/1.db" 'SELECT rows FROM qextents')"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
