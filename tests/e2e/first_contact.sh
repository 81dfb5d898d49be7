#!/usr/bin/env bash
# First contact: the README's first command, `make demo`, on a copy of the
# tree as a fresh clone has it, on a machine where the build libraries only
# appear once the command's own install step has run.  Stand-ins on PATH make
# this machine look like a fresh one: pkg-config and dpkg-query answer nothing
# and apt-get "installs" (a marker file) until then, after which both hand
# over to the real tools.  A make that reads pkg-config before the install
# (links with no libraries) fails here, as it did on a fresh Debian 12.
# Without a terminal the demo must run its whole tour and exit 0.
. "$(dirname "$0")/lib.sh"

real_pc=$(command -v pkg-config) || skip_all "pkg-config not installed (make deps)"
real_dq=$(command -v dpkg-query) || skip_all "not a Debian machine (no dpkg-query)"

src=$T/src
fake=$T/fakebin
marker=$T/installed
mkdir -p "$src" "$fake"
# What a clone holds: the tracked files (as in the work tree) and new ones
# not ignored; no build output, no node_modules.
git -C "$E2E_ROOT" ls-files -z -co --exclude-standard |
	(cd "$E2E_ROOT" && xargs -0 tar -cf - --no-recursion 2>/dev/null) | tar -xf - -C "$src"

cat >"$fake/pkg-config" <<EOF
#!/bin/sh
[ -e "$marker" ] || exit 1
exec "$real_pc" "\$@"
EOF
cat >"$fake/dpkg-query" <<EOF
#!/bin/sh
[ -e "$marker" ] || exit 1
exec "$real_dq" "\$@"
EOF
cat >"$fake/apt-get" <<EOF
#!/bin/sh
echo "apt-get \$*" >>"$T/apt.log"
case " \$* " in *" install "*) touch "$marker" ;; esac
exit 0
EOF
# deps.sh installs as root and otherwise only prints the command.
cat >"$fake/id" <<'EOF'
#!/bin/sh
[ "$1" = -u ] && { echo 0; exit 0; }
exec /usr/bin/id "$@"
EOF
chmod +x "$fake"/*

# A make of ours (make test) must not leak its flags (SANITIZE=1, -j, the
# jobserver) into the user's command.  A demo that stays in the foreground
# is ended by the timeout (and fails).
fresh_make() {
	(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u BUILD \
		PATH="$fake:$PATH" DEMO_LISTEN="127.0.0.1:$port" timeout 600 make -j2 "$@" </dev/null)
}

port=$(free_port)
start=$SECONDS
if fresh_make demo >"$T/demo.log" 2>&1; then
	ok "make demo on a machine without the build libraries exits 0 ($((SECONDS - start)) s)"
else
	not_ok "make demo on a machine without the build libraries exits 0"
	grep -m3 'undefined reference' "$T/demo.log" | sed 's/^/# /'
	tail -15 "$T/demo.log" | sed 's/^/# /'
fi
check_match "its install step ran apt-get install with the build libraries" \
	'apt-get install .*libsqlite3-dev.*' "$(cat "$T/apt.log" 2>/dev/null)"
check "followerd was linked (it runs)" "$src/build/followerd" --version
demo=$(cat "$T/demo.log")
check_match "the tour published the sample leader" '== leaderctl -C demo/leader verify' "$demo"
check_match "the tour followed it once" 'followerd -c demo/followerd.conf --once' "$demo"
check_match "the daemon served a view" '"name": "Telemetry"' "$demo"
check_match "followerctl status answered" '== .*followerctl -c demo/followerd.conf status' "$demo"
check_match "the Kusto .show tables answered with the tables" $'Events\t' "$demo"
check_match "without a terminal it ends instead of staying in the foreground" '== demo done' "$demo"
check_fails "and it stopped the daemon it started" curl -sf "http://127.0.0.1:$port/healthz"

# The other README targets that build: a make started before the libraries
# are there stops at once, naming the cause, rather than linking nothing.
rm -f "$marker"
touch "$src/lib/util/pqueue.c"
fresh_make all >"$T/all.log" 2>&1
rc=$?
check_eq "make without the build libraries fails" 2 "$rc"
check_match "naming the missing libraries and the fix" "build libraries were missing.*make deps" \
	"$(cat "$T/all.log")"
check_fails "without hundreds of undefined references" grep -q 'undefined reference' "$T/all.log"

# make install installs what is missing, then builds and installs.
: >"$T/apt.log"
if fresh_make install DESTDIR="$T/root" PREFIX=/usr >"$T/install.log" 2>&1; then
	ok "make install on a machine without the build libraries exits 0"
else
	not_ok "make install on a machine without the build libraries exits 0"
	tail -15 "$T/install.log" | sed 's/^/# /'
fi
check_match "its install step ran first" 'apt-get install' "$(cat "$T/apt.log")"
check "it installed the daemon" test -x "$T/root/usr/sbin/followerd"
done_testing
