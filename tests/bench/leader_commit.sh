#!/usr/bin/env bash
# A commit costs what its actions cost (make bench BENCH=leader_commit): one
# commit of 1,000 extents (`leaderctl generate --commit-extents`, which also
# writes their 1,000 artifacts) onto a database of 1,000,000 extents
# generated into a directory on tmpfs, timed
#   - the old way, in the same run: --state-cache off, the state loaded from
#     the checkpoint (~400 MB of JSON) and the log after it;
#   - the first commit of a writer with an empty state cache (the same load,
#     then the cache written);
#   - then RUNS commits from the cache (median, min, max; the target is
#     <= 1 s), and the commit among them that also writes a checkpoint
#     (every K-th version, K = RUNS + 2 here), which still writes the whole
#     state.
# Prints wall time and peak RSS of each, and the sizes of the cache file
# and of the checkpoint.
#
#   make bench BENCH=leader_commit
#   BUILD=build bash tests/bench/leader_commit.sh [EXTENTS [COMMIT_EXTENTS [RUNS [DIR]]]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
LEADERCTL=$BUILD/leaderctl
EXTENTS=${1:-1000000}
COMMIT=${2:-1000}
RUNS=${3:-5}
BASE=${4:-/dev/shm}
K=$((RUNS + 2))
[ -x "$LEADERCTL" ] || { echo "leader_commit: $LEADERCTL is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "leader_commit: /usr/bin/time is not installed (apt install time)" >&2; exit 1; }

# Artifacts take ~4.5 KiB each on tmpfs; the cache file ~120 B per extent.
need_kb=$(( (EXTENTS + (RUNS + 3) * COMMIT) * 5 + 1048576 ))
avail_kb=$(df -Pk "$BASE" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt "$need_kb" ]; then
	echo "leader_commit: $BASE has $((avail_kb / 1024)) MiB free, needs ~$((need_kb / 1024)) MiB" >&2
	exit 1
fi
W=$(mktemp -d "$BASE/followerd-bench-commit.XXXXXX")
trap 'rm -rf "$W"' EXIT
D=$W/leader
mkdir "$D"
export LEADERCTL_STATE_CACHE=$W/cache

# timed NAME CMD...: runs CMD under /usr/bin/time; sets WALL (s) and RSS (MiB).
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" || {
		echo "leader_commit: $name failed:" >&2
		cat "$W/$name.err" >&2
		exit 1
	}
	read -r WALL RSS <"$W/$name.time"
	RSS=$((RSS / 1024))
}
commit() { timed "$1" "$LEADERCTL" -C "$D" -v "${@:2}" generate DB --commit-extents "$COMMIT"; }
# said NAME: where that commit's state came from (leaderctl -v).
said() { grep -E '^leaderctl: generate: (state from|no |cached state)' "$W/$1.err" | sed 's/^leaderctl: generate: //'; }
row() { printf '%-72s %12s %10s\n' "$1" "$2" "$3"; }

"$LEADERCTL" -C "$D" init --checkpoint-interval "$K" >/dev/null
timed gen "$LEADERCTL" -C "$D" generate DB --tables 10 --extents "$EXTENTS"
gen_wall=$WALL

commit old --state-cache off
old_wall=$WALL old_rss=$RSS
commit cold
cold_wall=$WALL cold_rss=$RSS
case "$(said cold)" in *"state from checkpoint"*) ;; *) echo "leader_commit: cold: $(said cold)" >&2; exit 1 ;; esac
: >"$W/warm.walls"
warm_rss=0
for ((i = 1; i <= RUNS + 1; i++)); do
	commit "warm$i"
	case "$(said "warm$i")" in
	*"state from the cache"*) ;;
	*) echo "leader_commit: warm$i did not use the cache: $(said "warm$i")" >&2; exit 1 ;;
	esac
	v=$("$LEADERCTL" -C "$D" show --json | jq -r '.databases[0].version')
	if [ $((v % K)) -eq 0 ]; then
		ck_wall=$WALL ck_rss=$RSS
	else
		echo "$WALL" >>"$W/warm.walls"
		[ "$RSS" -gt "$warm_rss" ] && warm_rss=$RSS
	fi
done
read -r warm_n warm_med warm_min warm_max < <(sort -n "$W/warm.walls" |
	awk '{ v[NR] = $1 } END { print NR, v[int((NR + 1) / 2)], v[1], v[NR] }')
cache_size=$(stat -c %s "$W"/cache/*/*.state)
uuid=$("$LEADERCTL" -C "$D" show --json | jq -r '.databases[0].uuid')
ck_size=$(cat "$D/db/$uuid/checkpoint/$(printf %020d "$K")"/part-*.ndjson | wc -c)
ratio=$(awk -v a="$old_wall" -v b="$warm_med" 'BEGIN { printf("%.0fx", (b > 0) ? a / b : 0) }')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

echo "one commit of $COMMIT extents onto $EXTENTS extents in 10 tables ($BASE, $(nproc) cores; generated in $gen_wall s)"
row "" "wall" "peak RSS"
row "old way: --state-cache off (checkpoint + log loaded)" "$old_wall s" "$old_rss MiB"
row "first commit of a writer: empty cache (checkpoint loaded, cache written)" "$cold_wall s" "$cold_rss MiB"
row "from the cache: median of $warm_n (target <= 1 s)" "$warm_med s" "$warm_rss MiB"
row "  min .. max" "$warm_min..$warm_max s" ""
row "from the cache, and writing the checkpoint (every ${K}th version)" "$ck_wall s" "$ck_rss MiB"
row "speed-up of a commit from the cache over the old way" "$ratio" ""
echo
row "state cache file" "$(mib "$cache_size")" ""
row "checkpoint parts" "$(mib "$ck_size")" ""
