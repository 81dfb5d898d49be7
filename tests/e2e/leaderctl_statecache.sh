#!/usr/bin/env bash
# leaderctl's local state cache (lib/leader/leader_cache.c) on a directory:
# two writers, A and B, each with its own cache as on two machines, commit
# to one generated database of 10,000 extents.  A commit from the cache
# still refuses what does not apply (a drop of an extent that is not there,
# twice the same id, a table that is not there); a cache that another
# writer's commits made stale catches up through the log (and so refuses
# to drop an extent B dropped); a cache far behind a newer checkpoint, a
# leader restored from a backup (the cache ahead of the head, or at the same
# version but another commit), and a damaged cache file are detected and the
# state is loaded from the checkpoint instead; checkpoints written from a
# cached state agree with the log, and verify passes throughout.  Then a
# database over the lazy size (50,000 extents; LEADERCTL_TEST_LAZY_EXTENTS
# lowers it to 5,000 here), whose cache is rewritten only every few
# commits (the commits in between replay the log since), works the same.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
# The leader on tmpfs when there is one: 60,000 durably written artifact
# files take minutes on a disk here.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	S=$(mktemp -d /dev/shm/followerd-e2e-statecache.XXXXXX)
	trap 'rm -rf "$S"; _e2e_cleanup' EXIT
else
	S=$T
fi
D=$S/leader
mkdir -p "$D" "$T/files"
# Each writer's last note (leaderctl -v says where the state came from).
lc_as() {
	local who=$1
	shift
	"$LEADERCTL" -C "$D" --state-cache "$T/cache-$who" -v "$@" 2>"$T/$who.err"
	local rc=$?
	cat "$T/$who.err" >&2
	return $rc
}
A() { lc_as a "$@"; }
B() { lc_as b "$@"; }
note() { grep -E "^leaderctl: [a-z-]+: (state from|no |cached state)" "$T/$1.err" | tail -1; }
version() { "$LEADERCTL" -C "$D" show --json | jq -r '.databases[0].version'; }
ids() { "$LEADERCTL" -C "$D" dump DB | jq -r 'select(.op == "add_extents") | .extents[].id'; }
n=0
file() { n=$((n + 1)); printf 'line %s\n' "$n" >"$T/files/f$n.csv"; echo "$T/files/f$n.csv"; }

check "init with a checkpoint every 5 commits" "$LEADERCTL" -C "$D" init --checkpoint-interval 5
check "generate 10,000 extents in 2 tables" "$LEADERCTL" -C "$D" generate DB --tables 2 --extents 10000

# --- the first commit has no cache, the next one uses it ---
check "A: a first commit" A generate DB --commit-extents 10
check_match "... loads the state from the checkpoint (no cache yet)" \
	"no cached state.*state from checkpoint 1" "$(note a)"
check "A: a second commit" A ingest DB T0000 "$(file)"
check_match "... starts from A's cache" "state from the cache at version 2 and 0 log" "$(note a)"

# --- every action is still checked ---
check_fails "A: dropping an extent that does not exist" \
	A drop-extents DB 00000000-0000-4000-8000-000000000000
check_match "... is refused" "extent 00000000-0000-4000-8000-000000000000 not found in database DB" \
	"$(cat "$T/a.err")"
check_match "... with the state from the cache" "state from the cache" "$(note a)"
x=$(ids | sed -n 100p)
check_fails "A: merging an extent with itself" A merge-extents DB "$x" "$x"
check_match "... is refused" "appears twice" "$(cat "$T/a.err")"
check_fails "A: ingesting into a table that does not exist" A ingest DB Nope "$(file)"
check_match "... is refused" "table 'Nope' does not exist" "$(cat "$T/a.err")"
check "A: dropping an extent that exists" A drop-extents DB "$x"
check_fails "A: dropping it again" A drop-extents DB "$x"
check_match "... is refused (the cache holds the new version)" "extent $x not found" "$(cat "$T/a.err")"
check_eq "the refusals committed nothing" 4 "$(version)"

# --- another writer's commits: A's cache is stale and catches up ---
y=$(ids | sed -n 200p)
check "B: drops an extent" B drop-extents DB "$y"
check_match "... with no cache of its own" "no cached state" "$(note b)"
check_fails "A: dropping the extent B dropped" A drop-extents DB "$y"
check_match "... is refused" "extent $y not found" "$(cat "$T/a.err")"
check_match "... A's cache caught up through B's log object" \
	"state from the cache at version 4 and 1 log objects" "$(note a)"
check "A: commits after catching up" A ingest DB T0001 "$(file)"
check_match "... from its cache and B's log object" "state from the cache at version 4 and 1 log" \
	"$(note a)"

# --- far behind a newer checkpoint: the checkpoint is cheaper ---
for i in 1 2 3 4 5 6; do B ingest DB T0000 "$(file)" >/dev/null || break; done
check_eq "B made 6 commits" 12 "$(version)"
check "A: commits 6 versions behind, past a checkpoint" A ingest DB T0000 "$(file)"
check_match "... loads the checkpoint instead" "6 versions behind.*state from checkpoint 10" \
	"$(note a)"

# --- a leader restored from a backup ---
v=$(version)
cp -a "$D" "$S/backup"
a1=$(A ingest DB T0000 "$(file)")
check "A: commits version $((v + 1)) (adds $a1)" test -n "$a1"
rm -rf "$D" && cp -a "$S/backup" "$D"
b1=$(B ingest DB T0000 "$(file)")
check "the leader restored to version $v, B commits another version $((v + 1))" test -n "$b1"
check_fails "A: dropping the extent it added before the restore" A drop-extents DB "$a1"
check_match "... is refused" "extent $a1 not found" "$(cat "$T/a.err")"
check_match "... A saw that its cache is not the leader's version $((v + 1))" \
	"cached state at version $((v + 1)) is not the version.*state from checkpoint" "$(note a)"
check "A: drops B's extent" A drop-extents DB "$b1"
cp -a "$D" "$S/backup2"
check "A: one more commit" A ingest DB T0001 "$(file)"
rm -rf "$D" && cp -a "$S/backup2" "$D"
check "the leader restored behind A's cache: A commits" A ingest DB T0001 "$(file)"
check_match "... seeing its cache ahead of the head" "rewound\\?.*state from checkpoint" "$(note a)"

# --- a damaged cache file ---
f=$(ls "$T"/cache-a/*/*.state)
printf 'X' | dd of="$f" bs=1 seek=5000 conv=notrunc status=none
check "A: commits with a damaged cache file" A ingest DB T0001 "$(file)"
check_match "... noticing the damage" "unusable: snapshot: not a snapshot of this format, or damaged" \
	"$(note a)"
check "A: and from its rewritten cache next" A ingest DB T0001 "$(file)"
check_match "... from the cache" "state from the cache" "$(note a)"

# --- the cache turned off ---
check "a commit with --state-cache off" \
	"$LEADERCTL" -C "$D" --state-cache off -v ingest DB T0001 "$(file)"
check_match "... loads the checkpoint" "no state cache: state from checkpoint" "$(cat "$T/last.out")"

# --- a big state is not rewritten after every commit ---
# (big: from 50,000 extents; the test lowers that to 5,000 to stay quick)
export LEADERCTL_TEST_LAZY_EXTENTS=5000
check "generate Big: 6,000 extents" "$LEADERCTL" -C "$D" generate Big --tables 1 --extents 6000
check "A: a first commit to Big" A generate Big --commit-extents 10
check_match "... loads the checkpoint" "no cached state.*state from checkpoint 1" "$(note a)"
check "A: a second commit" A ingest Big T0000 "$(file)"
check "A: a third commit" A ingest Big T0000 "$(file)"
check_match "... starts from the cache the first commit wrote and the second's log object" \
	"state from the cache at version 2 and 1 log objects" "$(note a)"
z=$("$LEADERCTL" -C "$D" dump Big | jq -r 'select(.op == "add_extents") | .extents[].id' | sed -n 5p)
check "B: drops an extent of Big" B drop-extents Big "$z"
check_fails "A: dropping it too" A drop-extents Big "$z"
check_match "... is refused" "extent $z not found" "$(cat "$T/a.err")"
check_match "... the log since the cache replayed" "state from the cache at version 2 and 3 log objects" \
	"$(note a)"
check "A: commits 4 versions after its cache" A ingest Big T0000 "$(file)"
check "A: commits 5 versions after its cache" A ingest Big T0000 "$(file)"
check_match "... from the cache and 4 log objects" "state from the cache at version 2 and 4 log" \
	"$(note a)"
check "A: commits again" A ingest Big T0000 "$(file)"
check_match "... from the cache the 5th rewrote (the checkpoint interval)" \
	"state from the cache at version 7 and 0 log objects" "$(note a)"

unset LEADERCTL_TEST_LAZY_EXTENTS

# --- what was published is sound ---
check "verify passes" "$LEADERCTL" -C "$D" verify
"$LEADERCTL" -C "$D" dump DB | sort >"$T/ck"
"$LEADERCTL" -C "$D" dump DB --replay | sort >"$T/replay"
check "checkpoints written from cached states agree with the log" cmp "$T/ck" "$T/replay"
check_eq "10,000 + 10 generated and 14 ingested extents, 3 dropped" 10021 "$(ids | wc -l)"

done_testing
