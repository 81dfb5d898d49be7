#!/usr/bin/env bash
# query_prefetch — with auto-prefetch on, a version becomes visible only
# once its typed hot extents are loaded in the query store, not only cached
# (lib/cache/warm_qs.c, qsync loads the pending version's extents beside
# the visible ones); an extent whose rows do not parse does not hold the
# version back (it counts as done, with its error).  A query right after
# the version turns visible answers with the new extent's rows.  With
# prefetch off, the version is visible at once, before its rows load.
# followerctl warm shows the loading in its progress and final line.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
command -v curl >/dev/null || skip_all "curl not installed"

L=$T/leader
QDIR=$T/cache/query
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'Timestamp:datetime,Host:string,Latency:real,Code:long' >/dev/null
printf '2026-12-01T10:00:00Z,web1,1.5,200\n' >"$T/g.csv"
G=$(lc "$L" ingest Logs Events "$T/g.csv" --format csv)
# a leader that publishes rows that do not parse (see query_store.sh)
printf '2026-12-05T10:00:00Z,bad1,1.0,1\n2026-12-05T10:00:00Z,bad2,fast,2\n' >"$T/bad.csv"
X=$(lc "$L" ingest Logs Events "$T/bad.csv" --rows 2)
uuid=$(jq -r '.databases[0].uuid' "$L/head.json")
last=$(ls "$L/db/$uuid/log" | tail -1)
sed -i 's/"sha256":"\([0-9a-f]*\)"}\]/"sha256":"\1","format":"csv"}]/' "$L/db/$uuid/log/$last"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true"
	attach_conf pf "$L" Logs "local_name = pf" "prefetch = true"
	attach_conf np "$L" Logs "local_name = np"
} >"$CONF"
start_follower
api() { curl -sf --unix-socket "$T/admin.sock" "http://admin$1"; }
visible() { api /v1/databases | jq -r --arg n "$1" '.databases[] | select(.name == $n) | .visible_version'; }
visible_is() { [ "$(visible "$1")" = "$2" ]; }
qq() { sqlite3 -readonly "$QDIR/$(q "SELECT id FROM databases WHERE local_name = '$1'").db" "$2" 2>/dev/null; }
loaded() { [ "$(qq "$1" "SELECT count(*) FROM qextents WHERE extent = '$2'")" = 1 ]; }
count() {
	curl -s -X POST "$URL/v1/rest/query" -d "{\"db\":\"$1\",\"csl\":\"Events | count\"}" \
		-w '\n%{http_code} %{time_total}'
}

N=$(leader_version "$L" Logs)
wait_for "prefetch on: the first version becomes visible despite an extent whose rows do not parse" 20 \
	visible_is pf "$N"
check "... its good extent is loaded" loaded pf "$G"
check_match "... the bad one is not queryable, with its error" "column 'Latency' \(real\): 'fast'" \
	"$(qq pf "SELECT error FROM qerrors WHERE extent = '$X'")"

# ---- a new version waits for its load ----
# A writer holds pf's query store (qsync's loads into it fail busy and are
# retried), np's loads as usual.
PFDB=$QDIR/$(q "SELECT id FROM databases WHERE local_name = 'pf'").db
(printf 'BEGIN IMMEDIATE;\nSELECT 1;\n'; until [ -e "$T/release" ]; do sleep 0.05; done; printf 'COMMIT;\n') |
	sqlite3 "$PFDB" >/dev/null &
_pids+=($!)
awk 'BEGIN { for (i = 0; i < 300000; i++)
	printf "2026-12-06T00:00:%02d.%07dZ,h%d,%d.5,%d\n", i % 60, i, i % 100, i % 1000, i }' >"$T/big.csv"
B=$(lc "$L" ingest Logs Events "$T/big.csv" --format csv)
N=$(leader_version "$L" Logs)
wait_for "prefetch off: the new version is visible" 20 visible_is np "$N"
wait_for "... and its rows load (the artifact is cached)" 30 loaded np "$B"
waiting() { [ "$(api /v1/databases/pf/cache | jq .warming.query_store.waiting)" -ge 1 ]; }
wait_for "prefetch on: the warmer sees the cached extent waiting to load" 20 waiting
check "... and the version is not visible yet" visible_is pf "$((N - 1))"
check "... nor its extent loaded" test "$(loaded pf "$B" && echo y)" != y
touch "$T/release"
wait_for "once the load can go on, the version becomes visible" 20 visible_is pf "$N"
check "... with its extent loaded" loaded pf "$B"
answer=$(count pf)
diag "the query right after: $(tail -1 <<<"$answer") (HTTP status, seconds)"
check_eq "... a query right after answers with its rows (the bad extent's are not there)" "200 300001" \
	"$(tail -1 <<<"$answer" | cut -d' ' -f1) $(head -1 <<<"$answer" | jq -r '.Tables[0].Rows[0][0]')"

# ---- followerctl warm: loading in its progress and final line ----
lc "$L" ingest Logs Events "$T/big.csv" --format csv >/dev/null
wait_for "a second big extent is applied (held back until it loads)" 20 at_version pf "$L" Logs
"$FOLLOWERCTL" -c "$CONF" warm pf --timeout 60 >"$T/warm" 2>"$T/err"
check_eq "followerctl warm exits 0" 0 $?
check_match "... its final line counts the rows loaded" \
	'^pf: 4/4 files, .* 0 over the limit, loaded 600003/600003 rows \(4/4 extents, 1 not queryable\)$' \
	"$(tail -1 "$T/warm")"
check "... and then the version is visible" visible_is pf "$(leader_version "$L" Logs)"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
