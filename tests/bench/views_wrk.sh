#!/usr/bin/env bash
# views_wrk — followerd's HTTP endpoint under wrk, against nginx serving the
# same cache files on the loopback, both on one event loop / one worker:
#   - 64 KiB artifact GETs (keep-alive): req/s and the ratio to nginx
#     (target >= 0.8), by sha256 and by database/extent/name, anonymous and
#     with bearer tokens (a viewer of every database; a viewer of one of the
#     two, for whom /v1/artifacts/{sha256} scans the artifacts to find which
#     databases reference it);
#   - metadata views: req/s (target >= 10,000).
# The store and cache are built by tests/tools/mkstore on tmpfs (/dev/shm).
# Each figure is the median of RUNS runs of SECS seconds (spread shown).
#   make bench BENCH=views_wrk     or     BUILD=build bash tests/bench/views_wrk.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD=${BUILD:-$root/build}
TMPDIR=${BENCH_TMP:-/dev/shm}
source "$root/tests/e2e/lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-16}

command -v wrk >/dev/null || { echo "wrk not installed (make test-deps)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx not installed (make test-deps)" >&2; exit 1; }
make -C "$root" -s all >/dev/null || exit 1

PORT=$(free_port)
{
	printf 'aaduser=viewer@x %s\n' "$(printf %s tok-one | sha256sum | cut -d' ' -f1)"
	printf 'aaduser=all@x %s\n' "$(printf %s tok-all | sha256sum | cut -d' ' -f1)"
} >"$T/tokens"
chmod 600 "$T/tokens"
cat >"$T/f.conf" <<EOF
[daemon]
state_dir = $T/state
cache_dir = $T/cache
listen = 127.0.0.1:$PORT
admin_socket = $T/admin.sock
allow_anonymous = true
tokens_file = $T/tokens
log_level = warning
max_connections = 1024
[attach "logs"]
leader = $T/leader
database = Logs
viewers = aaduser=all@x
hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z
[attach "metrics"]
leader = $T/leader
database = Metrics
viewers = aaduser=all@x
# mkstore's extents are from October 2026: keep them hot, or the warmer
# evicts them (hot_window, union with the leader's policy)
hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z
EOF
mkdir -p "$T/state"
"$TOOLS/mkstore" build "$T/f.conf" "$T/state/state.db" "$T/cache" 1000 >"$T/artifacts" || exit 1
line=$(awk '$2 == "Events" && $7 == "cached"' "$T/artifacts" | sed -n 500p)
ID=$(cut -d' ' -f3 <<<"$line")
SHA=$(cut -d' ' -f5 <<<"$line")
bg "$FOLLOWERD" -c "$T/f.conf"
wait_port "$PORT" 10 || { echo "followerd did not start"; exit 1; }
chmod -R o+rX "$T" # nginx workers run as nobody
start_nginx "$T/cache/objects"
URL=http://127.0.0.1:$PORT

# median_rps URL [wrk args...]: "median min max" of RUNS runs.
median_rps() {
	local url=$1 i v
	shift
	local vals=()
	for ((i = 0; i < RUNS; i++)); do
		wrk -t1 -c"$CONNS" -d"${SECS}s" "$@" "$url" >"$T/wrk.out"
		# a benchmark of error answers measures nothing
		if grep -q 'Non-2xx' "$T/wrk.out"; then
			echo "$url: $(grep 'Non-2xx' "$T/wrk.out")" >&2
			: >"$T/failed"
			echo "0 0 0"
			return
		fi
		v=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$T/wrk.out")
		vals+=("${v:-0}")
	done
	printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)], a[1], a[NR]}'
}

check_body() {
	[ "$(curl -s "$@" | sha256sum | cut -d' ' -f1)" = "$SHA" ] || { echo "wrong body from $*"; exit 1; }
}
check_body "$NGINX_URL/${SHA:0:2}/$SHA"
check_body "$URL/v1/artifacts/$SHA"

printf '%-52s %10s %16s %8s\n' "target" "req/s" "(min..max)" "ratio"
row() { # NAME BASE RESULT
	local r=($3)
	local ratio="-"
	[ -z "$2" ] || ratio=$(awk -v a="${r[0]}" -v b="$2" 'BEGIN {printf "%.2f", a / b}')
	printf '%-52s %10s %16s %8s\n' "$1" "${r[0]}" "(${r[1]}..${r[2]})" "$ratio"
}
nginx_r=$(median_rps "$NGINX_URL/${SHA:0:2}/$SHA")
NGINX_RPS=$(cut -d' ' -f1 <<<"$nginx_r")
row "nginx: 64 KiB file" "" "$nginx_r"
row "followerd: 64 KiB /v1/artifacts/{sha256}" "$NGINX_RPS" "$(median_rps "$URL/v1/artifacts/$SHA")"
row "followerd: 64 KiB, token of a viewer of every db" "$NGINX_RPS" \
	"$(median_rps "$URL/v1/artifacts/$SHA" -H 'Authorization: Bearer tok-all')"
row "followerd: 64 KiB, token of a viewer of 1 of 2 dbs (scan)" "$NGINX_RPS" \
	"$(median_rps "$URL/v1/artifacts/$SHA" -H 'Authorization: Bearer tok-one')"
row "followerd: 64 KiB /v1/databases/{db}/extents/{id}/..." "$NGINX_RPS" \
	"$(median_rps "$URL/v1/databases/Logs/extents/$ID/artifacts/data.csv")"
row "followerd: GET /v1/databases/Logs" "" "$(median_rps "$URL/v1/databases/Logs")"
row "followerd: GET /v1/databases/Logs/tables" "" "$(median_rps "$URL/v1/databases/Logs/tables")"
row "followerd: GET /v1/databases" "" "$(median_rps "$URL/v1/databases")"
row "followerd: GET .../extents?table=Events&limit=10" "" \
	"$(median_rps "$URL/v1/databases/Logs/extents?table=Events&limit=10")"
row "followerd: GET /healthz" "" "$(median_rps "$URL/healthz")"
echo "($(nproc) cores; wrk -t1 -c$CONNS, ${SECS}s x $RUNS; cache on $TMPDIR; 1,000 extents)"
[ ! -e "$T/failed" ] || { echo "some answers were not 2xx: the figures above are void"; exit 1; }
