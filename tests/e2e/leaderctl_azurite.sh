#!/usr/bin/env bash
# leaderctl on Azure Blob Storage (Azurite): the core flow — init, database,
# tables, ingest, merge, drop, policies, principals, checkpoints, verify,
# vacuum — once with the account's Shared Key and once with a SAS token, and
# the errors a user sees: wrong key, read-only SAS, unreachable endpoint, a
# container that holds no leader.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
[ -x "$TOOLS/aztool" ] || { not_ok "aztool is built ($TOOLS/aztool)"; done_testing; }
start_azurite
# Azurite takes minutes to stop on SIGTERM; its data is in $T anyway.
AZ_PID=${_pids[${#_pids[@]} - 1]}
trap 'kill -9 "$AZ_PID" 2>/dev/null; _e2e_cleanup' EXIT
printf '%s\n' "$AZ_KEY" >"$T/key"
chmod 600 "$T/key"

# core_flow NAME URL AUTH...: the whole flow against one leader root.
core_flow() {
	local name=$1 url=$2
	shift 2
	local auth=("$@")
	lc() { "$LEADERCTL" -C "$url" "${auth[@]}" "$@"; }
	field() { lc show --json | jq -r ".databases[] | select(.name == \"$1\") | .$2"; }

	check "$name: init" lc init --checkpoint-interval 3
	check_fails "$name: init again is refused" lc init
	check "$name: create-database" lc create-database Logs
	check "$name: create-table" lc create-table Logs Events 'Timestamp:datetime,Message:string'
	check "$name: create-external-table" lc create-external-table Logs Ext 'a:string' --location https://x/y
	check "$name: create-materialized-view" lc create-materialized-view Logs V 'n:long' --source Events --query 'Events | count'
	for i in 1 2 3; do printf '%s row\n%s row\n' "$name$i" "$i" >"$T/$name$i.csv"; done
	local e1 e2 e3 m
	e1=$(lc ingest Logs Events "$T/${name}1.csv" --tags t1)
	e2=$(lc ingest Logs Events "$T/${name}2.csv")
	e3=$(lc ingest Logs Events "$T/${name}3.csv")
	check_match "$name: ingest prints ids" '^[0-9a-f-]{36}$' "$e3"
	m=$(lc merge-extents Logs "$e1" "$e2")
	check_match "$name: merge-extents" '^[0-9a-f-]{36}$' "$m"
	check "$name: drop-extents" lc drop-extents Logs "$e3"
	check_fails "$name: drop of a missing extent is refused" lc drop-extents Logs "$e3"
	check_eq "$name: ... clearly" "leaderctl: drop-extents: extent $e3 not found in database Logs" "$(cat "$T/last.out")"
	check "$name: caching policy" lc set-caching-policy Logs --table Events 3d
	check "$name: retention policy" lc set-retention-policy Logs 10d
	check "$name: add-principal" lc add-principal Logs users aaduser=carol@contoso.com --name Carol
	check "$name: detach-follower" lc detach-follower Logs eu-1
	lc show Logs --json >"$T/$name.show"
	check_eq "$name: one extent of 4 rows, policies, principal" "1 4 3.00:00:00 10.00:00:00 Carol" \
		"$(jq -r '"\(.counts.extents) \(.counts.rows) \(.entities[0].caching.hot_span) \(.retention.soft_delete) \(.principals.users[0].name)"' "$T/$name.show")"
	local version ckpt
	version=$(field Logs version)
	ckpt=$(field Logs checkpoint)
	check_eq "$name: a checkpoint every 3 commits" "$((version / 3 * 3))" "$ckpt"
	local manifest
	manifest="db/$(field Logs uuid)/checkpoint/$(printf %020d "$ckpt")/manifest.json"
	check_eq "$name: the checkpoint's manifest is a blob" "$manifest" \
		"$("$TOOLS/aztool" --account-key "$AZ_KEY" list "$url" "$manifest" | cut -f1)"
	lc dump Logs | sort >"$T/$name.ck"
	lc dump Logs --replay | sort >"$T/$name.log"
	check "$name: checkpoint + log gives the state the whole log gives" cmp "$T/$name.ck" "$T/$name.log"
	check "$name: verify passes" lc verify
	check "$name: vacuum" lc vacuum --log-retention 0 --grace 0
	check_eq "$name: the log starts after the checkpoint" "$((ckpt + 1))" "$(field Logs log_start)"
	check "$name: verify passes after vacuum" lc verify
	lc dump Logs | sort >"$T/$name.after"
	check "$name: the state is unchanged by vacuum" cmp "$T/$name.ck" "$T/$name.after"
	check_eq "$name: log lines from log_start" "$((version - ckpt))" "$(lc log Logs | wc -l)"
}

# --- with the Shared Key ---
check "create the container" az_create_container leader
core_flow key "$AZ_URL/leader" --account-key-file "$T/key"

# A corrupt artifact is found (replace a blob with other bytes of the same size).
lk() { "$LEADERCTL" -C "$AZ_URL/leader" --account-key-file "$T/key" "$@"; }
blob=$(lk dump Logs | jq -r 'select(.op == "add_extents") | .extents[0].artifacts[0].path' | head -1)
size=$(lk dump Logs | jq -r 'select(.op == "add_extents") | .extents[0].artifacts[0].size' | head -1)
head -c "$size" /dev/zero >"$T/zeros"
"$TOOLS/aztool" --account-key "$AZ_KEY" put "$AZ_URL/leader" "$blob" "$T/zeros"
check_fails "verify fails on a corrupt artifact" lk verify
check_match "... naming it" "^$blob: sha256 [0-9a-f]{64} where extent" "$(cat "$T/last.out")"
head -c "$((size + 1))" /dev/zero >"$T/zeros"
"$TOOLS/aztool" --account-key "$AZ_KEY" put "$AZ_URL/leader" "$blob" "$T/zeros"
check_fails "verify fails on an artifact larger than its extent says" lk verify
check_match "... naming it" "^$blob: larger than the $size bytes extent" "$(cat "$T/last.out")"
# verify streams a blob: a 96 MiB one is never held whole.
if [ -x /usr/bin/time ]; then
	head -c $((96 << 20)) /dev/urandom >"$T/big.bin"
	check "ingest a 96 MiB artifact" lk ingest Logs Events "$T/big.bin"
	/usr/bin/time -f '%M' -o "$T/verify.rss" "$LEADERCTL" -C "$AZ_URL/leader" --account-key-file "$T/key" verify >"$T/last.out" 2>&1
	check_match "verify reads it (only the corrupt one is a problem)" "1 problem found" "$(cat "$T/last.out")"
	rss=$(tail -1 "$T/verify.rss") # after "Command exited with non-zero status 1"
	check_eq "... in less than 48 MiB of memory" yes "$([ "$rss" -lt 49152 ] && echo yes || echo "no: $rss KiB")"
	rm -f "$T/big.bin"
else
	skip "verify streams in bounded memory: /usr/bin/time not installed (make test-deps)"
fi

# --- with a SAS token, under a prefix of another container ---
check "create a second container" az_create_container sas
"$TOOLS/aztool" --account-key "$AZ_KEY" sas "$AZ_URL/sas" racwdl 600 >"$T/sas"
check_match "a SAS token is minted" '^sv=' "$(cat "$T/sas")"
core_flow sas "$AZ_URL/sas/env/prod" --sas-token-file "$T/sas"

# --- errors ---
wrong=$(printf '%s' "$AZ_KEY" | tr 'A-Za-z' 'B-ZAb-za')
printf '%s\n' "$wrong" >"$T/wrong"
check_fails "a wrong account key" "$LEADERCTL" -C "$AZ_URL/leader" --account-key-file "$T/wrong" create-database X
check_match "... one line saying access was refused" "^leaderctl: create-database: .*403" "$(cat "$T/last.out")"
check_eq "... exactly one line" 1 "$(wc -l <"$T/last.out")"
check_fails "... without the key in it" grep -qF "$wrong" "$T/last.out"
check_eq "... and exit status 1" 1 "$("$LEADERCTL" -C "$AZ_URL/leader" --account-key-file "$T/wrong" show >/dev/null 2>&1; echo $?)"
"$TOOLS/aztool" --account-key "$AZ_KEY" sas "$AZ_URL/sas" rl 600 >"$T/ro"
check "a read-only SAS can show" "$LEADERCTL" -C "$AZ_URL/sas/env/prod" --sas-token-file "$T/ro" show
check_fails "... but not commit" "$LEADERCTL" -C "$AZ_URL/sas/env/prod" --sas-token-file "$T/ro" create-database Y
check_match "... with a clear refusal" "^leaderctl: create-database: .*403" "$(cat "$T/last.out")"
check_fails "a container with no leader" "$LEADERCTL" -C "$AZ_URL/sas/other" --account-key-file "$T/key" show
check_match "... is not a leader" "not a leader \(no head.json; run 'leaderctl init'\)" "$(cat "$T/last.out")"
dead=$(free_port)
check_fails "an unreachable endpoint" "$LEADERCTL" -C "http://127.0.0.1:$dead/devstoreaccount1/leader" --account-key-file "$T/key" show
check_match "... says so in one line" "^leaderctl: show: .*(connect|Couldn't)" "$(cat "$T/last.out")"
check_fails "a key file that does not exist" "$LEADERCTL" -C "$AZ_URL/leader" --account-key-file "$T/nokey" show
check_eq "... names it" "leaderctl: $T/nokey: No such file or directory" "$(cat "$T/last.out")"

done_testing
