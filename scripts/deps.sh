#!/usr/bin/env bash
# Installs what followerd needs on Debian 12: the build dependencies, and with
# --test also what the tests need (servers, tools, and the npm packages pinned
# by tests/package-lock.json into tests/node_modules).  As root it runs
# apt-get; otherwise it prints the exact command to run and fails.
#
# Fedora/RHEL equivalents: gcc make pkgconf-pkg-config libcurl-devel
# openssl-devel jansson-devel libevent-devel systemd-devel sqlite-devel zlib-devel libzstd-devel
# libcmocka-devel; tests: nginx strace libfaketime wrk rclone nodejs npm.
set -eu
cd "$(dirname "$0")/.."

build_pkgs="gcc make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libevent-dev
libsystemd-dev libsqlite3-dev zlib1g-dev libzstd-dev sqlite3 curl ca-certificates jq"
# The tests' servers and tools, make lint's and make fuzz's, the packaging
# tools of tests/e2e/dist_check.sh, and what the benchmarks time with.
test_pkgs="libcmocka-dev nginx-light strace faketime wrk rclone systemd
iproute2 util-linux procps psmisc bsdutils man-db groff-base clang libclang-rt-14-dev jq
python3 openssl git cppcheck clang-format dpkg-dev debhelper fakeroot lintian rpm bc time zstd"

want=$build_pkgs
[ "${1:-}" = --test ] && want="$build_pkgs $test_pkgs"

# Node.js: any install that provides node and npm will do (Debian's
# nodejs + npm, or a nodejs package that bundles npm).
if [ "${1:-}" = --test ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
	want="$want nodejs npm"
fi

missing=()
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	cmd="apt-get install -y --no-install-recommends ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages; run as root:" >&2
		echo "  apt-get update && $cmd" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = --test ] && [ -f tests/package-lock.json ]; then
	if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
		echo "deps: npm ci (tests/package-lock.json)"
		(cd tests && npm ci --no-audit --no-fund --loglevel=error)
	fi
fi
echo "deps: ok"
