#!/usr/bin/env bash
# followerctl — the CLI against a real followerd following a directory
# leader published with leaderctl: status (table and --json), show, history,
# explain, sync (an admin-only POST that makes the daemon poll at once),
# the exit codes (2 usage, 3 unsupported, 4 unreachable, 1 daemon error).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

CTL=$BUILD/followerctl
[ -x "$CTL" ] || skip_all "followerctl not built"
SOCK=$T/admin.sock
PORT=$(free_port)

L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'ts:datetime,msg:string' >/dev/null
ingest "$L" Logs Events a >/dev/null

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
printf 'aaduser=viewer@x %s\naaduser=admin@x %s\n' "$(sha tok-viewer)" "$(sha tok-admin)" >"$T/tokens"
chmod 600 "$T/tokens"
printf 'tok-viewer\n' >"$T/viewer.tok"
printf 'tok-admin\n' >"$T/admin.tok"

# A long poll interval: only `followerctl sync` makes the daemon look again
# within the test's deadlines.
{
	printf '[daemon]\nstate_dir = %s\ncache_dir = %s\npoll_interval = 1h\n' "$STATE" "$T/cache"
	printf 'follower_name = %s\nlog_level = info\n' "$FOLLOWER_NAME"
	printf 'listen = 127.0.0.1:%s\nadmin_socket = %s\n' "$PORT" "$SOCK"
	printf 'tokens_file = %s\n\n' "$T/tokens"
	attach_conf logs "$L" Logs 'viewers = aaduser=viewer@x' 'admins = aaduser=admin@x'
} >"$CONF"
start_follower
wait_port "$PORT" 10 || { diag "followerd did not listen"; tail -5 "$FLOG" | sed 's/^/# /'; exit 1; }
ctl() { "$CTL" -c "$CONF" "$@"; }

wait_for "the first version is applied" 10 at_version logs "$L" Logs
V1=$(leader_version "$L" Logs)

# ---- status ----
ctl status >"$T/status" 2>"$T/err"
check_eq "status exits 0" 0 $?
check_match "status has a header" '^DATABASE +LEADER +APPLIED/VISIBLE +LAG +STATE +HOT CACHED +CACHED +ERROR$' "$(head -1 "$T/status")"
check_match "status shows the database and its versions" "^Logs +$L/Logs +$V1/$V1 \(leader $V1\) +0 " \
	"$(sed -n 2p "$T/status")"
check_eq "status: one line per database" 2 "$(wc -l <"$T/status")"
col=$(head -1 "$T/status" | grep -bo 'LAG' | cut -d: -f1)
check_eq "status columns are aligned" "0" "$(sed -n 2p "$T/status" | cut -c$((col + 1)))"

ctl --json status >"$T/status.json"
check_eq "--json status is the daemon's JSON" "Logs $V1 $V1" \
	"$(jq -r '.databases[0] | "\(.name) \(.applied_version) \(.visible_version)"' "$T/status.json")"
check_eq "--socket PATH works as -c" "$(cat "$T/status")" "$("$CTL" --socket "$SOCK" status)"

viewer=(--url "http://127.0.0.1:$PORT" --token-file "$T/viewer.tok")
admin=(--url "http://127.0.0.1:$PORT" --token-file "$T/admin.tok")
check_eq "--url with a viewer's token shows the same status" "$(cat "$T/status")" "$("$CTL" "${viewer[@]}" status)"
"$CTL" --url "http://127.0.0.1:$PORT" status >/dev/null 2>"$T/err"
check_eq "--url without a token: exit 1" 1 $?
check_match "... the daemon's refusal" "Unauthorized" "$(cat "$T/err")"

# ---- show, history, explain ----
check_match "show follower database DB" "^applied_version +$V1\$" "$(ctl show follower database Logs | grep applied_version)"
check_eq "show --json" "Logs" "$(ctl --json show follower database Logs | jq -r .name)"
ctl history Logs >"$T/hist"
check_eq "history exits 0" 0 $?
check_match "history: newest version first" "^$V1 " "$(sed -n 2p "$T/hist")"
check_eq "history --json" "$V1" "$(ctl --json history Logs | jq '.history[0].version')"
check_eq "history --limit 1" 2 "$(ctl history Logs --limit 1 | wc -l)"
ctl explain Logs Events >"$T/explain"
check_eq "explain exits 0" 0 $?
check_match "explain names the effective policy" 'effective' "$(cat "$T/explain")"
check_match "explain lists the extent's hotness" ' (hot|cold)$' "$(tail -1 "$T/explain")"

# ---- sync: the daemon polls now despite the hour-long interval ----
ingest "$L" Logs Events b >/dev/null
V2=$(leader_version "$L" Logs)
ctl sync >"$T/sync" 2>"$T/err"
check_eq "sync (root on the admin socket) exits 0" 0 $?
wait_for "after sync the new version is applied" 10 at_version logs "$L" Logs
check_match "status shows the new version" "^Logs +$L/Logs +$V2/$V2 " "$(ctl status | sed -n 2p)"
check_eq "sync --json" true "$(ctl --json sync | jq .polling)"
"$CTL" "${viewer[@]}" sync >/dev/null 2>"$T/err"
check_eq "sync by a viewer: exit 1" 1 $?
check_match "... forbidden" "Forbidden: aaduser=viewer@x may not control" "$(cat "$T/err")"
ingest "$L" Logs Events c >/dev/null
"$CTL" "${admin[@]}" sync >/dev/null 2>"$T/err"
check_eq "sync by an admin of every database exits 0" 0 $?
wait_for "... and the next version is applied" 10 at_version logs "$L" Logs

# ---- explain: an old extent is cold under the leader's table policy ----
lc "$L" set-caching-policy Logs --table Events 1d >/dev/null
old=$(lc "$L" ingest Logs Events "$T/a.csv" --created-on 2020-01-01T00:00:00Z)
ctl sync >/dev/null
wait_for "the policy and the old extent arrive" 10 at_version logs "$L" Logs
ctl explain Logs Events >"$T/explain"
check_match "explain: the effective hot span and who decided it" \
	'^effective hot span: +1\.00:00:00 \(decided by: the leader.s table policy\)' "$(cat "$T/explain")"
check_match "explain: the old extent is cold" "^$old +2020-01-01T00:00:00(\.0+)?Z .* cold\$" "$(cat "$T/explain")"
check_eq "explain: the recent extents are hot" 3 "$(grep -c ' hot$' "$T/explain")"
check_eq "explain DB TABLE EXTENT: that extent alone" "1 cold" \
	"$(ctl explain Logs Events "$old" | grep -c "^$old") $(ctl explain Logs Events "$old" | tail -1 | awk '{print $NF}')"
check_eq "explain --json: the table's effective policy" "1.00:00:00" \
	"$(ctl --json explain Logs Events | jq -r .effective.hot_span)"
want=$(curl -s --unix-socket "$SOCK" http://x/v1/databases/Logs/extents |
	jq -r '[.extents[] | select(.hot) | .artifacts[]] | "\(map(select(.cache == "cached")) | length)/\(length)"')
hotcol=$(head -1 "$T/status" | grep -bo 'HOT CACHED' | cut -d: -f1)
check_match "status: HOT CACHED counts the hot extents' artifacts" "^$want " \
	"$(ctl status | sed -n 2p | cut -c$((hotcol + 1))-)"
all=$(curl -s --unix-socket "$SOCK" http://x/v1/databases/Logs/cache | jq .database.artifacts)
check "... not the cold one's (${want#*/} of $all artifacts)" test "${want#*/}" -gt 0 -a "${want#*/}" -lt "$all"
ctl explain Logs Events 00000000-0000-0000-0000-000000000000 >/dev/null 2>&1
check_eq "explain of an unknown extent: exit 1" 1 $?
ctl explain Logs Nope >/dev/null 2>&1
check_eq "explain of an unknown table: exit 1" 1 $?

# ---- errors ----
ctl history Nope >/dev/null 2>"$T/err"
check_eq "an unknown database: exit 1" 1 $?
check_match "... with the daemon's message" "NotFound: .*Nope" "$(cat "$T/err")"
ctl attach x >/dev/null 2>"$T/err"
check_eq "attach: exit 3" 3 $?
check_match "... not supported" "not supported by this followerd yet" "$(cat "$T/err")"
"$CTL" --socket "$T/none.sock" status >/dev/null 2>"$T/err"
check_eq "unreachable socket: exit 4" 4 $?
check_match "... with a clear message" "cannot reach followerd at $T/none.sock" "$(cat "$T/err")"
"$CTL" --url "http://127.0.0.1:$(free_port)" status >/dev/null 2>"$T/err"
check_eq "unreachable URL: exit 4" 4 $?
ctl >/dev/null 2>&1
check_eq "no command: exit 2" 2 $?
ctl frobnicate >/dev/null 2>&1
check_eq "an unknown command: exit 2" 2 $?
ctl history >/dev/null 2>&1
check_eq "history without DB: exit 2" 2 $?
ctl --bogus status >/dev/null 2>&1
check_eq "an unknown option: exit 2" 2 $?
"$CTL" --url ftp://x status >/dev/null 2>&1
check_eq "a URL that is not http(s): exit 2" 2 $?

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
