#!/usr/bin/env bash
# leaderctl generate: a synthetic database of N extents (default 1,000,000,
# 10 tables, 64-byte artifacts) written straight as one checkpoint to a
# directory on tmpfs, then one ordinary 1,000-extent commit on top of it
# (which loads the whole state first).  Prints time and peak RSS of each,
# the sizes of the head, the checkpoint parts and the commit's log object,
# and, as the peer measured in the same run, the time a plain Python loop
# takes just to create the same number of 64-byte files there.
#   make bench BENCH=generate      or      BUILD=build bash tests/bench/generate.sh [N] [DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$root/build}
N=${1:-1000000}
base=${2:-/dev/shm}
LEADERCTL=$BUILD/leaderctl
[ -x "$LEADERCTL" ] || { echo "generate: build leaderctl first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "generate: needs /usr/bin/time (GNU time)" >&2; exit 1; }
work=$(mktemp -d "$base/bench-generate.XXXXXX")
trap 'rm -rf "$work"' EXIT
D=$work/leader

# measure LABEL CMD...: runs CMD under GNU time; prints "seconds rss_mib".
measure() {
	local label=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$label.out" 2>&1 ||
		{ echo "generate: $label failed:" >&2; cat "$work/$label.out" >&2; exit 1; }
	awk '{printf "%s %.0f\n", $1, $2 / 1024}' "$work/time"
}

mkdir -p "$D"
"$LEADERCTL" -C "$D" init
read -r gen_s gen_rss < <(measure generate "$LEADERCTL" -C "$D" generate Big --tables 10 --extents "$N")
read -r commit_s commit_rss < <(measure commit "$LEADERCTL" -C "$D" generate Big --commit-extents 1000)

uuid=$("$LEADERCTL" -C "$D" show --json | jq -r '.databases[0].uuid')
ckdir=$D/db/$uuid/checkpoint/$(printf %020d 1)
head_b=$(stat -c %s "$D/head.json")
manifest_b=$(stat -c %s "$ckdir/manifest.json")
parts=$(find "$ckdir" -name 'part-*' | wc -l)
parts_b=$(find "$ckdir" -name 'part-*' -printf '%s\n' | awk '{s += $1} END {print s}')
part_max=$(find "$ckdir" -name 'part-*' -printf '%s\n' | sort -n | tail -1)
log_b=$(stat -c %s "$D/db/$uuid/log/$(printf %020d 2).json")
artifacts=$(find "$D/artifacts" -type f | wc -l)

rm -rf "$D" # tmpfs inodes: the peer needs as many again

# The peer: only creating as many 64-byte files, no hashing, no fsync, no JSON.
mkdir -p "$work/peer"
read -r peer_s peer_rss < <(measure peer python3 -c '
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(256):
    os.mkdir("%s/%02x" % (d, i))
for i in range(n):
    with open("%s/%02x/%d" % (d, i % 256, i), "wb") as f:
        f.write(b"x" * 64)
' "$work/peer" "$N")

mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
printf '%-44s %12s %10s\n' "what ($N extents, tmpfs: $base)" "time (s)" "peak RSS"
printf '%-44s %12s %7s MiB\n' "leaderctl generate (checkpoint + head)" "$gen_s" "$gen_rss"
printf '%-44s %12s %7s MiB\n' "leaderctl generate --commit-extents 1000" "$commit_s" "$commit_rss"
printf '%-44s %12s %7s MiB\n' "peer: python3 creating $N 64-byte files" "$peer_s" "$peer_rss"
echo
printf '%-44s %s\n' "artifacts written" "$artifacts"
printf '%-44s %s bytes\n' "head.json" "$head_b"
printf '%-44s %s bytes\n' "checkpoint manifest" "$manifest_b"
printf '%-44s %s parts, %s in all, largest %s\n' "checkpoint parts" "$parts" "$(mib "$parts_b")" "$(mib "$part_max")"
printf '%-44s %s bytes per extent\n' "checkpoint size" "$((parts_b / N))"
printf '%-44s %s\n' "log object of the 1,000-extent commit" "$(mib "$log_b") ($log_b bytes)"
