#!/usr/bin/env bash
# cache_restart — followerd killed (-9) while artifacts download over HTTP
# (faultserver throttles two of them), then restarted: no object with a wrong
# digest is ever in objects/, a finished artifact is not downloaded again,
# the interrupted ones resume from their .part files (Range, 206) and the
# cache converges to every hot artifact.  A 404 is retried (with backoff)
# without counting against the artifact.
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

# artifact NAME BYTES: ingests a file of BYTES random bytes; prints its sha256.
artifact() {
	head -c "$2" /dev/urandom | base64 -w 100 >"$T/$1.csv"
	lc "$L" ingest Logs Events "$T/$1.csv" >/dev/null
	sha256sum "$T/$1.csv" | cut -d' ' -f1
}
small=$(artifact small 1000)
big1=$(artifact big1 150000)
big2=$(artifact big2 150000)
path() { echo "/artifacts/${1:0:2}/$1"; }
object() { echo "$CACHE/objects/${1:0:2}/$1"; }

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
U=http://127.0.0.1:$(cat "$T/fs.port")
rule() { curl -sf --data-binary "$1" "$U/_fault" >/dev/null; }
clear_rules() { curl -sf -X POST "$U/_fault/clear" >/dev/null; }
# hits PATH STATUS: requests of PATH answered STATUS so far.
hits() { curl -s "$U/_stats" | jq -r --arg p "$1" --arg s "$2" '.paths[$p].status[$s] // 0'; }

rule "$(path "$big1") * slow 20000"
rule "$(path "$big2") * slow 20000"

{ daemon_conf; attach_conf logs "$U" Logs; } >"$CONF"
start_follower

has_object() { [ -f "$(object "$1")" ]; }
part_started() { [ "$(stat -c %s "$CACHE/tmp/$1.part" 2>/dev/null || echo 0)" -gt 0 ]; }
wait_for "the small artifact is cached" 10 has_object "$small"
wait_for "the big ones are downloading (.part files growing)" 10 part_started "$big1"
wait_for "... both" 10 part_started "$big2"
kill -KILL "$FPID"
wait "$FPID" 2>/dev/null

# all_verified: every object's name is its digest.
all_verified() {
	local f
	for f in $(find "$CACHE/objects" -type f); do
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || { echo "bad: $f"; return 1; }
	done
}
check "after kill -9: every object in objects/ has its digest" all_verified
check "... the interrupted downloads are not in objects/" test ! -e "$(object "$big1")"

clear_rules
start_follower
cached() { [ -f "$(object "$1")" ] && [ "$(sha256sum "$(object "$1")" | cut -d' ' -f1)" = "$1" ]; }
wait_for "after the restart the first big artifact is cached" 20 cached "$big1"
wait_for "... and the second" 20 cached "$big2"
check "... every object verified" all_verified
check_eq "the small artifact was downloaded once" 1 "$(hits "$(path "$small")" 200)"
check "the big ones resumed with Range (206)" test "$(hits "$(path "$big1")" 206)" -ge 1
check_eq "... and were never fetched whole again" 1 "$(hits "$(path "$big1")" 200)"
check_eq "nothing is left in tmp/" "" "$(ls "$CACHE/tmp")"

# ---- a 404 is retried, not counted as a failure of the artifact ----
head -c 1000 /dev/urandom | base64 -w 100 >"$T/late.csv"
late=$(sha256sum "$T/late.csv" | cut -d' ' -f1)
rule "$(path "$late") 2 status 404"
lc "$L" ingest Logs Events "$T/late.csv" >/dev/null
wait_for "an artifact answered 404 twice is cached at the third try" 10 cached "$late"
check_eq "... after two 404s" 2 "$(hits "$(path "$late")" 404)"
check_eq "... and no failure recorded" 0 \
	"$(q "SELECT fails FROM blobs WHERE hex(sha256) = upper('$late')")"

stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
done_testing
