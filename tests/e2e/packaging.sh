#!/usr/bin/env bash
# packaging — what a distribution installs: `make install DESTDIR=... PREFIX=`
# puts the programs, the man pages, the configuration, the systemd units and
# the sysusers.d file where they belong; the units pass `systemd-analyze
# verify` without a word and `systemd-analyze security` at exposure <= 1.5;
# the shipped configuration is valid; the man pages render without a
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
