# Shared helpers for end-to-end tests (sourced).  Each test prints TAP:
#   ok N - what      /  not ok N - what
# and exits 0 when all passed, 1 otherwise, 77 when it cannot run here.
# Everything a test starts is stopped and its temp dir removed on exit.
set -u
E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$E2E_ROOT/build}
LEADERCTL=$BUILD/leaderctl
FOLLOWERD=$BUILD/followerd
FOLLOWERCTL=$BUILD/followerctl
TOOLS=$BUILD/tools
NODE_BIN=$E2E_ROOT/tests/node_modules/.bin
T=$(mktemp -d "${TMPDIR:-/tmp}/followerd-e2e.XXXXXX")
# leaderctl keeps its state cache with the test, not in the user's home.
export LEADERCTL_STATE_CACHE=${LEADERCTL_STATE_CACHE:-$T/leaderctl-state}
_tap_n=0
_tap_failed=0
_pids=()

# Azurite's well-known development account.
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

_e2e_cleanup() {
	local p
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap _e2e_cleanup EXIT

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { echo "# $*"; }
# skip WHAT: a counted skip (the runner's "skipped"), never a silent one.
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }

# check DESC CMD...: ok when CMD exits 0 (its output goes to the log).
check() {
	local desc=$1; shift
	if "$@" >"$T/last.out" 2>&1; then ok "$desc"; else
		not_ok "$desc"; sed 's/^/# /' "$T/last.out" | head -20; fi
}
# check_fails DESC CMD...: ok when CMD exits non-zero.
check_fails() {
	local desc=$1; shift
	if "$@" >"$T/last.out" 2>&1; then not_ok "$desc (unexpectedly succeeded)"
		sed 's/^/# /' "$T/last.out" | head -20; else ok "$desc"; fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: $2"; diag "actual:   $3"; fi
}
# check_match DESC REGEX TEXT
check_match() {
	if printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; else not_ok "$1"; diag "no match for /$2/ in:"; printf '%s\n' "$3" | head -20 | sed 's/^/# /'; fi
}
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; exit $?; }

# A free TCP port on 127.0.0.1.
free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local i
	for ((i = 0; i < ${2:-20} * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# start_azurite: sets AZ_PORT and AZ_URL (blob endpoint of the dev account).
start_azurite() {
	[ -x "$NODE_BIN/azurite-blob" ] || skip_all "azurite not installed (make test-deps)"
	AZ_PORT=$(free_port)
	mkdir -p "$T/azurite"
	"$NODE_BIN/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" \
		--location "$T/azurite" --silent --skipApiVersionCheck --disableProductStyleUrl --disableTelemetry \
		>"$T/azurite.log" 2>&1 &
	_pids+=($!)
	wait_port "$AZ_PORT" 30 || { diag "azurite did not start"; cat "$T/azurite.log"; exit 1; }
	AZ_URL="http://127.0.0.1:$AZ_PORT/$AZ_ACCOUNT"
}

# az_create_container NAME: via the target test tool or curl with Shared Key.
az_create_container() {
	"$TOOLS/aztool" --account-key "$AZ_KEY" mkcontainer "$AZ_URL/$1"
}

# start_nginx DIR: serves DIR on 127.0.0.1; sets NGINX_PORT and NGINX_URL.
start_nginx() {
	command -v nginx >/dev/null || skip_all "nginx not installed (make test-deps)"
	NGINX_PORT=$(free_port)
	mkdir -p "$T/nginx/tmp"
	cat >"$T/nginx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
error_log $T/nginx/error.log;
pid $T/nginx/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nginx/tmp;
	proxy_temp_path $T/nginx/tmp;
	fastcgi_temp_path $T/nginx/tmp;
	uwsgi_temp_path $T/nginx/tmp;
	scgi_temp_path $T/nginx/tmp;
	sendfile on;
	etag on;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $1;
		location / { }
	}
}
NGX
	nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" >"$T/nginx/stdout.log" 2>&1 &
	_pids+=($!)
	wait_port "$NGINX_PORT" 10 || { diag "nginx did not start"; cat "$T/nginx/error.log"; exit 1; }
	NGINX_URL="http://127.0.0.1:$NGINX_PORT"
}

# bg CMD...: start a background process stopped at exit; sets BG_PID.
bg() { "$@" & BG_PID=$!; _pids+=($BG_PID); }

# need_kusto_sdk: the official Node SDK (azure-kusto-data in tests/
# node_modules) as SDK, or the whole test is skipped.
need_kusto_sdk() {
	SDK=$E2E_ROOT/tests/node_modules/azure-kusto-data/dist-esm/src
	command -v node >/dev/null || skip_all "node is not installed"
	[ -f "$SDK/index.js" ] || skip_all "azure-kusto-data is not installed (make test-deps)"
}

# relay_tap FILE RC: a script's "ok - ..." and "not ok - ..." lines become
# this test's checks, its other lines diagnostics; a script that failed
# (RC) without a "not ok" line fails once.
relay_tap() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) diag "$line" ;;
		esac
	done <"$1"
	[ "$2" -eq 0 ] || grep -q '^not ok' "$1" || not_ok "the SDK script ran (exit $2)"
}
