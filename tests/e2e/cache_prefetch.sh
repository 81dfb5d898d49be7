#!/usr/bin/env bash
# cache_prefetch — auto-prefetch (issue #4): with prefetch = true a new
# version is applied at once but becomes visible only when every hot
# artifact it references is cached; until then /v1/databases shows
# applied = N+2, visible = N and the extents view lists version N's extents
# (an extent the new versions dropped included, its cached artifact kept).
# With prefetch = false the same leader's new version is visible at once,
# and turning prefetch off (reload) makes a held version visible.
# The leader is served by faultserver, whose artifact downloads answer 503
# until the rules are cleared.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"
command -v curl >/dev/null || skip_all "curl not installed"

L=$T/leader
CACHE=$T/cache
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'msg:string' >/dev/null
a0=$(ingest "$L" Logs Events a0)
a0_sha=$(sha256sum "$T/a0.csv" | cut -d' ' -f1)

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
U=http://127.0.0.1:$(cat "$T/fs.port")
rule() { curl -sf --data-binary "$1" "$U/_fault" >/dev/null; }
clear_rules() { curl -sf -X POST "$U/_fault/clear" >/dev/null; }
# held: artifact requests answered 503 so far.
held() { curl -s "$U/_stats" | jq '[.paths | to_entries[] | select(.key | startswith("/artifacts/")) | .value.status["503"] // 0] | add // 0'; }
held_more() { [ "$(held)" -gt "$1" ]; }

PORT=$(free_port)
{
	daemon_conf "listen = 127.0.0.1:$PORT" "admin_socket = $T/admin.sock"
	attach_conf pf "$U" Logs "local_name = pf" "prefetch = true"
	attach_conf np "$U" Logs "local_name = np"
} >"$CONF"
start_follower

# api PATH: a GET on the admin socket.
api() { curl -sf --unix-socket "$T/admin.sock" "http://admin$1"; }
# db NAME MEMBER: a member of the database's /v1/databases entry.
db() { api /v1/databases | jq -r --arg n "$1" ".databases[] | select(.name == \$n) | .$2"; }
# ids NAME: the extent ids the extents view lists, sorted, one line.
ids() { api "/v1/databases/$1/extents" | jq -r '[.extents[].id] | sort | join(" ")'; }
member_is() { [ "$(db "$1" "$2")" = "$3" ]; }
object() { echo "$CACHE/objects/${1:0:2}/$1"; }
cached() { [ -f "$(object "$1")" ]; }

N=$(leader_version "$L" Logs)
wait_for "both databases are at version $N" 10 at_version pf "$L" Logs
wait_for "... the second too" 10 at_version np "$L" Logs
wait_for "the first load becomes visible once warm" 10 member_is pf visible_version "$N"
wait_for "the first artifact is cached" 10 cached "$a0_sha"

# ---- prefetch on: the new versions wait for their artifacts ----
rule '/artifacts/* * status 503'
a1=$(ingest "$L" Logs Events a1)
a1_sha=$(sha256sum "$T/a1.csv" | cut -d' ' -f1)
lc "$L" drop-extents Logs "$a0" >/dev/null
N2=$(leader_version "$L" Logs)
check_eq "the leader moved two versions" $((N + 2)) "$N2"
wait_for "prefetch on: version $N2 is applied" 10 member_is pf applied_version "$N2"
wait_for "... its artifact download is held back (503), and retried" 10 held_more 1
check_eq "... the visible version stays $N" "$N" "$(db pf visible_version)"
check_eq "... the extents view lists version $N's extents" "$a0" "$(ids pf)"
check_eq "... and the database's totals are version $N's" 1 "$(db pf extents)"
check "... the new extent's artifact is not cached" test ! -e "$(object "$a1_sha")"
check_eq "... the cache view counts it pending" '{"artifacts":1,"cached":0}' \
	"$(api /v1/databases/pf/cache | jq -c '.pending | {artifacts, cached}')"
check "... the dropped extent's artifact stays cached while visible" cached "$a0_sha"
check_eq "... its row is held, marked dropped by version $((N + 2))" "$((N + 2))" \
	"$(q "SELECT e.dropped FROM extents e JOIN databases d ON d.id = e.db
		WHERE d.config = 'pf' AND e.dropped IS NOT NULL")"

# ---- prefetch off: visible follows applied ----
check_eq "prefetch off: applied $N2" "$N2" "$(db np applied_version)"
check_eq "... and visible $N2 at once" "$N2" "$(db np visible_version)"
check_eq "... listing the new extent set" "$a1" "$(ids np)"
check_eq "... nothing pending" null "$(api /v1/databases/np/cache | jq -c .pending)"
check_match "metrics: the visible version" "followerd_database_visible_version{database=\"pf\"} $N\$" \
	"$(api /metrics)"

# ---- the downloads go through: the new version becomes visible ----
clear_rules
wait_for "released: visible becomes $N2" 30 member_is pf visible_version "$N2"
check "... once the new artifact is cached" cached "$a1_sha"
check_eq "... the extents view lists version $N2's extents" "$a1" "$(ids pf)"
check_eq "... the totals too" 1 "$(db pf extents)"
check_eq "... nothing is pending" null "$(api /v1/databases/pf/cache | jq -c .pending)"
check_eq "... the held rows are purged" 0 \
	"$(q "SELECT count(*) FROM extents WHERE dropped IS NOT NULL")"
wait_for "... and the dropped extent's artifact is evicted" 10 test ! -e "$(object "$a0_sha")"

# ---- prefetch turned off while a version is held: it becomes visible ----
h=$(held)
rule '/artifacts/* * status 503'
a2=$(ingest "$L" Logs Events a2)
N3=$(leader_version "$L" Logs)
wait_for "held again: version $N3 is applied" 10 member_is pf applied_version "$N3"
wait_for "... its download is refused" 10 held_more "$h"
check_eq "... visible stays $N2" "$N2" "$(db pf visible_version)"
{
	daemon_conf "listen = 127.0.0.1:$PORT" "admin_socket = $T/admin.sock"
	attach_conf pf "$U" Logs "local_name = pf"
	attach_conf np "$U" Logs "local_name = np"
} >"$CONF"
reload
wait_for "prefetch off (reload): version $N3 becomes visible, warm or not" 10 \
	member_is pf visible_version "$N3"
check_eq "... with its extents" "$(printf '%s\n' "$a1" "$a2" | sort | tr '\n' ' ' | sed 's/ $//')" "$(ids pf)"
clear_rules

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
