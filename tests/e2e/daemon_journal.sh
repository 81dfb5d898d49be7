#!/usr/bin/env bash
# daemon_journal — followerd's records in a real systemd-journald, queried
# with journalctl the way followerd(8)'s incident guide says: one
# MESSAGE_ID= per kind of event (version applied, database attached and
# detached, leader unreachable, artifact quarantined, disk full and
# recovered) with the structured fields FOLLOWER_DATABASE= (the local name:
# the attach "logs" follows Logs), LEADER=,
# LEADER_VERSION=, APPLIED_VERSION=, EXTENT_ID=, ARTIFACT_SHA256=, URL=,
# ERRNO=.
#
# journald needs no PID 1 systemd: in a private mount namespace a tmpfs on
# /run gives it its own /run/systemd/journal/socket (where sd_journal_send
# writes) and /run/log/journal (where it keeps the journal).  The cache is
# a 256 KiB tmpfs so that a large artifact fills it (disk full), then is
# remounted larger (recovered).  followerd's stderr is a file whose dev:ino
# is in JOURNAL_STREAM, as systemd sets it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || skip_all "no systemd-journald"
command -v journalctl >/dev/null || skip_all "no journalctl"
unshare -m --propagation private true 2>/dev/null || skip_all "no mount namespaces here"

# The stable MESSAGE_IDs (daemon/log.h; never change).
ID_APPLIED=e2957fd9913d40a09f8cc2d6ad3248fe
ID_ATTACHED=c04669acdf8f4962bc4c343a5e70f273
ID_DETACHED=7bad81e4b8b14448a94943d1491b24f2
ID_UNREACHABLE=4e55c1e9329f464dac3a45f477fe04e9
ID_QUARANTINED=1ea997d64b874b71875a18efcfd3cc6e
ID_DISK_FULL=c2f20954d3e94bc0a0a19288f0f0d01c
ID_DISK_OK=f1d5f6cf436449b59eec02a1ce13e941

# The leader: Logs (one good extent, one whose artifact is corrupted on the
# leader) and Big (one artifact larger than the cache's file system).
L=$T/leader
mkdir -p "$L"
lc "$L" init >/dev/null
for db in Logs Big; do
	lc "$L" create-database "$db" >/dev/null
	lc "$L" create-table "$db" Events 'ts:datetime,msg:string' >/dev/null
done
printf '2026-11-01T00:00:00Z,good\n' >"$T/good.csv"
lc "$L" ingest Logs Events "$T/good.csv" >/dev/null
printf '2026-11-02T00:00:00Z,bad\n' >"$T/bad.csv"
BAD_EXTENT=$(lc "$L" ingest Logs Events "$T/bad.csv")
BAD=$(sha256sum "$T/bad.csv" | cut -d' ' -f1)
printf 'XX' | dd of="$L/artifacts/${BAD:0:2}/$BAD" bs=1 seek=0 conv=notrunc status=none
awk 'BEGIN { for (i = 0; i < 12000; i++) printf "2026-11-03T00:00:00Z,row %06d\n", i }' >"$T/big.csv"
lc "$L" ingest Big Events "$T/big.csv" >/dev/null
BIG=$(sha256sum "$T/big.csv" | cut -d' ' -f1)

write() {
	{
		daemon_conf 'min_free_space = 0' 'listen = 127.0.0.1:0' "admin_socket = $T/admin.sock"
		attach_conf logs "$L" Logs
		attach_conf gone "$T/nowhere" Logs "local_name = Gone"
		[ "$1" = without-big ] || attach_conf big "$L" Big
	} >"$CONF"
}
write with-big

cat >"$T/inner.sh" <<'SH'
set -u
T=$1 followerd=$2 journald=$3 conf=$4 sink=$5
mount -t tmpfs none /run || exit 77
mkdir -p "$T/cache" && mount -t tmpfs -o size=256k none "$T/cache" || exit 77
"$journald" >"$T/journald.out" 2>&1 &
j=$!
until_ok() { local i; for ((i = 0; i < ${UNTIL:-400}; i++)); do "$@" && return 0; sleep 0.05; done; return 1; }
jdir() { ls -d /run/log/journal/*/ 2>/dev/null | head -1; }
has() { local d; d=$(jdir) && [ -n "$d" ] && journalctl -D "$d" -q "$@" 2>/dev/null | grep -q .; }
until_ok test -S /run/systemd/journal/socket || { echo "journald did not start" >&2; exit 1; }
"$sink" "$T/notify.sock" >"$T/notify.log" &
s=$!
until_ok test -S "$T/notify.sock"
: >"$T/d.err"
NOTIFY_SOCKET=$T/notify.sock JOURNAL_STREAM=$(stat -c %d:%i "$T/d.err") \
	"$followerd" -c "$conf" 2>"$T/d.err" &
d=$!
rc=0
for id in $WANT; do
	until_ok has MESSAGE_ID="$id" || { echo "no record with MESSAGE_ID=$id" >&2; rc=1; }
done
mount -o remount,size=4m "$T/cache"
until_ok has MESSAGE_ID="$ID_DISK_OK" || { echo "no disk recovery record" >&2; rc=1; }
until_ok grep -q 'STATUS=.* artifact quarantined$' "$T/notify.log" || rc=1
bash "$T/write.sh" without-big
kill -HUP $d
until_ok has MESSAGE_ID="$ID_DETACHED" || { echo "no detach record" >&2; rc=1; }
kill -TERM $d
wait $d || rc=1
[ $rc -eq 0 ] || { ls -R /run/log/journal; journalctl -D "$(jdir)" -n 15 --no-pager _TRANSPORT=journal + _TRANSPORT=stdout; } >&2
journalctl -D "$(jdir)" -o json SYSLOG_IDENTIFIER=followerd >"$T/journal.json"
journalctl -D "$(jdir)" -o json FOLLOWER_DATABASE=Logs >"$T/logs.json"
kill $j $s
wait $j
exit $rc
SH
{ declare -f write daemon_conf attach_conf; printf 'CONF=%q T=%q L=%q STATE=%q FOLLOWER_NAME=%q\nwrite "$1"\n' \
	"$CONF" "$T" "$L" "$STATE" "$FOLLOWER_NAME"; } >"$T/write.sh"

WANT="$ID_ATTACHED $ID_APPLIED $ID_UNREACHABLE $ID_QUARANTINED $ID_DISK_FULL" ID_DISK_OK=$ID_DISK_OK \
	ID_DETACHED=$ID_DETACHED timeout 90 unshare -m --propagation private \
	bash "$T/inner.sh" "$T" "$FOLLOWERD" "$JOURNALD" "$CONF" "$TOOLS/notifysink" 2>"$T/inner.err"
rc=$?
[ "$rc" -eq 77 ] && skip_all "cannot mount tmpfs here"
check_eq "followerd under a real journald: every event arrives, exit 0" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/inner.err" "$T/d.err" | head -20
check_eq "nothing went to stderr" "" "$(cat "$T/d.err")"

# rec ID [JQ FILTER]: the first record of a kind.
rec() { jq -c "select(.MESSAGE_ID == \"$1\")${2:+ | $2}" "$T/journal.json" | head -1; }
field() { rec "$1" ".$2 // empty" | jq -r .; }

V=$(lc "$L" show Logs --json | jq -r .database.version)
check_match "version applied: FOLLOWER_DATABASE, LEADER, APPLIED_VERSION" \
	"^Logs $L $V\$" "$(rec $ID_APPLIED "select(.APPLIED_VERSION == \"$V\")" |
		jq -r '"\(.FOLLOWER_DATABASE) \(.LEADER) \(.APPLIED_VERSION)"')"
check_match "... MESSAGE names the configuration, PRIORITY 6" "^6 logs: applied version $V" \
	"$(rec $ID_APPLIED "select(.APPLIED_VERSION == \"$V\")" | jq -r '"\(.PRIORITY) \(.MESSAGE)"')"
check_match "... LEADER_VERSION when the leader is ahead" '^[0-9]+$' \
	"$(rec $ID_APPLIED 'select(.LEADER_VERSION != null)' | jq -r .LEADER_VERSION)"
check_eq "database attached: its own MESSAGE_ID, PRIORITY 5" "5 Logs" \
	"$(rec $ID_ATTACHED 'select(.FOLLOWER_DATABASE == "Logs")' | jq -r '"\(.PRIORITY) \(.FOLLOWER_DATABASE)"')"
check_eq "database detached (SIGHUP removed it): FOLLOWER_DATABASE=Big" "Big" "$(field $ID_DETACHED FOLLOWER_DATABASE)"
check_eq "leader unreachable: LEADER= names it" "$T/nowhere" "$(field $ID_UNREACHABLE LEADER)"
check_match "... URL= the object that failed" "^file://$T/nowhere/" "$(field $ID_UNREACHABLE URL)"
check_match "... ERRNO= the error" '^[0-9]+$' "$(field $ID_UNREACHABLE ERRNO)"
check_eq "... PRIORITY 4" 4 "$(field $ID_UNREACHABLE PRIORITY)"
check_eq "... logged once, not every poll" 1 "$(jq -c "select(.MESSAGE_ID == \"$ID_UNREACHABLE\")" "$T/journal.json" | wc -l)"
check_eq "artifact quarantined: ARTIFACT_SHA256, EXTENT_ID, FOLLOWER_DATABASE" "$BAD $BAD_EXTENT Logs" \
	"$(rec $ID_QUARANTINED | jq -r '"\(.ARTIFACT_SHA256) \(.EXTENT_ID) \(.FOLLOWER_DATABASE)"')"
check_match "... URL= where it came from, ERRNO= EBADMSG (74)" "^file://$L/artifacts/${BAD:0:2}/$BAD 74\$" \
	"$(rec $ID_QUARANTINED | jq -r '"\(.URL) \(.ERRNO)"')"
check_eq "disk full: PRIORITY 3, the artifact, ERRNO= ENOSPC (28)" "3 $BIG Big 28" \
	"$(rec $ID_DISK_FULL | jq -r '"\(.PRIORITY) \(.ARTIFACT_SHA256) \(.FOLLOWER_DATABASE) \(.ERRNO)"')"
check_eq "... logged once" 1 "$(jq -c "select(.MESSAGE_ID == \"$ID_DISK_FULL\")" "$T/journal.json" | wc -l)"
check "disk space available again: its own record" test -n "$(rec $ID_DISK_OK)"
check "journalctl FOLLOWER_DATABASE=Logs finds only Logs' records" \
	test "$(jq -r .FOLLOWER_DATABASE "$T/logs.json" | sort -u)" = Logs
check "... and has its applied and quarantined records" \
	test "$(jq -r .MESSAGE_ID "$T/logs.json" | grep -c -e $ID_APPLIED -e $ID_QUARANTINED)" -ge 2
check_match "STATUS= says the disk is full" \
	'^[0-9]+ STATUS=3 databases, max lag [0-9]+[smhd], cache [0-9.]+(/[0-9.]+)? [KMGT]?i?B, 1 error(, 1 artifact quarantined)?, disk full$' \
	"$(grep 'disk full' "$T/notify.log" | head -1)"
check "... then, once there is room, only the quarantined artifact" \
	grep -Eq '^[0-9]+ STATUS=3 databases, .*, 1 error, 1 artifact quarantined$' "$T/notify.log"
check_eq "every record carries CODE_FILE/CODE_LINE/CODE_FUNC" 0 \
	"$(jq -c 'select(.CODE_FILE == null or .CODE_LINE == null or .CODE_FUNC == null)' "$T/journal.json" | wc -l)"

done_testing
