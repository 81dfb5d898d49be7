#!/usr/bin/env bash
# followerctl — the CLI against a real followerd following a directory
# leader published with leaderctl: status (table and --json), show, history,
# explain, sync (an admin-only POST that makes the daemon poll at once),
# warm (the hot set fetched now: plain lines, a terminal's progress bar, the
# verdict), alter (the Kusto follower commands through /v1/rest/mgmt),
# attach/detach (the attachments API), the exit codes (2 usage, 4
# unreachable, 1 daemon error).
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

# ---- warm: the hot set is fetched now, with progress ----
CACHE=$T/cache
view() { curl -s --unix-socket "$SOCK" "http://x/v1/databases/Logs/$1"; }
settled() { [ "$(view cache | jq '.warming | .pending + .in_flight')" = 0 ]; }
wait_for "the daemon's own warming settles" 10 settled
hot=$(view extents | jq -r '[.extents[] | select(.hot) | .artifacts[].sha256] | unique[]')
check "there are hot artifacts, all cached" test -n "$hot" -a -z "$(for h in $hot; do
	[ -f "$CACHE/objects/${h:0:2}/$h" ] || echo "$h"; done)"
lost=$(printf '%s\n' $hot | head -1)
rm "$CACHE/objects/${lost:0:2}/$lost"
ctl warm Logs >"$T/warm" 2>"$T/err"
check_eq "warm exits 0 once the hot set is cached" 0 $?
check "... the lost artifact is back in the cache" test -f "$CACHE/objects/${lost:0:2}/$lost"
check "... its bytes are the leader's" cmp -s "$CACHE/objects/${lost:0:2}/$lost" "$L/artifacts/${lost:0:2}/$lost"
nhot=$(printf '%s\n' $hot | wc -l)
check_match "... not a terminal: plain lines, the last one all cached" \
	"^Logs: $nhot/$nhot files, .* cached, 0 in flight, 0 failed, 0 quarantined, 0 over the limit\$" \
	"$(tail -1 "$T/warm")"
check_eq "... nothing on stderr" "" "$(cat "$T/err")"
check_eq "warm --json: the cache view at the end" "0 $nhot" \
	"$(ctl --json warm Logs | jq -r '.warming | "\(.pending) \(.cached_files)"')"
check_match "warm DB TABLE: the table's hot set" "^Events: $nhot/$nhot files" "$(ctl warm Logs Events | tail -1)"
ctl warm Logs Nope >/dev/null 2>"$T/err"
check_eq "warm of an unknown table: exit 1" 1 $?
check_match "... NotFound" "NotFound: .*no table 'Nope'" "$(cat "$T/err")"
"$CTL" "${viewer[@]}" warm Logs >/dev/null 2>"$T/err"
check_eq "warm by a viewer: exit 1, forbidden" "1 1" "$? $(grep -c Forbidden "$T/err")"
if command -v script >/dev/null; then
	rm "$CACHE/objects/${lost:0:2}/$lost"
	script -qec "$CTL -c $CONF warm Logs" /dev/null >"$T/tty" 2>&1
	check_match "on a terminal: a progress bar with bytes, rate and ETA" \
		"Logs \[#+\] 100% .* B/s ETA .* \($nhot/$nhot files\)" "$(tr '\r' '\n' <"$T/tty" | grep -a '100%' | tail -1)"
else
	skip "the progress bar on a terminal: script(1) not installed"
fi
# an artifact corrupted at the leader cannot be cached: warm says so
printf '2026-11-22T00:00:00Z,corrupt\n' >"$T/bad.csv"
lc "$L" ingest Logs Events "$T/bad.csv" >/dev/null
bad=$(sha256sum "$T/bad.csv" | cut -d' ' -f1)
printf 'XX' | dd of="$L/artifacts/${bad:0:2}/$bad" bs=1 seek=0 conv=notrunc status=none
ctl sync >/dev/null
wait_for "the corrupt extent is applied" 10 at_version logs "$L" Logs
ctl warm Logs --timeout 20 >/dev/null 2>"$T/err"
check_eq "warm with an artifact that fails verification: exit 1" 1 $?
check_match "... and says why" "Logs: 1 hot artifact (failed to download|quarantined)" "$(cat "$T/err")"
check "... the bad bytes never reach the cache" test ! -e "$CACHE/objects/${bad:0:2}/$bad"

# ---- alter: the Kusto follower commands (--dry-run shows them) ----
check_eq "alter caching --hot" ".alter follower database Logs policy caching hot = 7d" \
	"$(ctl alter Logs caching --hot 7d --dry-run)"
check_eq "alter caching --table" ".alter follower database ['my db'] table Events policy caching hot = 1d" \
	"$(ctl alter 'my db' caching --hot 1d --table Events --dry-run)"
check_eq "alter caching --delete" ".delete follower database Logs policy caching" \
	"$(ctl alter Logs caching --delete --dry-run)"
check_eq "alter add viewers" ".add follower database Logs viewers ('aaduser=a@x', 'aaduser=o\\'b@x') 'why'" \
	"$(ctl alter Logs add viewers aaduser=a@x "aaduser=o'b@x" --notes why --dry-run)"
check_eq "alter drop admins" ".drop follower database Logs admins ('aaduser=a@x')" \
	"$(ctl alter Logs drop admins aaduser=a@x --dry-run)"
check_eq "alter principals-modification-kind" ".alter follower database Logs principals-modification-kind = union" \
	"$(ctl alter Logs principals-modification-kind Union --dry-run)"
check_eq "alter caching-policies-modification-kind" \
	".alter follower database Logs caching-policies-modification-kind = replace" \
	"$(ctl alter Logs caching-policies-modification-kind replace --dry-run)"
check_eq "alter prefetch" ".alter follower database Logs prefetch-extents = false" \
	"$(ctl alter Logs prefetch false --dry-run)"
check_eq "alter --dry-run --json: the request's body" "Logs|.alter follower database Logs prefetch-extents = true" \
	"$(ctl --json alter Logs prefetch true --dry-run | jq -r '"\(.db)|\(.csl)"')"
ctl alter Logs prefetch maybe >/dev/null 2>&1
check_eq "alter with a bad value: exit 2" 2 $?
ctl alter Logs add nobody x >/dev/null 2>&1
check_eq "alter add with an unknown role: exit 2" 2 $?
ctl alter Logs caching --hot 7d >"$T/out" 2>"$T/err"
check_eq "alter through /v1/rest/mgmt: exit 0" 0 $?
check_match "... the policy is the follower's now" '7\.00:00:00' \
	"$(ctl --json explain Logs Events | jq -r .effective.hot_span)"
ctl alter Logs add viewers aaduser=new@x --notes 'on call' >/dev/null
check_eq "alter add viewers: the principal is the follower's" 1 \
	"$(view principals | jq '[.follower | .. | strings | select(. == "aaduser=new@x")] | length')"
ctl alter Logs drop viewers aaduser=new@x >/dev/null
check_eq "alter drop viewers: gone again" 0 \
	"$(view principals | jq '[.. | strings | select(. == "aaduser=new@x")] | length')"
ctl alter Logs caching --delete >/dev/null
check_eq "alter caching --delete: the leader's table policy again" "1.00:00:00" \
	"$(ctl --json explain Logs Events | jq -r .effective.hot_span)"

# ---- attach / detach: the attachments API ----
ctl attach list >"$T/out" 2>"$T/err"
check_eq "attach list exits 0" 0 $?
check_match "attach list: the file's configuration" "^logs +$L +Logs +- +file\$" "$(cat "$T/out")"
ctl attach create more --leader "$L" --database Logs --local-name More --exclude-tables Nope \
	--principals-modification-kind Union --no-prefetch >"$T/out" 2>"$T/err"
check_eq "attach create exits 0" 0 $?
check_match "... echoes the attachment" "^local_name +More\$" "$(cat "$T/out")"
wait_for "... and the daemon follows it" 10 at_version more "$L" Logs
check_eq "attach show --json" "More admin [\"Nope\"] union false" \
	"$(ctl --json attach show more | jq -r '"\(.local_name) \(.source) \(.exclude_tables | tojson) \(.principals_modification_kind) \(.prefetch)"')"
ctl attach create more --leader "$L" --database Logs --local-name Logs >/dev/null 2>"$T/err"
check_eq "an attachment landing on a followed database: exit 1 (409)" 1 $?
check_match "... the daemon's reason" "HTTP 409" "$(cat "$T/err")"
ctl attach create bad --leader "$L" --database Logs --hot-cache soon >/dev/null 2>"$T/err"
check_eq "a bad attachment: exit 1 (400)" 1 $?
check_match "... naming the member" "hot_cache" "$(cat "$T/err")"
check_eq "detach exits 0" "0" "$(ctl detach more >/dev/null; echo $?)"
wait_for "... and the database leaves the store" 10 not_in_store more
ctl detach more >/dev/null 2>"$T/err"
check_eq "detach of an unknown attachment: exit 1 (404)" 1 $?
ctl attach >/dev/null 2>&1
check_eq "attach without arguments: exit 2" 2 $?
ctl attach create x --database Logs >/dev/null 2>"$T/err"
check_eq "attach create without --leader: exit 2" 2 $?
ctl attach create x --leader "$L" --database Logs --frobnicate >/dev/null 2>&1
check_eq "attach create with an unknown option: exit 2" 2 $?
ctl attach create x --leader "$L" --database Logs --principals-modification-kind most >/dev/null 2>&1
check_eq "attach create with a bad modification kind: exit 2" 2 $?

# ---- errors ----
ctl history Nope >/dev/null 2>"$T/err"
check_eq "an unknown database: exit 1" 1 $?
check_match "... with the daemon's message" "NotFound: .*Nope" "$(cat "$T/err")"
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
