#!/usr/bin/env bash
# sync_azure — followerd follows leaders published to Azure Blob Storage
# (Azurite): one with the account's Shared Key, one under a prefix with a
# read-only SAS token; through the log and a checkpoint.  A wrong key makes --once exit non-zero with
# the reason, never the key, in the log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
[ -x "$TOOLS/aztool" ] || skip_all "aztool not built"
start_azurite
printf '%s\n' "$AZ_KEY" >"$T/key"
chmod 600 "$T/key"

KEYED=$AZ_URL/keyed
PREFIXED=$AZ_URL/sas/env/prod
az_create_container keyed >/dev/null
az_create_container sas >/dev/null
"$TOOLS/aztool" --account-key "$AZ_KEY" sas "$AZ_URL/sas" racwdl 600 >"$T/sas-rw"
"$TOOLS/aztool" --account-key "$AZ_KEY" sas "$AZ_URL/sas" rl 600 >"$T/sas-ro"
chmod 600 "$T/sas-rw" "$T/sas-ro"

lk() { "$LEADERCTL" -C "$KEYED" --account-key-file "$T/key" "$@"; }
ls_() { "$LEADERCTL" -C "$PREFIXED" --sas-token-file "$T/sas-rw" "$@"; }
# The store's state against a leader read through leaderctl CMD.
same_as() {
	local cfg=$1 cmd=$2 db=$3
	[ "$(applied "$cfg")" = "$($cmd show "$db" --json | jq -r .database.version)" ] || return 1
	diff <("$TOOLS/storedump" "$STORE" dump "$cfg" | norm) <($cmd dump "$db" | norm) >"$T/diff.out"
}

lk init >/dev/null
lk create-database Logs >/dev/null
lk create-table Logs Events 'msg:string' >/dev/null
printf 'a\n' >"$T/a.csv"
lk ingest Logs Events "$T/a.csv" >/dev/null
ls_ init >/dev/null
ls_ generate Gen --tables 2 --extents 3000 >/dev/null

{
	daemon_conf
	attach_conf keyed "$KEYED" Logs "account_key_file = $T/key"
	attach_conf viasas "$PREFIXED" Gen "sas_token_file = $T/sas-ro" 'local_name = Gen'
} >"$CONF"
start_follower
wait_for "Shared Key: the log is followed" 20 same_as keyed lk Logs
wait_for "read-only SAS under a prefix: the checkpoint is loaded" 20 same_as viasas ls_ Gen
check_match "... from its checkpoint" '^1 ckpt \+3000 ' "$(history viasas)"

printf 'b\n' >"$T/b.csv"
lk ingest Logs Events "$T/b.csv" >/dev/null
ls_ generate Gen --commit-extents 500 >/dev/null
wait_for "new commits arrive from both" 20 same_as keyed lk Logs
wait_for "... 500 more extents" 20 same_as viasas ls_ Gen

check_eq "no error kept" "" "$(q "SELECT group_concat(last_error) FROM databases")"

stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"

# ---- --once with a wrong key ----
before=$(applied keyed)
wrong=$(printf '%s' "$AZ_KEY" | tr 'A-Za-z' 'B-ZAb-za')
printf '%s\n' "$wrong" >"$T/wrong"
chmod 600 "$T/wrong"
{ daemon_conf; attach_conf keyed "$KEYED" Logs "account_key_file = $T/wrong"; } >"$CONF"
out=$("$FOLLOWERD" --once -c "$CONF" 2>&1)
check_eq "--once with a wrong key exits 1" 1 $?
check_match "... and logs why (403)" '^<3>sync engine failed: .*keyed: leader unreachable: .*403' "$out"
check_fails "... without the key" grep -qF "$wrong" <<<"$out"
check_eq "the previous state is kept" "$before" "$(applied keyed)"
{ daemon_conf; attach_conf keyed "$KEYED" Logs "account_key_file = $T/key"; } >"$CONF"
out=$("$FOLLOWERD" --once -c "$CONF" 2>&1)
check_eq "--once with the right key exits 0" 0 $?
check "... and the state is the leader's" same_as keyed lk Logs
done_testing
