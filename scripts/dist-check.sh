#!/usr/bin/env bash
# dist-check — builds the distribution packages from the working tree and
# checks them (`make dist-check`, and tests/e2e/dist_check.sh in `make test`):
#   1. the Debian package: dpkg-buildpackage -us -uc -b (unit tests included),
#      lintian with no error, and its contents and maintainer scripts;
#   2. the RPM: rpmspec -P parses packaging/followerd.spec, and rpmbuild -bb
#      --nodeps builds it with stand-ins for the systemd RPM macros (Debian
#      has none) — a check of %install, %check and %files, not of Fedora's
#      dependency names.
# DIST_CHECK_QUICK=1 (tests/e2e/dist_check.sh) builds the RPM with
# --nocheck: its %check is `make unit` again, on the sources the Debian
# build has just tested with the same hardening flags, and it costs half a
# minute of `make test`.
# Everything happens on a copy of the tracked and untracked-but-not-ignored
# files in build-dist/, so the tree and its build/ are left alone; the
# packages stay there.  Installs its tools as root (apt), like deps.sh.
set -eu
cd "$(dirname "$0")/.."
top=$PWD
out=$top/build-dist
failed=0

fail() { echo "dist-check: FAIL: $*" >&2; failed=1; }
pass() { echo "dist-check: ok: $*"; }
elapsed() { echo "dist-check: $1 took $(($(date +%s) - $2)) s"; }

# ---- tools ----
bash scripts/deps.sh >/dev/null
need="dpkg-dev debhelper fakeroot lintian libcmocka-dev rpm"
missing=()
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	cmd="apt-get install -y --no-install-recommends ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "dist-check: missing Debian packages; run as root:" >&2
		echo "  apt-get update && $cmd" >&2
		exit 1
	fi
	echo "dist-check: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# After the tools: dpkg-parsechangelog is dpkg-dev's.
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
src=$out/followerd-$version

# ---- a copy of the tree ----
rm -rf "$out"
mkdir -p "$src"
git ls-files -co --exclude-standard -z | grep -zv '^tests/node_modules' |
	xargs -0 cp --parents -t "$src"
# The RPM's Source0, taken before the Debian build dirties the copy.
rpmtop=$out/rpm
rspec=$(sed -n 's/^Version:[[:space:]]*//p' packaging/followerd.spec)
mkdir -p "$rpmtop/SOURCES"
tar -C "$out" --transform "s|^followerd-$version|followerd-$rspec|" \
	-czf "$rpmtop/SOURCES/followerd-$rspec.tar.gz" "followerd-$version"

# ---- Debian ----
t0=$(date +%s)
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/deb-build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b"
else
	fail "dpkg-buildpackage (log: $out/deb-build.log)"
	tail -30 "$out/deb-build.log" >&2
fi
elapsed "the Debian build" "$t0"
deb=$out/followerd_${version}_$(dpkg --print-architecture).deb
if [ -f "$deb" ]; then
	t0=$(date +%s)
	# lintian warns when run as root; its verdict is unchanged.
	if lintian --fail-on error --info "${deb%.deb}.changes" >"$out/lintian.log" 2>&1; then
		pass "lintian: no error ($(grep -c '^W:' "$out/lintian.log" || true) warnings)"
	else
		fail "lintian reports errors"
	fi
	grep -E '^[EWI]:' "$out/lintian.log" | sed 's/^/    /' || true
	elapsed "lintian" "$t0"

	list=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
	for f in ./usr/sbin/followerd ./lib/systemd/system/followerd.service \
		./lib/systemd/system/followerd.socket ./usr/lib/sysusers.d/followerd.conf \
		./etc/followerd/followerd.conf ./usr/share/man/man8/followerd.8.gz \
		./usr/share/man/man5/followerd.conf.5.gz ./usr/share/doc/followerd/copyright; do
		grep -qxF "$f" <<<"$list" || fail "the .deb lacks $f"
	done
	ctl=$out/deb-control
	dpkg-deb -e "$deb" "$ctl"
	grep -qxF /etc/followerd/followerd.conf "$ctl/conffiles" ||
		fail "/etc/followerd/followerd.conf is not a conffile"
	# The user exists before the service first starts; the socket is not
	# enabled by the install.
	u=$(grep -n 'systemd-sysusers' "$ctl/postinst" | head -1 | cut -d: -f1)
	s=$(grep -n "deb-systemd-invoke .*followerd.service" "$ctl/postinst" | head -1 | cut -d: -f1)
	[ -n "$u" ] && [ -n "$s" ] && [ "$u" -lt "$s" ] ||
		fail "postinst does not run systemd-sysusers before starting the service"
	grep -q "deb-systemd-invoke .*followerd.socket" "$ctl/postinst" &&
		fail "postinst starts followerd.socket"
	[ "$failed" -eq 0 ] && pass "the .deb's files, conffiles and maintainer scripts"
fi

# ---- RPM ----
t0=$(date +%s)
cp packaging/followerd.sysusers "$rpmtop/SOURCES/"
# Stand-ins for systemd-rpm-macros (Fedora), enough to build.
cat >"$rpmtop/macros" <<'EOF'
%_unitdir /usr/lib/systemd/system
%_sysusersdir /usr/lib/sysusers.d
%systemd_requires Requires(post): systemd
%sysusers_requires_compat Requires(pre): /usr/bin/systemd-sysusers
%systemd_post() : systemd_post %{?*}
%systemd_preun() : systemd_preun %{?*}
%systemd_postun_with_restart() : systemd_postun_with_restart %{?*}
%sysusers_create_compat() : sysusers_create_compat %{?*}
EOF
rpmargs=(--load "$rpmtop/macros" --define "_topdir $rpmtop")
if rpmspec -P "${rpmargs[@]}" packaging/followerd.spec >"$rpmtop/parsed.spec" 2>"$rpmtop/rpmspec.log" &&
	! grep -q . "$rpmtop/rpmspec.log"; then
	pass "rpmspec -P parses packaging/followerd.spec"
else
	fail "rpmspec -P"; cat "$rpmtop/rpmspec.log" >&2
fi
nocheck=''
[ "${DIST_CHECK_QUICK:-0}" = 1 ] && nocheck=--nocheck
if rpmbuild -bb --nodeps $nocheck "${rpmargs[@]}" packaging/followerd.spec >"$rpmtop/build.log" 2>&1; then
	rpmfile=$(find "$rpmtop/RPMS" -name "followerd-$rspec-*.rpm" | head -1)
	files=$(rpm -qlp "$rpmfile")
	for f in /usr/sbin/followerd /usr/lib/systemd/system/followerd.service \
		/usr/lib/sysusers.d/followerd.conf /etc/followerd/followerd.conf; do
		grep -qxF "$f" <<<"$files" || fail "the .rpm lacks $f"
	done
	rpm -qp --configfiles "$rpmfile" | grep -qxF /etc/followerd/followerd.conf ||
		fail "the .rpm does not mark followerd.conf %config"
	pass "rpmbuild -bb --nodeps $nocheck ($(basename "$rpmfile"))"
else
	fail "rpmbuild (log: $rpmtop/build.log)"
	tail -30 "$rpmtop/build.log" >&2
fi
elapsed "the RPM build" "$t0"

if [ "$failed" -ne 0 ]; then
	echo "dist-check: FAILED (packages and logs in $out)"
	exit 1
fi
echo "dist-check: ok (packages in $out)"
