#!/usr/bin/env bash
# sync_typed — a leader with typed extents (ingest --format, plain, gzip and
# zstd, with column statistics; a checkpoint; generate --rows) stays
# followable: followerd applies its log and its checkpoint to the leader's
# version with every extent, and caches the typed artifacts like any other.
# (Loading their rows is the query store's job, tested with it.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v zstd >/dev/null || skip_all "zstd not installed (make test-deps)"

L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 4 >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Level:string,Latency:real' >/dev/null
printf '2026-01-02T03:04:05Z,Info,1.5\n2026-01-02T03:04:06Z,Error,\n' >"$T/a.csv"
gzip -c "$T/a.csv" >"$T/b.csv.gz"
zstd -q -c "$T/a.csv" >"$T/c.csv.zst"
for f in a.csv b.csv.gz c.csv.zst; do
	lc "$L" ingest Logs Events "$T/$f" --format csv >/dev/null || not_ok "ingest $f"
done
lc "$L" checkpoint Logs >/dev/null
lc "$L" generate Gen --tables 1 --extents 3 --rows 100 --gzip >/dev/null

{
	daemon_conf
	attach_conf logs "$L" Logs
	attach_conf gen "$L" Gen
} >"$CONF"
start_follower
wait_for "the typed leader's log and checkpoint are applied" 10 at_version logs "$L" Logs
check_eq "three extents of 2 rows" "3 6" \
	"$(q "SELECT extents || ' ' || rows FROM databases WHERE config='logs'")"
wait_for "a generated typed database (a checkpoint) is applied" 10 at_version gen "$L" Gen
check_eq "three extents of 100 rows" "3 300" \
	"$(q "SELECT extents || ' ' || rows FROM databases WHERE config='gen'")"
printf '2026-01-03,Info,2\n' >"$T/d.csv"
lc "$L" ingest Logs Events "$T/d.csv" --format csv >/dev/null
wait_for "a later typed commit arrives" 10 at_version logs "$L" Logs
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
if grep -qiE 'error|refused' "$FLOG"; then
	not_ok "no error in the follower's log"
	grep -iE 'error|refused' "$FLOG" | head -5 | sed 's/^/# /'
else
	ok "no error in the follower's log"
fi

done_testing
