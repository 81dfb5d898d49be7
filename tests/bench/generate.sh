#!/usr/bin/env bash
# The leader at scale (make bench BENCH=generate): `leaderctl generate` of a
# database of 10 tables and a million extents (one 64-byte artifact each)
# into a directory on tmpfs, then one ordinary commit of 1,000 more extents
# through the commit engine (lock, load the state from the checkpoint,
# apply, log object, head).  Prints wall time and peak RSS of both, the
# sizes a follower downloads (head, checkpoint parts, the commit's log
# object), and two floors measured in the same run: python3 creating as many
# small files (no fsync, no rename), and python3 parsing the checkpoint
# parts line by line (what the commit's state load costs at least).  The
# commit runs without leaderctl's state cache, as the first commit of a
# writer does (leader_commit.sh measures commits from the cache).
#
#   make bench BENCH=generate
#   BUILD=build bash tests/bench/generate.sh [EXTENTS [TABLES [COMMIT_EXTENTS [DIR]]]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
LEADERCTL=$BUILD/leaderctl
EXTENTS=${1:-1000000}
TABLES=${2:-10}
COMMIT=${3:-1000}
BASE=${4:-/dev/shm}
[ -x "$LEADERCTL" ] || { echo "generate: $LEADERCTL is not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "generate: /usr/bin/time is not installed (apt install time)" >&2; exit 1; }

# A 64-byte artifact takes a page on tmpfs, plus its inode: ~4.5 KiB each.
need_kb=$(( (EXTENTS + COMMIT) * 9 / 2 + 1048576 ))
avail_kb=$(df -Pk "$BASE" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt "$need_kb" ]; then
	echo "generate: $BASE has $((avail_kb / 1024)) MiB free, needs ~$((need_kb / 1024)) MiB" >&2
	exit 1
fi
W=$(mktemp -d "$BASE/followerd-bench-generate.XXXXXX")
trap 'rm -rf "$W"' EXIT
D=$W/leader
mkdir "$D"
lc() { "$LEADERCTL" -C "$D" "$@"; }
export LEADERCTL_STATE_CACHE=off

# timed NAME CMD...: runs CMD under /usr/bin/time; sets WALL (s) and RSS (MiB).
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" || {
		echo "generate: $name failed:" >&2
		cat "$W/$name.err" >&2
		exit 1
	}
	read -r WALL RSS <"$W/$name.time"
	RSS=$((RSS / 1024))
}

mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
row() { printf '%-58s %14s %12s\n' "$1" "$2" "$3"; }

lc init >/dev/null
timed gen "$LEADERCTL" -C "$D" generate DB --tables "$TABLES" --extents "$EXTENTS"
gen_wall=$WALL gen_rss=$RSS
uuid=$(lc show --json | jq -r '.databases[0].uuid')
ck=$D/db/$uuid/checkpoint/$(printf %020d 1)
head_size=$(stat -c %s "$D/head.json")
manifest_size=$(stat -c %s "$ck/manifest.json")
read -r nparts parts_total parts_max < <(stat -c %s "$ck"/part-*.ndjson |
	awk '{ n++; t += $1; if ($1 > m) m = $1 } END { print n, t, m }')

timed commit "$LEADERCTL" -C "$D" generate DB --commit-extents "$COMMIT"
commit_wall=$WALL commit_rss=$RSS
log_size=$(stat -c %s "$D/db/$uuid/log/$(printf %020d 2).json")
check_version=$(lc show --json | jq -r '.databases[0].version')
[ "$check_version" = 2 ] || { echo "generate: the commit did not make version 2" >&2; exit 1; }

# Floor of the commit's state load: parse the checkpoint's lines, nothing else.
timed parse python3 -c '
import json, sys
n = 0
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        for line in f:
            r = json.loads(line)
            n += len(r.get("extents", ()))
print(n)' "$ck"/part-*.ndjson
parse_wall=$WALL parse_rss=$RSS

# Floor of the artifacts: as many files of the same size, plainly written.
rm -rf "$D"
timed files python3 -c '
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(256):
    os.mkdir(os.path.join(d, "%02x" % i))
data = b"x" * 64
for i in range(n):
    fd = os.open(os.path.join(d, "%02x" % (i % 256), "%064x" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)' "$W" "$EXTENTS"
files_wall=$WALL

echo "leaderctl generate: $EXTENTS extents in $TABLES tables, then one commit of $COMMIT extents ($BASE, $(nproc) cores)"
row "" "wall" "peak RSS"
row "generate (artifacts durably, checkpoint, head)" "$gen_wall s" "$gen_rss MiB"
row "  floor: python3 writing $EXTENTS files of 64 B, no fsync" "$files_wall s" "-"
row "commit of $COMMIT extents (loads the $EXTENTS-extent state)" "$commit_wall s" "$commit_rss MiB"
row "  floor: python3 json.loads of the checkpoint's lines" "$parse_wall s" "$parse_rss MiB"
echo
row "object" "size" ""
row "head.json" "$head_size B" ""
row "checkpoint manifest" "$(kib "$manifest_size")" ""
row "checkpoint parts: $nparts, total" "$(mib "$parts_total")" ""
row "checkpoint parts: largest" "$(mib "$parts_max")" ""
row "log object of the $COMMIT-extent commit" "$(kib "$log_size")" ""
