#!/usr/bin/env bash
# sync_rewind — the leader's history changes under the follower:
#  - an older copy of the leader is restored (version goes back): the follower
#    warns, resyncs from the checkpoint and holds exactly the old state;
#  - the database is dropped and recreated (another uuid, no checkpoint): the
#    follower warns and rebuilds it from the log at once;
#  - the log is vacuumed past what the follower applied while it was down: it
#    loads the newest checkpoint, then the log after it;
#  - a database dropped at the leader is detached.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 1000 >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'ts:datetime,msg:string' >/dev/null
for i in 1 2 3; do ingest "$L" Logs Events "a$i" >/dev/null; done
lc "$L" checkpoint Logs >/dev/null
ingest "$L" Logs Events a4 >/dev/null

{ daemon_conf; attach_conf logs "$L" Logs; } >"$CONF"
start_follower
wait_for "the follower catches up" 10 same_as_leader logs "$L" Logs
check_match "a first attach takes the checkpoint" '^[0-9]+ ckpt ' "$(history logs | head -1)"

# ---- an older copy of the leader comes back ----
cp -a "$L" "$T/backup"
old=$(leader_version "$L" Logs)
for i in 5 6 7; do ingest "$L" Logs Events "b$i" >/dev/null; done
lc "$L" alter-table Logs Events 'ts:datetime,msg:string,extra:int' >/dev/null
wait_for "the follower moves on" 10 same_as_leader logs "$L" Logs
newer=$(applied logs)
rm -rf "$L.gone" && mv "$L" "$L.gone" && cp -a "$T/backup" "$L"
wait_for "after a restore the follower holds the older state exactly" 10 same_as_leader logs "$L" Logs
check_eq "its applied version went back" "$old" "$(applied logs)"
check "it was at a newer version before" test "$newer" -gt "$old"
check_match "the rewind is logged as a warning" "^<4>logs: leader rewound.*version went back" "$(cat "$FLOG")"
check_match "the history shows the reload from a checkpoint" ' ckpt ' "$(history logs | tail -2 | head -1) $(history logs | tail -1)"

# ---- recreated under the same name: another uuid ----
stop_follower
lc "$L" drop-database Logs >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Other 'x:long' >/dev/null
ingest "$L" Logs Other c1 >/dev/null
uuid=$(lc "$L" show Logs --json | jq -r .database.uuid)
check_eq "the new database has no checkpoint yet" 0 "$(lc "$L" show Logs --json | jq -r .database.checkpoint)"
start_follower
wait_for "a recreated database is rebuilt from its log" 10 same_as_leader logs "$L" Logs
check_eq "the store follows the new uuid" "$uuid" "$(q "SELECT uuid FROM databases WHERE config='logs'")"
check_eq "nothing of the old history's tables is left" "Other" "$(q "SELECT group_concat(name) FROM entities")"
check_match "the uuid change is logged as a warning" "^<4>logs: leader rewound.*another uuid" "$(cat "$FLOG")"

# ---- the log is vacuumed past the follower while it is down ----
stop_follower
at=$(applied logs)
for i in 1 2 3 4 5 6 7; do ingest "$L" Logs Other "d$i" >/dev/null; done
lc "$L" checkpoint Logs >/dev/null
lc "$L" vacuum --log-retention 0 --grace 0 >/dev/null
ls=$(lc "$L" show Logs --json | jq -r .database.log_start)
cp=$(lc "$L" show Logs --json | jq -r .database.checkpoint)
check "the log no longer reaches back to the follower (log_start $ls > $at + 1)" test "$ls" -gt $((at + 1))
ingest "$L" Logs Other e1 >/dev/null
start_follower
wait_for "the follower loads the newest checkpoint, then the log" 10 same_as_leader logs "$L" Logs
check_match "the checkpoint is in the history" "^$cp ckpt " "$(history logs | grep -E "^$cp ")"
check_match "... and the commit after it" "^$((cp + 1)) commit \+1 -0" "$(history logs | tail -1)"

# ---- dropped at the leader ----
lc "$L" drop-database Logs >/dev/null
wait_for "a database dropped at the leader leaves the store" 10 not_in_store logs
check_match "the detach is logged" "logs: database detached.*dropped" "$(cat "$FLOG")"
wait_for "a configured database the leader does not name is a warning" 10 \
	grep -q "^<4>logs: sync failed: the leader's head does not name database 'Logs'" "$FLOG"
stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
out=$("$FOLLOWERD" --once -c "$CONF" 2>&1)
check_eq "--once: a database the leader does not name fails the run" 1 $?
check_match "... saying so" "sync engine failed: .*logs: the leader's head does not name database 'Logs'" "$out"
done_testing
