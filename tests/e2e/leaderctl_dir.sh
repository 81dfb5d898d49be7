#!/usr/bin/env bash
# leaderctl on a directory: init, databases, tables of all three kinds,
# ingest / drop / merge, policies, principals, detached followers, show and
# log output, a checkpoint every K commits (and that checkpoint + log gives
# the state the whole log gives), verify (and what it says about a corrupt
# artifact, and in bounded memory for a big one), vacuum (old log and unreferenced artifacts go, live ones stay;
# with a short log retention log_start moves past 1 and the state loads
# through checkpoint + log),
# drop + recreate, bad input, and the head served by nginx with its ETag.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
D=$T/leader
mkdir -p "$D"
lc() { "$LEADERCTL" -C "$D" "$@"; }
head_field() { lc show --json | jq -r ".databases[] | select(.name == \"$1\") | .$2"; }

# --- init and a database ---
check "init with a checkpoint every 4 commits" lc init --checkpoint-interval 4
check_fails "init again is refused" lc init
check_match "... saying it is already a leader" "^leaderctl: init: .*already a leader$" "$(cat "$T/last.out")"
check "create-database Logs" lc create-database Logs
check_eq "Logs is at version 1" 1 "$(head_field Logs version)"
uuid1=$(head_field Logs uuid)
check_fails "create-database Logs again is refused" lc create-database Logs
check_match "... clearly" "database 'Logs' already exists" "$(cat "$T/last.out")"

# --- tables of all three kinds ---
check "create-table" lc create-table Logs Events 'Timestamp:datetime,Message:string,Level:int' \
	--folder app --docstring 'app events'
check "create-external-table" lc create-external-table Logs Archive 'Timestamp:datetime,Message:string' \
	--location 'https://example.com/archive'
check "create-materialized-view" lc create-materialized-view Logs Daily 'Day:datetime,N:long' \
	--source Events --query 'Events | summarize N=count() by Day=bin(Timestamp, 1d)'
check "alter-table keeps folder and docstring unless given" lc alter-table Logs Events \
	'Timestamp:datetime,Message:string,Level:int,Host:string'
lc show Logs --json >"$T/show.json"
check_eq "the table has 4 columns, its folder and docstring" "4 app app events" \
	"$(jq -r '.entities[] | select(.name == "Events") | "\(.columns | length) \(.folder) \(.docstring)"' "$T/show.json")"
check_eq "three kinds are listed" "Events:table Archive:external_table Daily:materialized_view" \
	"$(jq -r '[.entities[] | "\(.name):\(.kind)"] | join(" ")' "$T/show.json")"
check_fails "a view over a missing table is refused" lc create-materialized-view Logs V2 'N:long' \
	--source Nope --query 'Nope | count'
check_eq "... with a clear message" \
	"leaderctl: create-materialized-view: materialized view 'V2': source table 'Nope' does not exist in database Logs" \
	"$(cat "$T/last.out")"
check_fails "dropping a view's source table is refused" lc drop-table Logs Events
check_match "... naming the view" "table 'Events' is the source of materialized view 'Daily'" "$(cat "$T/last.out")"

# --- ingest ---
for i in 1 2 3 4 5; do printf 'line %s\nmore %s\n' "$i" "$i" >"$T/f$i.csv"; done
e1=$(lc ingest Logs Events "$T/f1.csv" --created-on 2026-01-01T00:00:00Z --tags a,b)
check_match "ingest prints the new extent id" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$e1"
e2=$(lc ingest Logs Events "$T/f2.csv" "$T/f3.csv" --min 2026-01-02T00:00:00Z --max 2026-01-03T00:00:00Z --rows 42)
sha2=$(sha256sum "$T/f2.csv" | cut -d' ' -f1)
check "the artifact is stored content-addressed" cmp "$T/f2.csv" "$D/artifacts/${sha2:0:2}/$sha2"
lc show Logs --json >"$T/show.json"
check_eq "two extents, 2 + 42 rows" "2 44" "$(jq -r '"\(.counts.extents) \(.counts.rows)"' "$T/show.json")"
v=$(head_field Logs version)
check_fails "ingest into a missing table is refused" lc ingest Logs Nope "$T/f4.csv"
check_eq "... with one clear line" "leaderctl: ingest: table 'Nope' does not exist in database Logs" "$(cat "$T/last.out")"
check_fails "ingest into an external table is refused" lc ingest Logs Archive "$T/f4.csv"
check_fails "ingest of a missing file is refused" lc ingest Logs Events "$T/nope.csv"
check_eq "... naming the file" "leaderctl: ingest: $T/nope.csv: No such file or directory" "$(cat "$T/last.out")"
check_eq "nothing was committed by the refused commands" "$v" "$(head_field Logs version)"

# --- drop and merge ---
e3=$(lc ingest Logs Events "$T/f4.csv")
e4=$(lc ingest Logs Events "$T/f5.csv")
m=$(lc merge-extents Logs "$e1" "$e2")
check_match "merge-extents prints the new id" '^[0-9a-f-]{36}$' "$m"
lc show Logs --json >"$T/show.json"
check_eq "the merge left three extents" 3 "$(jq -r .counts.extents "$T/show.json")"
lc dump Logs | jq -c "select(.op == \"add_extents\") | .extents[] | select(.id == \"$m\")" >"$T/merged.json"
check_eq "the merged extent has the union of artifacts, rows summed" "3 44 a,b" \
	"$(jq -r '"\(.artifacts | length) \(.rows) \(.tags | join(","))"' "$T/merged.json")"
check_eq "... and the union of the created-on ranges" "2026-01-01T00:00:00.0000000Z 2026-01-03T00:00:00.0000000Z" \
	"$(jq -r '"\(.min_created) \(.max_created)"' "$T/merged.json")"
check "drop-extents" lc drop-extents Logs "$e3"
check_fails "dropping it again is refused" lc drop-extents Logs "$e3"
check_eq "... as not found" "leaderctl: drop-extents: extent $e3 not found in database Logs" "$(cat "$T/last.out")"
check_fails "a malformed id is a usage error" lc drop-extents Logs not-an-id
check_eq "... exit status 2" 2 "$(lc drop-extents Logs not-an-id >/dev/null 2>&1; echo $?)"

# --- policies, principals, followers ---
check "database caching policy" lc set-caching-policy Logs 7d --hot-window 2026-01-01T00:00:00Z..2026-02-01T00:00:00Z
check "table caching policy" lc set-caching-policy Logs --table Events 12h
check "retention policy" lc set-retention-policy Logs 30d
check "remove the table's caching policy" lc set-caching-policy Logs --table Events none
check "add-principal" lc add-principal Logs admins aaduser=alice@contoso.com --name 'Alice A'
check "add-principal viewers" lc add-principal Logs viewers aaduser=bob@contoso.com
check_fails "adding the same principal again is refused" lc add-principal Logs admins aaduser=alice@contoso.com
check "remove-principal" lc remove-principal Logs viewers aaduser=bob@contoso.com
check "detach-follower" lc detach-follower Logs follower-eu-2
check "detach another" lc detach-follower Logs follower-us-1
check "attach-follower undoes it" lc attach-follower Logs follower-us-1
lc show Logs --json >"$T/show.json"
check_eq "caching: 7 days, one window; table policy removed" "7.00:00:00 1 null" \
	"$(jq -r '"\(.caching.hot_span) \(.caching.hot_windows | length) \(.entities[0].caching)"' "$T/show.json")"
check_eq "retention 30 days" "30.00:00:00" "$(jq -r .retention.soft_delete "$T/show.json")"
check_eq "principals" "aaduser=alice@contoso.com:Alice A|" \
	"$(jq -r '"\(.principals.admins | map("\(.fqn):\(.name)") | join(","))|\(.principals.viewers | map(.fqn) | join(","))"' "$T/show.json")"
check_eq "detached followers in the head" '["follower-eu-2"]' "$(lc show --json | jq -c '.databases[0].detached_followers')"

# --- show and log output ---
lc show >"$T/show.txt"
check_match "show lists the database with its version and checkpoint" "^Logs +$(head_field Logs version) +$(head_field Logs checkpoint) +1 " "$(cat "$T/show.txt")"
lc log Logs >"$T/log.txt"
check_eq "log prints one line per version" "$(head_field Logs version)" "$(wc -l <"$T/log.txt")"
check_match "... the first is the creation" "^1 [0-9T:.-]+Z \(database created\)$" "$(head -1 "$T/log.txt")"
check_match "... a merge is summarised" "replace_extents -2 \+1 \(44 rows\)" "$(cat "$T/log.txt")"
check_eq "log --json --from 3: one object per version from 3" "$(( $(head_field Logs version) - 2 ))" \
	"$(lc log Logs --json --from 3 | jq -s 'length')"
check_eq "... whose first is version 3" 3 "$(lc log Logs --json --from 3 | head -1 | jq .version)"

# --- checkpoints every 4 commits ---
version=$(head_field Logs version)
ckpt=$(head_field Logs checkpoint)
check_eq "the newest checkpoint is the last multiple of 4" "$((version / 4 * 4))" "$ckpt"
ok_objects=1
for ((c = 4; c <= version; c += 4)); do
	dir=$D/db/$uuid1/checkpoint/$(printf %020d $c)
	[ -f "$dir/manifest.json" ] && [ -f "$dir/part-00000.ndjson" ] || { ok_objects=0; diag "missing $dir"; }
done
check_eq "a checkpoint manifest and part exist for every 4th version" 1 "$ok_objects"
lc dump Logs | sort >"$T/by-checkpoint"
lc dump Logs --replay | sort >"$T/by-log"
check "state from the checkpoint + log equals the state from the whole log" cmp "$T/by-checkpoint" "$T/by-log"
check "verify passes" lc verify

# --- verify finds a corrupt artifact ---
sha4=$(sha256sum "$T/f4.csv" | cut -d' ' -f1)
sha5=$(sha256sum "$T/f5.csv" | cut -d' ' -f1)
a5=$D/artifacts/${sha5:0:2}/$sha5
cp "$a5" "$T/a5.saved"
printf 'LINE 5\nMORE 5\n' >"$a5"
check_fails "verify fails on a corrupt artifact" lc verify
check_match "... naming it and its extent" "^artifacts/${sha5:0:2}/$sha5: sha256 [0-9a-f]{64} where extent $e4 of Logs.Events says $sha5$" "$(cat "$T/last.out")"
check_match "... and counting the problems" "leaderctl: verify: 1 problem found" "$(cat "$T/last.out")"
cp "$T/a5.saved" "$a5"
check "verify passes again once repaired" lc verify
printf 'LINE 5\nMORE 5\nAND MORE\n' >"$a5"
check_fails "verify fails on an artifact larger than its extent says" lc verify
check_match "... naming it" "^artifacts/${sha5:0:2}/$sha5: larger than the [0-9]+ bytes extent $e4" \
	"$(cat "$T/last.out")"
cp "$T/a5.saved" "$a5"

# --- verify streams artifacts: a 96 MiB one is never held whole ---
if [ -x /usr/bin/time ]; then
	head -c $((96 << 20)) /dev/urandom >"$T/big.bin"
	big=$(lc ingest Logs Events "$T/big.bin")
	check "verify passes with a 96 MiB artifact" /usr/bin/time -f '%M' -o "$T/verify.rss" "$LEADERCTL" -C "$D" verify
	check_eq "... in less than 48 MiB of memory" yes "$([ "$(cat "$T/verify.rss")" -lt 49152 ] && echo yes || echo "no: $(cat "$T/verify.rss") KiB")"
	check "drop it again" lc drop-extents Logs "$big"
	rm -f "$T/big.bin"
else
	skip "verify streams in bounded memory: /usr/bin/time not installed (make test-deps)"
fi

# --- vacuum ---
# Commit until a checkpoint falls on the current version.
while [ $(( $(head_field Logs version) % 4 )) -ne 0 ]; do lc set-retention-policy Logs 31d || break; done
version=$(head_field Logs version)
ckpt=$(head_field Logs checkpoint)
check_eq "another checkpoint was written" "$version" "$ckpt"
e5=$(lc ingest Logs Events "$T/f4.csv" --tags again)
check "vacuum (dry run) deletes nothing" lc vacuum --log-retention 0 --grace 0 --dry-run
check "... the log is all still there" test -f "$D/db/$uuid1/log/$(printf %020d 1).json"
check "vacuum with no retention and no grace" lc vacuum --log-retention 0 --grace 0
check_eq "the log now starts after the newest checkpoint" "$((ckpt + 1))" "$(head_field Logs log_start)"
check_fails "old log objects are gone" test -f "$D/db/$uuid1/log/$(printf %020d 1).json"
check_eq "only the newest checkpoint is left" "$(printf %020d "$ckpt")" \
	"$(find "$D/db/$uuid1/checkpoint" -type f | sed 's|.*/checkpoint/||; s|/.*||' | sort -u)"
check "the live artifacts stay" test -f "$D/artifacts/${sha2:0:2}/$sha2" -a -f "$a5" -a -f "$D/artifacts/${sha4:0:2}/$sha4"
sha1=$(sha256sum "$T/f1.csv" | cut -d' ' -f1)
check "an artifact of the merged extent stays" test -f "$D/artifacts/${sha1:0:2}/$sha1"
# f4's first extent (e3) was dropped long before; the same content is live again through e5.
lc drop-extents Logs "$e5"
check "vacuum again" lc vacuum --log-retention 0 --grace 0
check "an artifact dropped after the newest checkpoint stays (a reachable version uses it)" \
	test -f "$D/artifacts/${sha4:0:2}/$sha4"
check "verify passes after vacuum" lc verify
lc dump Logs | sort >"$T/after"
lc dump Logs --replay | sort >"$T/after-replay"
check "the state still loads through the checkpoint, the same as by log" cmp "$T/after" "$T/after-replay"
check_fails "log before log_start is refused" lc log Logs --from 1
check_match "... saying those versions were vacuumed" "versions before $((ckpt + 1)) were vacuumed" "$(cat "$T/last.out")"
while [ "$(head_field Logs checkpoint)" -le "$ckpt" ]; do lc set-retention-policy Logs 32d || break; done
check "vacuum after one more checkpoint" lc vacuum --log-retention 0 --grace 0
check_fails "now the artifact dropped before that checkpoint is gone" test -f "$D/artifacts/${sha4:0:2}/$sha4"
check "verify passes" lc verify
echo stray >"$T/stray"
sha_s=$(sha256sum "$T/stray" | cut -d' ' -f1)
mkdir -p "$D/artifacts/${sha_s:0:2}" && cp "$T/stray" "$D/artifacts/${sha_s:0:2}/$sha_s"
check "vacuum with the default grace" lc vacuum --log-retention 0
check "keeps an unreferenced artifact younger than the grace" test -f "$D/artifacts/${sha_s:0:2}/$sha_s"
touch -d '2 days ago' "$D/artifacts/${sha_s:0:2}/$sha_s"
check "vacuum with the default grace, again" lc vacuum --log-retention 0
check_fails "removes it once older" test -f "$D/artifacts/${sha_s:0:2}/$sha_s"

# --- a short log retention: what a new follower loads afterwards ---
# Commits 1-11 are made two days in the past (libfaketime), 12-14 now, with a
# checkpoint every 4.  Vacuum with a 1-day retention may raise log_start to
# one past a checkpoint whose log is all older than that: 8.  A follower
# then loads checkpoint 12 and the log after it (or one at version 8 or
# later through the log from 9), and must get the state the whole log gave.
if command -v faketime >/dev/null; then
	S=$T/short
	mkdir -p "$S"
	past() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 faketime -f -2d "$LEADERCTL" -C "$S" "$@"; }
	ls_() { "$LEADERCTL" -C "$S" "$@"; }
	sfield() { ls_ show --json | jq -r ".databases[0].$1"; }
	past init --checkpoint-interval 4 && past create-database S && past create-table S T 'a:string'
	for i in $(seq 3 14); do
		printf 'short %s\n' "$i" >"$T/s$i.csv"
		if [ "$i" -le 11 ]; then past ingest S T "$T/s$i.csv" >/dev/null; else ls_ ingest S T "$T/s$i.csv" >/dev/null; fi
	done
	check_eq "14 versions, the newest checkpoint at 12, the log from 1" "14 12 1" "$(sfield version) $(sfield checkpoint) $(sfield log_start)"
	ls_ dump S --replay | sort >"$T/short.before"
	check "vacuum with a 1-day log retention" ls_ vacuum --log-retention 1d
	check_eq "log_start moved past 1, to one past checkpoint 8" 9 "$(sfield log_start)"
	suuid=$(sfield uuid)
	check_eq "log objects 1-8 are gone, 9-14 stay" "$(seq -f %020g.json 9 14 | paste -sd' ')" \
		"$(ls "$S/db/$suuid/log" | paste -sd' ')"
	check_eq "checkpoints 8 (where the log starts) and 12 (the newest) stay" \
		"$(printf %020d 8) $(printf %020d 12)" \
		"$(find "$S/db/$suuid/checkpoint" -type f | sed 's|.*/checkpoint/||; s|/.*||' | sort -u | paste -sd' ')"
	ls_ dump S | sort >"$T/short.ck"
	check "checkpoint 12 + log 13-14 gives the state the whole log gave before vacuum" \
		cmp "$T/short.before" "$T/short.ck"
	ls_ dump S --replay | sort >"$T/short.replay"
	check "checkpoint 8 + log 9-14 gives it too" cmp "$T/short.before" "$T/short.replay"
	check "verify passes" ls_ verify
	check_eq "log lists versions 9-14" "$(seq 9 14 | paste -sd' ')" "$(ls_ log S --json | jq -r .version | paste -sd' ')"
else
	skip "the short-retention vacuum checks: faketime not installed (make test-deps)"
fi

# --- drop and recreate ---
check "drop-database" lc drop-database Logs
check_eq "it is gone from the head" "" "$(head_field Logs uuid)"
check "create it again" lc create-database Logs
uuid2=$(head_field Logs uuid)
check "the recreated database has a new uuid" test -n "$uuid2" -a "$uuid2" != "$uuid1"
check_eq "... and starts at version 1" 1 "$(head_field Logs version)"
check "vacuum removes the dropped database's objects" lc vacuum --grace 0
check_fails "... its log is gone" test -e "$D/db/$uuid1/log/$(printf %020d 1).json"
check "verify passes" lc verify

# --- bad input ---
check_fails "a target that is not a leader" "$LEADERCTL" -C "$T" show
check_eq "... one clear line" "leaderctl: show: $T: not a leader (no head.json; run 'leaderctl init')" "$(cat "$T/last.out")"
check_fails "an unknown command" lc frobnicate
check_eq "... is a usage error" 2 "$(lc frobnicate >/dev/null 2>&1; echo $?)"
check_fails "a bad column type" lc create-table Logs T 'a:varchar'
check_match "... names it" "unknown type 'varchar'" "$(cat "$T/last.out")"
check_fails "a bad duration" lc set-caching-policy Logs 7x
check_match "... names it" "'7x' is not a duration" "$(cat "$T/last.out")"
check_fails "a bad name" lc create-table Logs 'a/b' 'x:int'
check_fails "a missing database" lc create-table Nope T 'x:int'
check_eq "... one line" "leaderctl: create-table: database 'Nope' does not exist" "$(cat "$T/last.out")"

# --- the man page documents every command and option ---
if command -v man >/dev/null; then
	MANWIDTH=300 LC_ALL=C.UTF-8 man -l "$E2E_ROOT/man/leaderctl.1" 2>/dev/null >"$T/man.txt"
	missing=
	for c in $("$LEADERCTL" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'); do
		grep -qE "^ +$c( |$)" "$T/man.txt" || missing+=" $c"
	done
	for o in $(grep -ho '{"[a-z-]*", [a-z_]*_argument' "$E2E_ROOT"/cli/leaderctl*.c | cut -d'"' -f2 | sort -u); do
		grep -qe "--$o\b" "$T/man.txt" || missing+=" --$o"
	done
	for e in $(grep -ho 'getenv("[A-Z_]*")' "$E2E_ROOT"/cli/leaderctl*.c | cut -d'"' -f2 | sort -u); do
		grep -qE "^ +$e$" "$T/man.txt" || missing+=" $e"
	done
	check_eq "leaderctl(1) documents every command, option and environment variable" "" "$missing"
else
	skip "leaderctl(1) documents everything: man not installed (make test-deps)"
fi

# --- served over HTTP ---
chmod o+x "$T" # nginx's worker may run as another user
start_nginx "$D"
curl -sfI "$NGINX_URL/head.json" >"$T/headers" || not_ok "nginx serves head.json"
etag=$(tr -d '\r' <"$T/headers" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
check_match "head.json has an ETag over HTTP" '^".+"$' "$etag"
check_eq "a conditional GET with it is answered 304" 304 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$NGINX_URL/head.json")"
lc detach-follower Logs f1
check_eq "after a change the same ETag gets 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$NGINX_URL/head.json")"
check_eq "the head read over HTTP names the database" "$uuid2" "$(curl -sf "$NGINX_URL/head.json" | jq -r '.databases[0].uuid')"

done_testing
