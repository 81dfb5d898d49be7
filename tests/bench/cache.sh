#!/usr/bin/env bash
# The artifact cache's benchmark: followerd's warmer against rclone, in the
# same run, on the same leader.
#   (a) 10,000 artifacts of 64 KiB, (b) 8 artifacts of 256 MiB;
# a leader directory (leaderctl generate) served by nginx on 127.0.0.1, the
# cache and rclone's destination on tmpfs.  followerd: the metadata is
# applied first (followerd --once, no warmer), then the daemon is timed from
# its start until the store records every artifact cached (downloaded,
# sha256-verified, fsynced, renamed).  rclone 1.60 (Debian's) copies the
# same files with `rclone copy --http-url URL :http:artifacts DEST` (it
# lists nginx's autoindex pages and verifies nothing), with --transfers set
# to followerd's fetch_concurrency.  Medians of CACHE_BENCH_RUNS runs.
# Also timed: curl --parallel (one process, verifying nothing), a reference.
# Each tool runs once unmeasured first (see bench()).
#
# Why the targets are not met here (2026-11-23, 2 cores shared with nginx;
# the figures are in the closing note of issue #4):
#   (b) 2 GiB must be received, written and SHA-256-hashed; each costs CPU
#   on the same 2 cores nginx uses.  Measured apart: receiving (8 curl to
#   /dev/null) 1.0-1.1 CPU s, writing (8 dd, 1 MiB blocks, into tmpfs)
#   0.7-0.8, SHA-256 1.26 (openssl speed: 1.7 GB/s per core): at least 3.0
#   CPU s, so at least 1.5 s on 2 cores, while 1.5 x rclone (1.5-1.8 s)
#   asks for 1.0-1.2 s.  followerd: 2.1-3.1 s (two sink threads hash in
#   parallel; the loop thread's receive and copy is its longest path).
#   (a) curl --parallel, which verifies nothing and fsyncs nothing, is
#   1.5-1.9 x rclone; followerd, which does both and records each artifact
#   in SQLite, is 1.4-1.5 x.
# Environment: CACHE_BENCH_RUNS (3), CACHE_BENCH_CONCURRENCY (16),
# CACHE_BENCH_SMALL (10000), CACHE_BENCH_LARGE (8), BENCH_DIR (/dev/shm).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
RUNS=${CACHE_BENCH_RUNS:-3}
CONC=${CACHE_BENCH_CONCURRENCY:-16}
NSMALL=${CACHE_BENCH_SMALL:-10000}
NLARGE=${CACHE_BENCH_LARGE:-8}
command -v nginx >/dev/null || { echo "cache bench: nginx is not installed (scripts/deps.sh)"; exit 1; }
command -v rclone >/dev/null || {
	echo "cache bench: rclone is not installed: apt-get install rclone (scripts/deps.sh installs it)"
	exit 1
}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/followerd-bench-cache.XXXXXX")
chmod 755 "$W"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

make -C "$root" -s "$(basename "$BUILD")/leaderctl" "$(basename "$BUILD")/followerd" \
	B="$(basename "$BUILD")" >/dev/null
LC=$BUILD/leaderctl
FD=$BUILD/followerd
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

# ---- nginx on the leaders' parent directory ----
port=$(bench_port)
mkdir -p "$W/www"
bench_nginx "$W/nginx" "$W/www" "$port" 2 "sendfile on" "tcp_nopush on" \
	"keepalive_requests 100000" "etag on" "autoindex on" "default_type application/octet-stream" &
pids+=($!)
URL=http://127.0.0.1:$port

# leader NAME COUNT SIZE: a leader with COUNT artifacts of SIZE bytes
# (generate makes artifacts of at most 1 MiB; larger ones are ingested).
leader() {
	local i
	mkdir -p "$W/www/$1"
	"$LC" -C "$W/www/$1" init >/dev/null
	if [ "$3" -le 1048576 ]; then
		"$LC" -C "$W/www/$1" generate Db --tables 1 --extents "$2" --artifact-size "$3" >/dev/null
		return
	fi
	"$LC" -C "$W/www/$1" create-database Db >/dev/null
	"$LC" -C "$W/www/$1" create-table Db T 'a:string' >/dev/null
	mkdir -p "$W/in"
	for ((i = 0; i < $2; i++)); do
		head -c "$3" /dev/urandom >"$W/in/a$i"
		"$LC" -C "$W/www/$1" ingest Db T "$W/in/a$i" >/dev/null
		rm "$W/in/a$i"
	done
}

# conf NAME: followerd's configuration for leader NAME.
conf() {
	printf '[daemon]\nstate_dir = %s\ncache_dir = %s\nlog_level = warning\n' "$W/state-$1" "$W/cache"
	printf 'fetch_concurrency = %s\nfetch_concurrency_per_leader = %s\n' "$CONC" "$CONC"
	printf 'min_free_space = 0\ncache_max_size = 0\nlisten = 127.0.0.1:0\n'
	printf 'admin_socket = %s\n\n[attach "b"]\nleader = %s/%s\ndatabase = Db\n' "$W/admin.sock" "$URL" "$1"
}

# run_followerd NAME COUNT: prints "wall_s cpu_s".  The store is polled every
# 10 ms through one sqlite3 process (a new sqlite3 per poll cost more CPU
# than it measured, on a machine whose two cores followerd needs).
run_followerd() {
	local t0 fpid c n hz=$(getconf CLK_TCK)
	rm -rf "$W/cache"
	sqlite3 "$W/state-$1/state.db" "DELETE FROM blobs" 2>/dev/null || true
	sync
	coproc SQ { sqlite3 -readonly "$W/state-$1/state.db" 2>/dev/null; }
	t0=$(now)
	"$FD" -c "$W/$1.conf" 2>>"$W/followerd.log" &
	fpid=$!
	while :; do
		echo "SELECT count(*) FROM blobs WHERE state = 'cached';" >&"${SQ[1]}"
		read -r n <&"${SQ[0]}" || n=0
		[ "${n:-0}" -lt "$2" ] || break
		kill -0 "$fpid" 2>/dev/null || { echo "followerd died: $(tail -3 "$W/followerd.log")" >&2; exit 1; }
		sleep 0.01
	done
	c=$(awk '{ print $14 + $15 }' "/proc/$fpid/stat")
	echo "$(echo "$(now) - $t0" | bc) $(echo "scale=2; $c / $hz" | bc)"
	kill "$fpid"
	wait "$fpid" 2>/dev/null || true
	eval "exec ${SQ[1]}>&-"
	wait "$SQ_PID" 2>/dev/null || true
}

# run_curl NAME: prints "wall_s cpu_s": curl's own parallel mode (one
# process and thread, CONC transfers, keep-alive) copying the same files,
# verifying nothing: what a plain HTTP client does here (a reference).
run_curl() {
	rm -rf "$W/curl"
	mkdir -p "$W/curl"
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/curl.time" curl -s -f --parallel --parallel-max "$CONC" \
		--remote-name-all --output-dir "$W/curl" -K "$W/$1.urls"
	awk '{ print $1, $2 + $3 }' "$W/curl.time"
}

# run_rclone NAME: prints "wall_s cpu_s".
run_rclone() {
	rm -rf "$W/rclone"
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/rclone.time" rclone copy --http-url "$URL/$1/" :http:artifacts \
		"$W/rclone" --transfers "$CONC" --checkers "$CONC" --config /dev/null -q
	awk '{ print $1, $2 + $3 }' "$W/rclone.time"
}

# bench LABEL NAME COUNT SIZE: the table's rows.  Each tool runs once
# unmeasured first: the first writes into memory the VM never touched cost
# both of them up to twice the time.
bench() {
	local label=$1 name=$2 count=$3 size=$4 i fw fc rw rc cw cc bytes
	echo "generating $label: $count artifacts of $size bytes ..." >&2
	leader "$name" "$count" "$size"
	conf "$name" >"$W/$name.conf"
	(cd "$W/www" && find "$name/artifacts" -type f) | sed "s|^|url = \"$URL/|; s|\$|\"|" >"$W/$name.urls"
	"$FD" --once -c "$W/$name.conf" 2>>"$W/followerd.log"
	run_followerd "$name" "$count" >/dev/null
	run_rclone "$name" >/dev/null
	run_curl "$name" >/dev/null
	for ((i = 1; i <= RUNS; i++)); do
		run_followerd "$name" "$count" >>"$W/$name.fd"
		run_rclone "$name" >>"$W/$name.rc"
		[ "$(find "$W/rclone" -type f | wc -l)" = "$count" ] || echo "rclone copied $(find "$W/rclone" -type f | wc -l) files" >&2
		run_curl "$name" >>"$W/$name.cu"
		[ "$(find "$W/curl" -type f | wc -l)" = "$count" ] || echo "curl copied $(find "$W/curl" -type f | wc -l) files" >&2
	done
	rm -rf "$W/rclone" "$W/curl" "$W/cache" "$W/www/$name"
	bytes=$((count * size))
	fw=$(cut -d' ' -f1 "$W/$name.fd" | median)
	fc=$(cut -d' ' -f2 "$W/$name.fd" | median)
	rw=$(cut -d' ' -f1 "$W/$name.rc" | median)
	rc=$(cut -d' ' -f2 "$W/$name.rc" | median)
	cw=$(cut -d' ' -f1 "$W/$name.cu" | median)
	cc=$(cut -d' ' -f2 "$W/$name.cu" | median)
	row "$label followerd" "$count" "$bytes" "$fw" "$fc" "$(echo "scale=2; $rw / $fw" | bc)"
	row "$label rclone" "$count" "$bytes" "$rw" "$rc" "1"
	row "$label curl -Z" "$count" "$bytes" "$cw" "$cc" "$(echo "scale=2; $rw / $cw" | bc)"
	echo "$label runs (wall s): followerd $(cut -d' ' -f1 "$W/$name.fd" | tr '\n' ' ')| rclone $(cut -d' ' -f1 "$W/$name.rc" | tr '\n' ' ')| curl $(cut -d' ' -f1 "$W/$name.cu" | tr '\n' ' ')" >>"$W/runs"
}

row() {
	printf '%-24s %7s %12s %8.2f %8.0f %9.0f %7.2f %7s\n' "$1" "$2" "$3" "$4" \
		"$(echo "$2 / $4" | bc -l)" "$(echo "$3 / $4 / 1000000" | bc -l)" "$5" "$6"
}

out=$(
	bench "(a) 64 KiB" small "$NSMALL" 65536
	bench "(b) 256 MiB" large "$NLARGE" 268435456
)
printf '\ncache — nginx on 127.0.0.1, tmpfs, concurrency %s, median of %s runs\n' "$CONC" "$RUNS"
printf '%-24s %7s %12s %8s %8s %9s %7s %7s\n' "" files bytes "wall s" "files/s" "MB/s" "CPU s" ratio
echo "$out"
echo "ratio: rclone's wall time / the tool's (targets for followerd: (a) >= 2, (b) >= 1.5)"
echo "curl -Z: curl --parallel (one thread) into the same tmpfs, verifying nothing: a reference"
cat "$W/runs"
