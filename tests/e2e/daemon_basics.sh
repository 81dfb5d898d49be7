#!/usr/bin/env bash
# daemon_basics — followerd's process shell, as a service manager sees it:
# arguments and exit codes, -n, sd_notify (STATUS=, READY=1, the watchdog's
# rate and its silence while the process is stopped, RELOADING=1 +
# MONOTONIC_USEC= then READY=1 on SIGHUP, STOPPING=1 and exit 0 on SIGTERM),
# the stderr formats ("<N>" prefixes, -d timestamps) and secret redaction.
#
# notifysink (tests/tools/notifysink.c) plays systemd's end of NOTIFY_SOCKET
# and prints "<monotonic µs> <message>" per datagram.
source "$(dirname "$0")/lib.sh"

[ -x "$FOLLOWERD" ] || skip_all "followerd not built"
[ -x "$TOOLS/notifysink" ] || skip_all "notifysink not built"

# until SECONDS CMD...: poll CMD every 50 ms until it succeeds or time runs out.
until_ok() {
	local i n=$(($1 * 20)); shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }
at_least() { [ "$(count "$2" "$3")" -ge "$1" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# The line number of the first line matching REGEX after line N (0: none).
first_after() { awk -v n="$1" -v re="$2" 'NR > n && $0 ~ re { print NR; exit }' "$3" | grep . || echo 0; }

# ready_after_reload N: a READY=1 follows the first RELOADING=1 after line N.
ready_after_reload() {
	local r
	r=$(first_after "$1" 'RELOADING=1' "$NLOG")
	[ "$r" -gt 0 ] && [ "$(first_after "$r" 'READY=1' "$NLOG")" -gt 0 ]
}

# write_conf FILE [LOG_LEVEL [EXTRA...]]: a configuration followerd accepts.
write_conf() {
	local f=$1 level=${2:-info}
	shift $(($# < 2 ? $# : 2))
	{
		printf '[daemon]\nstate_dir = %s\ncache_dir = %s\nlog_level = %s\n' \
			"$T/state" "$T/cache" "$level"
		# any free port, a private admin socket: tests may run side by side
		printf 'listen = 127.0.0.1:0\nadmin_socket = %s\n\n' "$T/admin.sock"
		printf '[attach "logs"]\nleader = %s\ndatabase = Logs\n' "$T/leader"
		[ $# -eq 0 ] || printf '%s\n' "" "$@"
	} >"$f"
}
GOOD=$T/good.conf
write_conf "$GOOD"
BAD=$T/bad.conf
printf '[daemon]\nstate_dir = %s\nno_such_key = 1\n' "$T/state" >"$BAD"

# ---- arguments, -n, start failures ----
check_match "--version prints the version" '^followerd [0-9]' "$("$FOLLOWERD" --version)"
check "--help exits 0" "$FOLLOWERD" --help
"$FOLLOWERD" --no-such-option >/dev/null 2>&1
check_eq "an unknown option exits 2" 2 $?
"$FOLLOWERD" --log-level loud -n -c "$GOOD" >/dev/null 2>&1
check_eq "an unknown log level exits 2" 2 $?

out=$("$FOLLOWERD" -n -c "$GOOD" 2>&1)
check_eq "-n on a good configuration exits 0" 0 $?
check_match "-n says the configuration is OK" "configuration OK" "$out"

out=$("$FOLLOWERD" -n -c "$BAD" 2>&1)
check_eq "-n on a bad configuration exits 1" 1 $?
check_match "-n names the file and line" "^followerd: $BAD:3: .*no_such_key" "$out"

out=$(timeout 10 "$FOLLOWERD" -c "$BAD" 2>&1)
check_eq "starting on a bad configuration exits 1" 1 $?
check_match "... with FILE:LINE on stderr, <3> prefixed" "^<3>$BAD:3: " "$out"

out=$("$FOLLOWERD" -n -c "$T/missing.conf" 2>&1)
check_eq "-n on a missing file exits 1" 1 $?
check_match "-n names the missing file and why" "$T/missing.conf.*No such file or directory" "$out"

out=$(timeout 10 "$FOLLOWERD" -c "$T/missing.conf" 2>&1)
check_eq "starting on a missing configuration exits 1" 1 $?
check_match "... with the reason on stderr, <3> prefixed" "^<3>.*$T/missing.conf.*No such file" "$out"

out=$(timeout 10 "$FOLLOWERD" --once -c "$GOOD" 2>&1)
check_eq "--once exits 1 when a leader cannot be read" 1 $?
check_match "... and logs why" "^<3>.*logs: leader unreachable: .*$T/leader/head.json" "$out"

# ---- secrets never reach a log line ----
# The parser quotes the offending leader URL, SAS token included.
printf '[attach "x"]\nleader = %s\ndatabase = Logs\n' \
	'https://acct.blob.core.windows.net/c?sv=2022&sig=s3cr3tvalue' >"$T/sas.conf"
out=$(timeout 10 "$FOLLOWERD" -c "$T/sas.conf" 2>&1)
check_match "a URL is logged with its query values redacted" "^<3>$T/sas.conf:2: .*sv=REDACTED&sig=REDACTED" "$out"
out+=$("$FOLLOWERD" -n -c "$T/sas.conf" 2>&1)
out+=$(timeout 10 "$FOLLOWERD" -c "https://acct.blob.core.windows.net/c?sv=2022&sig=s3cr3tvalue" 2>&1)
# A credentials file readable by others is warned about, its content never shown.
printf 'sv=2022&sig=s3cr3tvalue\n' >"$T/leader.sas"
chmod 0644 "$T/leader.sas"
write_conf "$T/open.conf" info '[attach "sas"]' "leader = https://acct.blob.core.windows.net/c" \
	"database = Other" "sas_token_file = $T/leader.sas"
o2=$(timeout 10 "$FOLLOWERD" --once -c "$T/open.conf" 2>&1)
check_match "a group/world-readable credentials file is warned about" \
	'^<4>attach sas: its credentials file is readable by group or others' "$o2"
out+=$o2
out+=$("$FOLLOWERD" -n -c "$T/x.conf?sig=s3cr3tvalue&se=2030" 2>&1)
out+=$(timeout 10 "$FOLLOWERD" -d -c "$T/y.conf?sig=s3cr3tvalue" 2>&1)
if printf '%s' "$out" | grep -q s3cr3tvalue; then
	not_ok "no log line shows the secret"; printf '%s\n' "$out" | sed 's/^/# /'
else ok "no log line shows the secret"; fi

# ---- under a service manager: NOTIFY_SOCKET and the watchdog ----
SOCK=$T/notify.sock
NLOG=$T/notify.log
bg "$TOOLS/notifysink" "$SOCK" >"$NLOG"
until_ok 5 test -S "$SOCK" || { not_ok "notifysink did not start"; done_testing; }

NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=400000 bg "$FOLLOWERD" -c "$GOOD" 2>"$T/d1.err"
PID=$BG_PID
check "READY=1 arrives" until_ok 10 at_least 1 'READY=1' "$NLOG"
ready_line=$(first_after 0 'READY=1' "$NLOG")
status_line=$(first_after 0 'STATUS=starting' "$NLOG")
check "STATUS=starting... is sent before READY=1" test "$status_line" -gt 0 -a "$status_line" -lt "$ready_line"
check_match "READY=1 carries a one-line STATUS=" 'READY=1 STATUS=[^ ].*' "$(grep 'READY=1' "$NLOG" | head -1)"

# WATCHDOG_USEC=400000: a ping every 200 ms.  Judge the sink's own receive
# times: pings within 2 s of the first, and the median interval.
check "WATCHDOG=1 pings arrive" until_ok 10 at_least 12 'WATCHDOG=1' "$NLOG"
pings=$(grep 'WATCHDOG=1' "$NLOG" | cut -d' ' -f1)
n2s=$(printf '%s\n' "$pings" | awk 'NR == 1 { t0 = $1 } $1 - t0 < 2000000 { n++ } END { print n + 0 }')
median=$(printf '%s\n' "$pings" | awk 'NR > 1 { print $1 - p } { p = $1 }' | sort -n |
	awk '{ d[NR] = $1 } END { print d[int((NR + 1) / 2)] + 0 }')
check "about 10 pings in 2 s at WATCHDOG_USEC=400000 (saw $n2s)" test "$n2s" -ge 8 -a "$n2s" -le 12
check "median ping interval near 200 ms (saw ${median} µs)" test "$median" -ge 150000 -a "$median" -le 260000

# A stopped process stops feeding the watchdog (the point of pinging from
# the loop); it resumes after SIGCONT.
before=$(count 'WATCHDOG=1' "$NLOG")
kill -STOP "$PID"
sleep 1.2   # asserting silence needs the time to pass
during=$(count 'WATCHDOG=1' "$NLOG")
kill -CONT "$PID"
check "no pings while SIGSTOPped (before $before, after 1.2 s $during)" test $((during - before)) -le 1
check "pings resume after SIGCONT" until_ok 5 at_least $((during + 2)) 'WATCHDOG=1' "$NLOG"
gap=$(grep 'WATCHDOG=1' "$NLOG" | awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
check "the sink saw a >= 1 s gap in pings (saw $gap µs)" test "$gap" -ge 1000000

# SIGHUP: RELOADING=1 + MONOTONIC_USEC (CLOCK_MONOTONIC, the sink's clock),
# then READY=1 again.
nlines=$(wc -l <"$NLOG")
kill -HUP "$PID"
check "SIGHUP sends RELOADING=1" until_ok 5 at_least 1 'RELOADING=1' "$NLOG"
reload=$(grep 'RELOADING=1' "$NLOG" | head -1)
check_match "RELOADING=1 comes with MONOTONIC_USEC=" 'RELOADING=1 MONOTONIC_USEC=[0-9]+' "$reload"
skew=$(printf '%s\n' "$reload" | sed -E 's/^([0-9]+) .*MONOTONIC_USEC=([0-9]+).*/\1 \2/' |
	awk '{ d = $1 - $2; if (d < 0) d = -d; print d }')
check "MONOTONIC_USEC is now on CLOCK_MONOTONIC (off by $skew µs)" test "$skew" -lt 2000000
check "READY=1 follows RELOADING=1" until_ok 5 ready_after_reload "$nlines"
check "the reload is logged" until_ok 5 grep -q 'configuration reloaded' "$T/d1.err"

check_match "... saying what changed" "configuration reloaded from $GOOD: no changes" "$(cat "$T/d1.err")"

# A bad configuration is rejected with FILE:LINE; the old one stays and the
# daemon still reports READY=1.
cp "$GOOD" "$GOOD.orig"
printf '[daemon]\nstate_dir = relative/path\n' >"$GOOD"
nlines=$(wc -l <"$NLOG")
kill -HUP "$PID"
check "a failed reload still ends in READY=1" until_ok 5 ready_after_reload "$nlines"
check "the rejection is logged with FILE:LINE" until_ok 5 \
	grep -q "^<3>configuration rejected, keeping the previous one: $GOOD:2: " "$T/d1.err"
check "READY=1 after a rejection says so in STATUS=" \
	grep -q "READY=1 STATUS=configuration rejected, previous one kept: $GOOD:2: " "$NLOG"
check "the daemon survives a rejected reload" kill -0 "$PID"

# A good change is applied, and the log says what changed; the file's
# log_level takes effect at once.
write_conf "$GOOD" debug '[attach "more"]' "leader = $T/leader2" "database = Metrics"
nlines=$(wc -l <"$NLOG")
kill -HUP "$PID"
check "the next reload is accepted" until_ok 5 ready_after_reload "$nlines"
check "... and logged with what changed" until_ok 5 \
	grep -q "configuration reloaded from $GOOD: added more; \[daemon\] log_level" "$T/d1.err"
kill -HUP "$PID"
check "log_level = debug from the file applies after the reload" until_ok 5 grep -q '^<7>' "$T/d1.err"
cp "$GOOD.orig" "$GOOD"

# SIGTERM: STOPPING=1, exit 0 within 5 s.
kill -TERM "$PID"
check "SIGTERM sends STOPPING=1" until_ok 5 at_least 1 'STOPPING=1' "$NLOG"
check "followerd exits within 5 s of SIGTERM" until_ok 5 gone "$PID"
wait "$PID"
check_eq "... with status 0" 0 $?

bad=$(grep -cvE '^<[0-7]>' "$T/d1.err")
check_eq "stderr (not a tty, no -d): every line has a <N> prefix" 0 "$bad"
[ "$bad" -eq 0 ] || grep -vE '^<[0-7]>' "$T/d1.err" | head -5 | sed 's/^/# /'
check "stderr has records" test -s "$T/d1.err"

# ---- STATUS= follows real leaders ----
# Two directory leaders; the daemon follows one, then both after a SIGHUP,
# then one becomes unreachable.  The line is "N databases, max lag L, cache
# USED/CAP UNIT, E errors", at most about once a second.
lc() { "$LEADERCTL" -C "$1" "${@:2}"; }
publish() {
	mkdir -p "$1" && lc "$1" init >/dev/null && lc "$1" create-database "$2" >/dev/null &&
		lc "$1" create-table "$2" Events 'ts:datetime,msg:string' >/dev/null &&
		awk -v d="$2" 'BEGIN { for (i = 0; i < 5000; i++) printf "2026-11-01T00:00:00Z,hello %s %06d\n", d, i }' \
			>"$T/$2.csv" &&
		lc "$1" ingest "$2" Events "$T/$2.csv" >/dev/null
}
# status_conf FILE [ATTACH LINES...]: "logs" follows real1; a 1 MiB cache.
status_conf() {
	{
		printf '[daemon]\nstate_dir = %s\ncache_dir = %s\n' "$T/sstate" "$T/scache"
		printf 'listen = 127.0.0.1:0\nadmin_socket = %s\n' "$T/admin2.sock"
		printf 'cache_max_size = 1M\npoll_interval = 200ms\n\n'
		printf '[attach "logs"]\nleader = %s\ndatabase = Logs\n\n' "$T/real1"
		[ $# -eq 1 ] || printf '%s\n' "${@:2}"
	} >"$1"
}
last_status() { grep -o 'STATUS=[0-9].*' "$SLOG" | tail -1; }
status_is() { last_status | grep -Eq "^STATUS=$1\$"; }
if [ -x "$LEADERCTL" ] && publish "$T/real1" Logs && publish "$T/real2" Metrics; then
	SCONF=$T/status.conf
	status_conf "$SCONF"
	SSOCK=$T/notify2.sock SLOG=$T/notify2.log
	bg "$TOOLS/notifysink" "$SSOCK" >"$SLOG"
	until_ok 5 test -S "$SSOCK"
	NOTIFY_SOCKET=$SSOCK bg "$FOLLOWERD" -c "$SCONF" 2>"$T/d3.err"
	PID=$BG_PID
	one='1 database, max lag 0s, cache [0-9]+\.[0-9]/1 MiB, 0 errors'
	check "STATUS=: 1 database, no lag, cache used/cap, 0 errors" until_ok 10 status_is "$one"
	# the artifacts of the hot extent arrive: the cache is no longer empty
	check "STATUS=: the cache fills" until_ok 10 status_is '1 database, max lag 0s, cache 0\.[1-9]/1 MiB, 0 errors'
	status_conf "$SCONF" '[attach "metrics"]' "leader = $T/real2" 'database = Metrics'
	kill -HUP "$PID"
	check "STATUS=: 2 databases after a SIGHUP adds one" until_ok 10 \
		status_is '2 databases, max lag 0s, cache [0-9]+\.[0-9]/1 MiB, 0 errors'
	mv "$T/real2" "$T/real2.gone"
	check "STATUS=: an unreachable leader is counted as an error" until_ok 10 \
		status_is '2 databases, max lag 0s, cache [0-9]+\.[0-9]/1 MiB, 1 error'
	mv "$T/real2.gone" "$T/real2"
	check "STATUS=: 0 errors once it is back" until_ok 10 \
		status_is '2 databases, max lag 0s, cache [0-9]+\.[0-9]/1 MiB, 0 errors'
	gaps=$(grep -E '^[0-9]+ STATUS=[0-9]' "$SLOG" | awk 'NR > 1 { print $1 - p } { p = $1 }' | sort -n | head -1)
	check "STATUS= updates come at most about once a second (shortest gap ${gaps:-none} µs)" \
		test "${gaps:-1000000}" -ge 900000
	kill -TERM "$PID"
	check "... and the daemon stops cleanly" until_ok 5 gone "$PID"
else
	ok "STATUS= with real leaders # SKIP leaderctl not built"
fi

# ---- -d, without NOTIFY_SOCKET; --log-level wins over the file ----
write_conf "$GOOD" debug
bg "$FOLLOWERD" -d --log-level info -c "$GOOD" 2>"$T/d2.err"
PID=$BG_PID
check "-d starts without NOTIFY_SOCKET" until_ok 10 grep -q 'ready' "$T/d2.err"
ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z followerd\[[0-9]+\]: (err|warning|notice|info|debug): '
kill -INT "$PID"
check "SIGINT stops it within 5 s" until_ok 5 gone "$PID"
wait "$PID"
check_eq "... with status 0" 0 $?
bad=$(grep -cvE "$ts" "$T/d2.err")
check_eq "-d: every line is 'TIMESTAMP followerd[PID]: level: message'" 0 "$bad"
[ "$bad" -eq 0 ] || grep -vE "$ts" "$T/d2.err" | head -5 | sed 's/^/# /'
check_match "-d: the pid is the daemon's" "followerd\[$PID\]: " "$(head -1 "$T/d2.err")"
check_eq "--log-level info beats the file's debug" 0 "$(grep -c ': debug: ' "$T/d2.err")"
write_conf "$GOOD"

# ---- under systemd: records go to the journal ----
# journald's socket has a fixed path, so a private mount namespace gets its
# own /run with notifysink bound there as the journal; followerd's stderr is
# a file whose dev:ino is in JOURNAL_STREAM, as systemd sets it.
cat >"$T/journal.sh" <<'SH'
set -u
sink=$1 jlog=$2 jerr=$3 followerd=$4 conf=$5
mount -t tmpfs none /run || exit 77
mkdir -p /run/systemd/journal
"$sink" /run/systemd/journal/socket >"$jlog" &
s=$!
wait_for() { local i; for ((i = 0; i < 200; i++)); do grep -q -- "$1" "$jlog" && return 0; sleep 0.05; done; return 1; }
for ((i = 0; i < 200; i++)); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
: >"$jerr"
JOURNAL_STREAM=$(stat -c %d:%i "$jerr") "$followerd" -c "$conf" 2>"$jerr" &
d=$!
wait_for 'MESSAGE=ready' && kill -HUP $d && wait_for 'MESSAGE=configuration reloaded'
kill -TERM $d
wait $d
rc=$?
kill $s
exit $rc
SH
SECRET_CONF="$T/good.conf?sig=s3cr3tvalue"
cp "$GOOD" "$SECRET_CONF"
if ! command -v unshare >/dev/null || ! unshare -m --propagation private true 2>/dev/null; then
	ok "journal output # SKIP no mount namespaces here"
else
	unshare -m --propagation private bash "$T/journal.sh" "$TOOLS/notifysink" "$T/journal.log" \
		"$T/j.err" "$FOLLOWERD" "$SECRET_CONF"
	check_eq "under JOURNAL_STREAM: runs and exits 0" 0 $?
	rec=$(grep 'MESSAGE=configuration reloaded' "$T/journal.log")
	check_match "a journal record has MESSAGE, PRIORITY, SYSLOG_IDENTIFIER" \
		'MESSAGE=configuration reloaded .* PRIORITY=5 SYSLOG_IDENTIFIER=followerd ' "$rec"
	check_match "... its MESSAGE_ID and structured fields" \
		"MESSAGE_ID=389e5699fea14bd397f861b70cca5b99 CONFIG_FILE=$T/good.conf\?sig=REDACTED" "$rec"
	check_eq "nothing else went to stderr" "" "$(cat "$T/j.err")"
	check_eq "no journal record shows the secret" 0 "$(grep -c s3cr3tvalue "$T/journal.log")"
fi

done_testing
