#!/usr/bin/env bash
# Installs what followerd needs on Debian 12: the build dependencies, and with
# --test also what the tests need (servers, tools, and the npm packages pinned
# by tests/package-lock.json into tests/node_modules); --bench is --test and
# the benchmarks' peers (ClickHouse from Debian; DuckDB, pinned by
# tests/bench/peers/package-lock.json into tests/bench/peers/node_modules),
# never needed by the daemon or the tests.  As root it runs apt-get;
# otherwise it prints the exact command to run and fails.
#
# Fedora/RHEL equivalents: gcc make pkgconf-pkg-config libcurl-devel
# openssl-devel jansson-devel libevent-devel systemd-devel sqlite-devel zlib-devel libzstd-devel pcre2-devel
# libcmocka-devel; tests: nginx strace libfaketime wrk rclone nodejs npm gzip zstd.
set -eu
cd "$(dirname "$0")/.."

build_pkgs="gcc make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev libevent-dev
libsystemd-dev libsqlite3-dev zlib1g-dev libzstd-dev libpcre2-dev sqlite3 curl ca-certificates jq"
# The tests' servers and tools, make lint's and make fuzz's, the packaging
# tools of tests/e2e/dist_check.sh, and what the benchmarks time with.
test_pkgs="libcmocka-dev nginx-light strace faketime wrk rclone systemd
iproute2 util-linux procps psmisc bsdutils man-db groff-base clang libclang-rt-14-dev jq
python3 openssl git cppcheck clang-format dpkg-dev debhelper fakeroot lintian rpm bc time gzip zstd libcsv-dev"

# The query benchmarks' peer (tests/bench/query.sh): Debian's 18.16.
bench_pkgs="clickhouse-server clickhouse-client"

mode=${1:-}
want=$build_pkgs
case $mode in
--test) want="$build_pkgs $test_pkgs" ;;
--bench) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
esac

# Node.js: any install that provides node and npm will do (Debian's
# nodejs + npm, or a nodejs package that bundles npm).
if [ -n "$mode" ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
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

# npm_ci DIR: the packages pinned by DIR/package-lock.json into
# DIR/node_modules, unless they are there already.  A node_modules that is a
# symbolic link (a git worktree sharing another checkout's) is left alone:
# npm ci would empty the directory it points to.
npm_ci() {
	[ -f "$1/package-lock.json" ] || return 0
	if [ -L "$1/node_modules" ]; then
		echo "deps: $1/node_modules is a link: left alone"
	elif [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
		echo "deps: npm ci ($1/package-lock.json)"
		(cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
	fi
}
[ -z "$mode" ] || npm_ci tests
[ "$mode" != --bench ] || npm_ci tests/bench/peers
echo "deps: ok"
