#!/usr/bin/env bash
# The sync engine's benchmarks (tests/bench/bench_sync.c and followerd itself):
#   (a) first attach of a 1,000,000-extent database (leaderctl generate,
#       file:// on tmpfs): wall time and peak RSS, in-process and as
#       `followerd --once`; the peer is the same checkpoint decoded and fed on
#       one thread with no event loop;
#   (b) a 1,000-extent commit on top: from the head's write to the version
#       applied (polling every 100 ms), and the loop's longest stall meanwhile;
#   (c) CPU time of an idle followerd following 10 databases (10 leaders on
#       nginx, conditional GETs answered 304) polled every second;
#   (d) the longest gap between two 10 ms timer ticks on the loop during (a).
# Environment: SYNC_BENCH_EXTENTS (1000000), SYNC_BENCH_RUNS (3),
# SYNC_BENCH_IDLE_S (60), BENCH_DIR (/dev/shm).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
EXTENTS=${SYNC_BENCH_EXTENTS:-1000000}
RUNS=${SYNC_BENCH_RUNS:-3}
IDLE=${SYNC_BENCH_IDLE_S:-60}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/followerd-bench-sync.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

make -C "$root" -s "$(basename "$BUILD")/libfollower.a" "$(basename "$BUILD")/leaderctl" \
	"$(basename "$BUILD")/followerd" B="$(basename "$BUILD")" >/dev/null
bin=$BUILD/bench/bench_sync
mkdir -p "$(dirname "$bin")"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -I"$root/lib" \
	$(pkg-config --cflags jansson sqlite3 libcurl libevent) -o "$bin" "$here/bench_sync.c" \
	"$BUILD/libfollower.a" \
	$(pkg-config --libs libcurl openssl jansson libevent libevent_pthreads sqlite3) -lpthread -lm
LC=$BUILD/leaderctl
FD=$BUILD/followerd

# median and spread of numbers on stdin: "MEDIAN (MIN-MAX)"
stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "generating a $EXTENTS-extent database in $W/leader (leaderctl generate) ..."
mkdir -p "$W/leader"
"$LC" -C "$W/leader" init >/dev/null
t0=$(date +%s.%N)
"$LC" -C "$W/leader" generate Big --tables 10 --extents "$EXTENTS" --artifact-size 1 >/dev/null
echo "  $(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.0f') s"
ckdir=$(ls -d "$W"/leader/db/*/checkpoint/*)
echo "  checkpoint: $(ls "$ckdir" | grep -c part) parts, $(du -sh "$ckdir" | cut -f1)"

# ---- (a) + (d) ----
for ((i = 1; i <= RUNS; i++)); do
	rm -f "$W"/a.db*
	"$bin" attach "$W/a.db" "$W/leader" Big >"$W/attach.$i"
done
for ((i = 1; i <= RUNS; i++)); do
	rm -f "$W"/s.db*
	"$bin" serial "$W/s.db" "$ckdir" >"$W/serial.$i"
done
for ((i = 1; i <= RUNS; i++)); do
	rm -rf "$W/state"
	printf '[daemon]\nstate_dir = %s\ncache_dir = %s\nlog_level = warning\n\n[attach "big"]\nleader = %s\ndatabase = Big\n' \
		"$W/state" "$W/cache" "$W/leader" >"$W/once.conf"
	/usr/bin/time -f "%e %M" -o "$W/oncetime.$i" "$FD" --once -c "$W/once.conf" 2>>"$W/once.log"
done

# ---- (b) ----
for ((i = 1; i <= RUNS; i++)); do
	"$bin" commit "$W/a.db" "$W/leader" Big "$LC" 1000 >"$W/commit.$i"
done

# ---- (c) ----
command -v nginx >/dev/null || { echo "nginx not installed (make test-deps)" >&2; exit 1; }
idle_cpu="n/a (nginx not installed)"
if command -v nginx >/dev/null; then
	mkdir -p "$W/www"
	conf="[daemon]\nstate_dir = $W/idle-state\ncache_dir = $W/cache\npoll_interval = 1s\nlog_level = warning\n\n"
	port=$(bench_port)
	for n in 0 1 2 3 4 5 6 7 8 9; do
		"$LC" -C "$W/www/l$n" init >/dev/null 2>&1 || { mkdir -p "$W/www/l$n"; "$LC" -C "$W/www/l$n" init >/dev/null; }
		"$LC" -C "$W/www/l$n" create-database "Db$n" >/dev/null
		"$LC" -C "$W/www/l$n" create-table "Db$n" T 'a:string' >/dev/null
		conf+="[attach \"d$n\"]\nleader = http://127.0.0.1:$port/l$n\ndatabase = Db$n\n\n"
	done
	printf "$conf" >"$W/idle.conf"
	bench_nginx "$W/nginx" "$W/www" "$port" 1 "etag on" &
	pids+=($!)
	sleep 0.5
	"$FD" -c "$W/idle.conf" 2>"$W/idle.log" &
	fpid=$!
	pids+=($fpid)
	for ((i = 0; i < 100; i++)); do
		[ "$(sqlite3 -readonly "$W/idle-state/state.db" 'SELECT count(*) FROM databases WHERE applied_version = 2' 2>/dev/null)" = 10 ] && break
		sleep 0.1
	done
	sleep 2 # settle: first polls done
	hz=$(getconf CLK_TCK)
	cpu() { awk '{ print $14 + $15 }' "/proc/$fpid/stat"; }
	c0=$(cpu)
	t0=$(date +%s.%N)
	sleep "$IDLE"
	c1=$(cpu)
	t1=$(date +%s.%N)
	idle_cpu=$(echo "scale=3; ($c1 - $c0) / $hz * 100 / ($t1 - $t0)" | bc)
	idle_cpu_s=$(echo "scale=2; ($c1 - $c0) / $hz" | bc)
	idle_rss=$(awk '/VmRSS/ { print $2 / 1024 }' "/proc/$fpid/status")
	kill "$fpid"
fi

# ---- the table ----
a_wall=$(for f in "$W"/attach.*; do val attach_wall_s "$f"; done | stats)
a_rss=$(for f in "$W"/attach.*; do val attach_peak_rss_mb "$f"; done | stats)
a_cpu=$(for f in "$W"/attach.*; do val attach_cpu_s "$f"; done | stats)
d_gap=$(for f in "$W"/attach.*; do val attach_max_tick_gap_ms "$f"; done | stats)
s_wall=$(for f in "$W"/serial.*; do val serial_wall_s "$f"; done | stats)
s_dec=$(for f in "$W"/serial.*; do val serial_decode_s "$f"; done | median)
s_feed=$(for f in "$W"/serial.*; do val serial_feed_s "$f"; done | median)
s_fin=$(for f in "$W"/serial.*; do val serial_finish_s "$f"; done | median)
s_rss=$(for f in "$W"/serial.*; do val serial_peak_rss_mb "$f"; done | median)
o_wall=$(for f in "$W"/oncetime.*; do tail -1 "$f" | cut -d' ' -f1; done | stats)
o_rss=$(for f in "$W"/oncetime.*; do tail -1 "$f" | awk '{ printf "%.1f\n", $2 / 1024 }'; done | stats)
b_lat=$(for f in "$W"/commit.*; do val commit_head_to_applied_ms "$f"; done | stats)
b_gap=$(for f in "$W"/commit.*; do val commit_max_tick_gap_ms "$f"; done | stats)

printf '\nsync — %s extents, %s runs each: median (min-max)\n' "$EXTENTS" "$RUNS"
printf '%-58s %-10s %s\n' "measure" "target" "measured"
printf '%-58s %-10s %s\n' "(a) first attach, in-process: wall s" "<= 10" "$a_wall"
printf '%-58s %-10s %s\n' "(a) first attach, in-process: peak RSS MB" "<= 100" "$a_rss"
printf '%-58s %-10s %s\n' "(a) first attach, in-process: CPU s (user+sys)" "" "$a_cpu"
printf '%-58s %-10s %s\n' "(a) followerd --once: wall s" "<= 10" "$o_wall"
printf '%-58s %-10s %s\n' "(a) followerd --once: peak RSS MB" "<= 100" "$o_rss"
printf '%-58s %-10s %s\n' "    peer: one thread, no loop: wall s" "" "$s_wall"
printf '%-58s %-10s %s\n' "    peer: decode / feed / finish s" "" "$s_dec / $s_feed / $s_fin"
printf '%-58s %-10s %s\n' "    peer: peak RSS MB" "" "$s_rss"
printf '%-58s %-10s %s\n' "(b) 1,000-extent commit: head written -> applied ms" "<= 200" "$b_lat"
printf '%-58s %-10s %s\n' "    (polling every 100 ms: half of it is the poll wait)" "" ""
printf '%-58s %-10s %s\n' "(b) longest loop stall meanwhile ms" "" "$b_gap"
printf '%-58s %-10s %s\n' "(c) idle, 10 databases on 10 leaders, 1 s polls: % of a core" "< 1" "$idle_cpu"
if [ -n "${idle_cpu_s:-}" ]; then
	printf '%-58s %-10s %s\n' "    CPU s over ${IDLE} s; RSS MB" "" "$idle_cpu_s; $idle_rss"
fi
printf '%-58s %-10s %s\n' "(d) longest gap between 10 ms ticks during (a) ms" "<= 50" "$d_gap"
