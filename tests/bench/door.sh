#!/usr/bin/env bash
# door — the front door under a flood (issue 14): wrk from 127.0.0.1 against
# the artifact and view endpoints, with and without tests/tools/doorflood
# holding 3,000 connections from 127.0.0.2 (a third half-sent, the rest idle,
# reconnecting whenever closed).  The peer: nginx serving the same file,
# configured as its manual advises against this (limit_conn 64 per address,
# client_header_timeout 10s, keepalive_timeout 30s), under the same flood.
# followerd runs with its default limits.  Prints req/s and p99 latency for
# both, and the ratio flood / no flood.
#   make bench BENCH=door     or     BUILD=build bash tests/bench/door.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD=${BUILD:-$root/build}
TMPDIR=${BENCH_TMP:-/dev/shm}
source "$root/tests/e2e/lib.sh"
source "$here/lib.sh"
SECS=${SECS:-5}
CONNS=${CONNS:-16}
FLOOD=${FLOOD:-3000}

command -v wrk >/dev/null || { echo "wrk not installed (make test-deps)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx not installed (make test-deps)" >&2; exit 1; }
make -C "$root" -s all >/dev/null || exit 1
ulimit -n 16384 || { echo "cannot raise the open files limit" >&2; exit 1; }

PORT=$(free_port)
cat >"$T/f.conf" <<EOF
[daemon]
state_dir = $T/state
cache_dir = $T/cache
listen = 127.0.0.1:$PORT
admin_socket = $T/admin.sock
allow_anonymous = true
log_level = warning
[attach "logs"]
leader = $T/leader
database = Logs
hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z
[attach "metrics"]
leader = $T/leader
database = Metrics
hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z
EOF
mkdir -p "$T/state"
"$TOOLS/mkstore" build "$T/f.conf" "$T/state/state.db" "$T/cache" 1000 >"$T/artifacts" || exit 1
SHA=$(awk '$2 == "Events" && $7 == "cached"' "$T/artifacts" | sed -n 500p | cut -d' ' -f5)
bg "$FOLLOWERD" -c "$T/f.conf"
wait_port "$PORT" 10 || { echo "followerd did not start"; exit 1; }
chmod -R o+rX "$T" # nginx workers run as nobody
NPORT=$(bench_port)
bg bench_nginx "$T/nginx" "$T/cache/objects" "$NPORT" 1 'sendfile on' \
	'limit_conn_zone $binary_remote_addr zone=addr:1m' 'limit_conn addr 64' \
	'client_header_timeout 10s' 'keepalive_timeout 30s'
wait_port "$NPORT" 10 || { echo "nginx did not start"; exit 1; }
URL=http://127.0.0.1:$PORT
NURL=http://127.0.0.1:$NPORT

# measure URL: "REQ/S P99_MS ERRORS" of one wrk run.
measure() {
	wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 2s --latency "$1" >"$T/wrk.out" 2>&1
	awk '/^Requests\/sec/ { rps = $2 }
	     $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
	                   p99 = u == "us" ? v / 1000 : u == "s" ? v * 1000 : v }
	     /Socket errors|Non-2xx/ { err = err $0 }
	     END { printf "%d %.2f %s\n", rps, p99, err == "" ? "-" : "errors" }' "$T/wrk.out"
}

# flood PORT: 3,000 hostile connections from 127.0.0.2, held until stopped.
flood_start() {
	"$TOOLS/doorflood" --target "127.0.0.1:$1" --from 127.0.0.2 --conns "$FLOOD" --mode mix \
		--rate 2000 --duration 120 >"$T/flood.out" &
	FPID=$!
	_pids+=("$FPID")
	sleep 2 # the flood at its full size before wrk connects (a bench, not a test)
}
# flood_stop: the flood ends (SIGTERM: an async job of a script ignores SIGINT).
flood_stop() {
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	sleep 1
}

declare -A res
targets=("nginx: 64 KiB file (limit_conn 64)|$NURL/${SHA:0:2}/$SHA|$NPORT"
	"followerd: 64 KiB /v1/artifacts/{sha256}|$URL/v1/artifacts/$SHA|$PORT"
	"followerd: /v1/databases/Logs/tables|$URL/v1/databases/Logs/tables|$PORT"
	"followerd: /healthz|$URL/healthz|$PORT")
for t in "${targets[@]}"; do
	IFS='|' read -r name url port <<<"$t"
	res["$name,calm"]=$(measure "$url")
	flood_start "$port"
	res["$name,flood"]=$(measure "$url")
	# how many connections the server let the flood hold, as the
	# server counts them: ss on its port, from 127.0.0.2
	res["$name,held"]=$(ss -Htn state established "( sport = :$port )" dst 127.0.0.2 | wc -l)
	flood_stop
done

printf '%-40s %8s %8s %10s %10s %7s %7s %6s\n' "target" "req/s" "p99 ms" "flood r/s" "flood p99" \
	"r/s x" "p99 x" "held"
for t in "${targets[@]}"; do
	name=${t%%|*}
	read -r r1 p1 e1 <<<"${res["$name,calm"]}"
	read -r r2 p2 e2 <<<"${res["$name,flood"]}"
	printf '%-40s %8s %8s %10s %10s %7s %7s %6s%s\n' "$name" "$r1" "$p1" "$r2" "$p2" \
		"$(awk -v a="$r2" -v b="$r1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
		"$(awk -v a="$p2" -v b="$p1" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')" \
		"${res["$name,held"]}" \
		"$([ "$e1$e2" = "--" ] || echo "  (wrk saw errors: $e1 / $e2)")"
done
echo "(held: the flood's connections established to the server's port at the end, accept queue included)"
echo "($(nproc) cores; wrk -t1 -c$CONNS --latency, ${SECS}s per figure; flood: doorflood $FLOOD conns from 127.0.0.2, mix, reconnecting at <= 2000/s)"
