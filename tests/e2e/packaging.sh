#!/usr/bin/env bash
# packaging — what a distribution installs: `make install DESTDIR=... PREFIX=`
# puts the programs, the man pages, the configuration, the systemd units and
# the sysusers.d file where they belong; the units pass `systemd-analyze
# verify` without a word and `systemd-analyze security` at exposure <= 1.5;
# the shipped configuration is valid; the daemon, run under strace, stays
# within what the unit's sandbox allows; the man pages render without a
# warning.  The .deb and .rpm builds are `make dist-check` (slower, more
# tools).
#
# `systemd-analyze verify` wants ExecStart's binary to exist: it checks a
# copy of the installed units whose /usr/sbin/followerd is rewritten to the
# DESTDIR's, and the test makes sure that rewrite is the only difference.
source "$(dirname "$0")/lib.sh"

[ -x "$FOLLOWERD" ] || skip_all "followerd not built"

MAX_EXPOSURE=1.5
ROOT=$T/root
# skip DESC REASON: a TAP line for a check this machine cannot make.
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
# The build directory the test runner uses, so `make install` rebuilds nothing.
make_install() {
	make -s -C "$E2E_ROOT" B="$BUILD" SANITIZE="${SANITIZE:-}" install "$@"
}

# ---- make install ----
check "make install DESTDIR PREFIX=/usr" make_install DESTDIR="$ROOT" PREFIX=/usr
check "the daemon in /usr/sbin runs" "$ROOT/usr/sbin/followerd" --version
for p in leaderctl followerctl; do
	if [ -x "$BUILD/$p" ]; then
		check "$p in /usr/bin" test -x "$ROOT/usr/bin/$p"
	fi
done
for m in "$E2E_ROOT"/man/*.[158]; do
	n=$(basename "$m")
	check "man page $n in man${n##*.}" cmp "$m" "$ROOT/usr/share/man/man${n##*.}/$n"
done
check "man/followerd.8 exists" test -f "$E2E_ROOT/man/followerd.8"
check "followerd.conf installed" cmp "$E2E_ROOT/conf/followerd.conf" "$ROOT/etc/followerd/followerd.conf"
check "followerd.conf.example installed" test -f "$ROOT/etc/followerd/followerd.conf.example"
UNITS=$ROOT/usr/lib/systemd/system
check "followerd.service installed" test -f "$UNITS/followerd.service"
check "followerd.socket installed" test -f "$UNITS/followerd.socket"
check "sysusers.d/followerd.conf installed" test -f "$ROOT/usr/lib/sysusers.d/followerd.conf"

out=$("$ROOT/usr/sbin/followerd" -n -c "$ROOT/etc/followerd/followerd.conf" 2>&1)
rc=$?
check_eq "the shipped configuration passes followerd -n" 0 "$rc"
[ "$rc" -eq 0 ] || diag "$out"

# A second install keeps a local configuration; the example is refreshed.
echo '# local change' >>"$ROOT/etc/followerd/followerd.conf"
check "make install again" make_install DESTDIR="$ROOT" PREFIX=/usr
check "... keeps the local followerd.conf" grep -q '^# local change' "$ROOT/etc/followerd/followerd.conf"
check "... refreshes followerd.conf.example" cmp "$E2E_ROOT/conf/followerd.conf" "$ROOT/etc/followerd/followerd.conf.example"

# The units follow PREFIX.
check "make install PREFIX=/usr/local" make_install DESTDIR="$T/local" PREFIX=/usr/local
check_match "PREFIX=/usr/local: ExecStart runs /usr/local/sbin/followerd" \
	'^ExecStart=/usr/local/sbin/followerd -c /etc/followerd/followerd.conf$' \
	"$(grep '^ExecStart=' "$T/local/usr/local/lib/systemd/system/followerd.service" 2>&1)"

# ---- what the units say ----
svc=$UNITS/followerd.service
for line in 'Type=notify' 'NotifyAccess=main' \
	'ExecStart=/usr/sbin/followerd -c /etc/followerd/followerd.conf' \
	'ExecReload=/bin/kill -HUP $MAINPID' 'WatchdogSec=30s' 'Restart=on-failure' \
	'User=followerd' 'StateDirectory=followerd' 'CacheDirectory=followerd' \
	'RuntimeDirectory=followerd' 'NonBlocking=yes'; do
	check "followerd.service: $line" grep -qxF -- "$line" "$svc"
done
for line in 'ListenStream=127.0.0.1:8080' 'Service=followerd.service'; do
	check "followerd.socket: $line" grep -qxF -- "$line" "$UNITS/followerd.socket"
done
check_match "sysusers.d creates the unit's user" '^u followerd ' \
	"$(grep -v '^#' "$ROOT/usr/lib/sysusers.d/followerd.conf")"
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then
	mkdir -p "$T/sysroot/etc" "$T/sysroot/usr/lib/sysusers.d"
	cp "$ROOT/usr/lib/sysusers.d/followerd.conf" "$T/sysroot/usr/lib/sysusers.d/"
	check "systemd-sysusers accepts the file" systemd-sysusers --root="$T/sysroot"
	check_match "... and creates followerd with no login shell" \
		'^followerd:x:[0-9]+:[0-9]+:[^:]*:/var/lib/followerd:/usr/sbin/nologin$' \
		"$(cat "$T/sysroot/etc/passwd" 2>&1)"
else
	skip "systemd-sysusers accepts the file" "needs root and systemd-sysusers"
fi

# ---- systemd-analyze ----
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify" "systemd-analyze is not installed (Debian: systemd)"
	skip "systemd-analyze security" "systemd-analyze is not installed (Debian: systemd)"
	done_testing
fi

V=$T/verify
mkdir -p "$V"
sed "s|/usr/sbin/followerd|$ROOT/usr/sbin/followerd|g" "$svc" >"$V/followerd.service"
cp "$UNITS/followerd.socket" "$V/"
changed=$(diff "$svc" "$V/followerd.service" | grep '^[<>]' | grep -cv '^[<>] ExecStart=')
check_eq "the verified copy differs only in ExecStart's path" 0 "$changed"

# verify exits 0 on unknown keys: any output at all is a failure.  MANPATH
# lets it find the pages named by Documentation=.
verify() { MANPATH=$ROOT/usr/share/man SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$@" 2>&1; }
out=$(verify "$V/followerd.service" "$V/followerd.socket")
check_eq "systemd-analyze verify: service and socket, no output" "" "$out"

# The check can fail: a misplaced key is reported.
mkdir -p "$T/bad"
sed 's/^\[Socket\]$/[Socket]\nNoSuchKey=1/' "$V/followerd.socket" >"$T/bad/followerd.socket"
cp "$V/followerd.service" "$T/bad/"
check_match "systemd-analyze verify reports a bad key" 'NoSuchKey' \
	"$(verify "$T/bad/followerd.service" "$T/bad/followerd.socket")"

sec=$(systemd-analyze security --offline=yes "$svc" 2>&1)
level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for followerd.service: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
	not_ok "systemd-analyze security prints an exposure level"
	printf '%s\n' "$sec" | tail -5 | sed 's/^/# /'
elif awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'; then
	ok "systemd-analyze security: exposure $level <= $MAX_EXPOSURE"
else
	not_ok "systemd-analyze security: exposure $level <= $MAX_EXPOSURE"
	printf '%s\n' "$sec" | grep '✗' | sed 's/^/# /'
fi

# ---- the daemon inside the unit's sandbox ----
# There is no systemd to run the unit here, so the daemon runs under strace
# (start, reload, stop) and what it did is held against the unit: every
# system call within SystemCallFilter=, no writable+executable memory
# (MemoryDenyWriteExecute=), socket families within RestrictAddressFamilies=,
# writes only in its own directories (ProtectSystem=strict), nothing under
# /home, /root or /run/user (ProtectHome=) and no /proc file but a process's
# (ProcSubset=pid).

# expand NAME...: the system calls NAME (a call or a @group) stands for.
expand() {
	local x
	for x in "$@"; do
		case $x in
		@*) systemd-analyze syscall-filter "$x" | sed -n '2,$p' | grep -v '^ *#' |
			tr -d ' ' | grep . | while read -r y; do expand "$y"; done ;;
		*) echo "$x" ;;
		esac
	done
}
# The calls the unit's SystemCallFilter= lines allow, one per line: as
# systemd.exec(5) says, the first line (an allow list here) sets the
# default, each later one adds its calls to the set or (~) takes them out.
allowed_calls() {
	local line set=""
	while read -r line; do
		read -ra w <<<"${line#\~}"
		case $line in
		'~'*) set=$(comm -23 <(printf '%s' "$set" | sort -u) <(expand "${w[@]}" | sort -u)) ;;
		*) set=$(printf '%s\n%s\n' "$set" "$(expand "${w[@]}")" | grep . | sort -u) ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	printf '%s\n' "$set"
}
# until_ok SECONDS CMD...: poll CMD every 50 ms until it succeeds or time runs out.
until_ok() {
	local i n=$(($1 * 20)); shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}

# written_paths TRACE: the paths a `strace -f -y` trace wrote: opened for
# writing or created, made, removed, renamed or bound (AF_UNIX).
written_paths() {
	grep -E '^[0-9]+ +(open|openat|creat|mkdir|mkdirat|unlink|unlinkat|rename|renameat2?|link|linkat|symlink|symlinkat|bind)\(' "$1" |
		awk '/^[0-9]+ +(open|openat)\(/ && !/O_WRONLY|O_RDWR|O_CREAT/ { next }
		     /^[0-9]+ +bind\(/ && !/sun_path=/ { next } { print }' |
		grep -oE '[0-9]+<[^>]*>, "[^"]*"|AT_FDCWD(<[^>]*>)?, "[^"]*"|\("[^"]*"|sun_path="[^"]*"' |
		sed -E 's/^[^"]*, "(\/[^"]*)"$/\1/; s/^([0-9]+|AT_FDCWD)<([^>]*)>, "([^"]*)"$/\2\/\3/
			s/^AT_FDCWD, "(.*)"$/\1/; s/^\("(.*)"$/\1/; s/^sun_path="(.*)"$/\1/' |
		sort -u
}
cat >"$T/trace.sample" <<'EOF'
12 openat(AT_FDCWD</>, "/etc/followerd/followerd.conf", O_RDONLY|O_CLOEXEC) = 3</etc/followerd/followerd.conf>
12 openat(5</x/state>, "store.db", O_RDWR|O_CREAT|O_CLOEXEC, 0640) = 6</x/state/store.db>
12 openat(AT_FDCWD</>, "/x/cache/tmp.1", O_WRONLY|O_CREAT|O_EXCL, 0640 <unfinished ...>
13 mkdir("/var/lib/elsewhere", 0750) = 0
13 renameat(5</x/state>, "a.tmp", 5</x/state>, "a") = 0
13 bind(7<UNIX:[99]>, {sa_family=AF_UNIX, sun_path="/x/run/admin.sock"}, 110) = 0
13 bind(8<TCP:[100]>, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
14 openat(AT_FDCWD</x/cwd>, "rel.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</x/cwd/rel.txt>
14 unlinkat(5</x/state>, "/etc/abs", 0) = -1 EACCES (Permission denied)
EOF
check_eq "the trace parser finds the paths written" \
	"/etc/abs /var/lib/elsewhere /x/cache/tmp.1 /x/cwd/rel.txt /x/run/admin.sock /x/state/a /x/state/a.tmp /x/state/store.db" \
	"$(written_paths "$T/trace.sample" | tr '\n' ' ' | sed 's/ $//')"

if ! command -v strace >/dev/null || ! strace -qq -o /dev/null true 2>/dev/null; then
	skip "the daemon within the unit's sandbox" "strace is missing or cannot trace here"
elif [ ! -x "$TOOLS/notifysink" ]; then
	skip "the daemon within the unit's sandbox" "notifysink not built"
else
	S=$T/sandbox
	mkdir -p "$S/state" "$S/cache" "$S/run"
	printf '[daemon]\nstate_dir = %s\ncache_dir = %s\nadmin_socket = %s\nlisten = 127.0.0.1:0\n\n' \
		"$S/state" "$S/cache" "$S/run/admin.sock" >"$S/followerd.conf"
	printf '[attach "logs"]\nleader = %s\ndatabase = Logs\n' "$S/leader" >>"$S/followerd.conf"
	bg "$TOOLS/notifysink" "$S/notify.sock" >"$S/notify.log"
	until_ok 5 test -S "$S/notify.sock"
	# LeakSanitizer cannot work under ptrace (SANITIZE=1 builds).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		NOTIFY_SOCKET=$S/notify.sock WATCHDOG_USEC=200000 \
		bg strace -f -qq -y -o "$S/trace" "$FOLLOWERD" -c "$S/followerd.conf" 2>"$S/daemon.err"
	tracer=$BG_PID
	check "under strace: READY=1" until_ok 20 grep -q 'READY=1' "$S/notify.log"
	pid=$(pgrep -P "$tracer" | head -1)
	kill -HUP "$pid" 2>/dev/null
	check "under strace: RELOADING=1 on SIGHUP" until_ok 10 grep -q 'RELOADING=1' "$S/notify.log"
	# a function: until_ok runs it again each time (a "$(grep -c ...)" in the
	# arguments would be counted once, before the reload's READY=1 came)
	ready_twice() { [ "$(grep -c 'READY=1' "$S/notify.log")" -ge 2 ]; }
	check "under strace: READY=1 after the reload" until_ok 10 ready_twice
	kill -TERM "$pid" 2>/dev/null
	wait "$tracer"
	check_eq "under strace: SIGTERM, exit 0" 0 $?

	# "PID call(args) = ret", "PID call(args <unfinished ...>", "PID <... call resumed>".
	calls=$(sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/^([a-z0-9_]+)\(.*/\1/' \
		"$S/trace" | grep -E '^[a-z0-9_]+$' | sort -u)
	# SQLite chowns its -journal/-wal/-shm files to the database's owner when
	# euid is 0 (this test may run as root); the unit's User=followerd never is.
	[ "$(id -u)" -ne 0 ] || calls=$(grep -vx fchown <<<"$calls")
	check "the trace holds the daemon's system calls" grep -q 'epoll_wait' <<<"$calls"
	bad=$(comm -23 <(printf '%s\n' "$calls") <(allowed_calls "$svc") | tr '\n' ' ')
	check_eq "SystemCallFilter= allows every system call made" "" "$bad"
	bad=$(grep -E '^[0-9]+ +(mmap|mprotect|pkey_mprotect)\(' "$S/trace" |
		grep -E 'PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' | head -3)
	check_eq "MemoryDenyWriteExecute=: no writable executable mapping" "" "$bad"
	families=$(sed -n -E 's/^[0-9]+ +socket\((AF_[A-Z0-9]+),.*/\1/p' "$S/trace" | sort -u | tr '\n' ' ')
	bad=$(comm -23 <(printf '%s\n' $families | sort -u) \
		<(sed -n 's/^RestrictAddressFamilies=//p' "$svc" | tr ' ' '\n' | sort -u) | tr '\n' ' ')
	check_eq "RestrictAddressFamilies= covers the sockets made ($families)" "" "$bad"
	written=$(written_paths "$S/trace")
	diag "paths written: $(echo $written)"
	bad=$(grep -vE "^($S/(state|cache|run)(/|\$)|/dev/null\$|/var/tmp/)" <<<"$written" | head -5)
	check_eq "ProtectSystem=strict: writes only in the state, cache and runtime directories" "" "$bad"
	bad=$(grep -oE '"/(home|root|run/user)(/[^"]*)?"' "$S/trace" | sort -u | head -5)
	check_eq "ProtectHome=: nothing under /home, /root or /run/user" "" "$bad"
	bad=$(grep -oE '"/proc/[^"]*"' "$S/trace" | grep -vE '^"/proc/(self|thread-self|[0-9]+)(/|")' |
		sort -u | head -5)
	check_eq "ProcSubset=pid: no /proc file but a process's" "" "$bad"
fi

# ---- man pages ----
if command -v man >/dev/null && command -v lexgrog >/dev/null; then
	for m in "$E2E_ROOT"/man/*.[158]; do
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$m" 2>&1 >/dev/null)
		check_eq "man --warnings $(basename "$m"): no output" "" "$out"
		check "lexgrog finds the NAME line of $(basename "$m")" lexgrog "$m"
	done
else
	skip "man pages render without warnings" "man-db is not installed"
fi

done_testing
