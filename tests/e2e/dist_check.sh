#!/usr/bin/env bash
# dist_check — the distribution packages build from the tree and pass their
# checks: scripts/dist-check.sh (dpkg-buildpackage -us -uc -b, lintian with
# no error, the .deb's files, conffiles and maintainer scripts; the RPM spec
# parsed and built with rpmbuild -bb --nodeps --nocheck: DIST_CHECK_QUICK,
# since the Debian build has just run the unit tests on the same sources).  Each of its "ok:" and
# "FAIL:" lines becomes a TAP line.  Needs root (it installs dpkg-dev,
# debhelper, lintian and rpm with apt) or those tools already there.
source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	for c in dpkg-buildpackage lintian rpmbuild; do
		command -v $c >/dev/null || skip_all "$c missing and not root (apt cannot install it)"
	done
fi
# the runner's make variables (SANITIZE, TESTS, BUILD...) must not reach the
# package builds, which run make and the unit tests their own way
env -u SANITIZE -u TESTS -u BUILD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DIST_CHECK_QUICK=1 \
	bash "$root/scripts/dist-check.sh" >"$T/dist.log" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"dist-check: ok: "*) ok "${line#dist-check: ok: }" ;;
	"dist-check: FAIL: "*) not_ok "${line#dist-check: FAIL: }" ;;
	esac
done <"$T/dist.log"
check_eq "dist-check exits 0" 0 "$rc"
[ "$rc" -eq 0 ] || tail -20 "$T/dist.log" | sed 's/^/# /'
done_testing
