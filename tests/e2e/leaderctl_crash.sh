#!/usr/bin/env bash
# A leaderctl killed in the middle of a commit leaves a valid leader.
#
# Directory (ALICE style): strace kills `leaderctl ingest` just before its
# Nth rename, link or fsync, for every N until the commit completes, once
# for a commit that writes a checkpoint and once for one that does not.
# After each kill: verify passes; the head is at the old version or the new
# one; the new extent is there exactly when the version moved (and nothing
# else changed); the next commit succeeds on top, over any orphan log object
# the killed one left at head + 1.
#
# Azure Blob (Azurite): LEADERCTL_TEST_CRASH_AT kills the commit after the
# artifacts, after the log object and after the checkpoint; the same
# invariants hold once the dead writer's lease is gone.  And a writer that
# loses its lease while stalled (LEADERCTL_TEST_STOP_AT, then the lease is
# broken and another writer commits) fails with a clear message instead of
# overwriting the other writer's commit.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
command -v strace >/dev/null || skip_all "strace not installed"
command -v jq >/dev/null || skip_all "jq not installed"
# LeakSanitizer stops the world with ptrace, which fails under strace.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0

# The state of database D as sorted records (what a follower would load).
state() { "$LEADERCTL" -C "$1" dump D | sort; }
version() { "$LEADERCTL" -C "$1" show --json | jq -r '.databases[] | select(.name == "D") | .version'; }
# Extents of D carrying tag $2.
tagged() {
	"$LEADERCTL" -C "$1" dump D |
		jq -r --arg t "$2" 'select(.op == "add_extents") | .extents[] | select(.tags | index($t)) | .id' |
		wc -l
}

# --- directory: two base leaders, the next commit writes a checkpoint or not ---
printf 'crash\n' >"$T/crash.csv"
printf 'next\n' >"$T/next.csv"
make_base() { # DIR COMMITS_AFTER_TABLE
	local d=$1 i
	mkdir -p "$d"
	"$LEADERCTL" -C "$d" init --checkpoint-interval 3 &&
		"$LEADERCTL" -C "$d" create-database D &&
		"$LEADERCTL" -C "$d" create-table D T 'a:string' || return 1
	for ((i = 0; i < $2; i++)); do
		printf 'base %s\n' "$i" >"$T/base$i.csv"
		"$LEADERCTL" -C "$d" ingest D T "$T/base$i.csv" >/dev/null || return 1
	done
}
# versions 1 (create) and 2 (table): after 3 ingests the next commit is 6.
check "a base leader whose next commit writes a checkpoint" make_base "$T/base-ck" 3
check "a base leader whose next commit does not" make_base "$T/base-plain" 2
check_eq "... at versions 5 and 4" "5 4" "$(version "$T/base-ck") $(version "$T/base-plain")"

# crash_one BASE SYSCALL N: one kill on a fresh copy of BASE; prints
# "killed", "done" or "error"; leaves the copy in $T/w.
crash_one() {
	rm -rf "$T/w" && cp -a "$1" "$T/w" || { echo error; return; }
	strace -f -qq -o /dev/null -e trace="$2" -e inject="$2:signal=SIGKILL:when=$3" \
		"$LEADERCTL" -C "$T/w" ingest D T "$T/crash.csv" --tags crash >/dev/null 2>"$T/crash.err"
	case $? in 0) echo done ;; 137) echo killed ;; *) echo error ;; esac
}

# after_crash BASE OLD: checks the invariants on $T/w; sets PROBLEMS to one
# line of what was wrong (empty: nothing) and counts replaced orphans.
after_crash() {
	local base=$1 old=$2 v n p="" orphan
	"$LEADERCTL" -C "$T/w" verify >"$T/verify.out" 2>&1 || p+="verify: $(tr '\n' ' ' <"$T/verify.out"); "
	v=$(version "$T/w")
	n=$(tagged "$T/w" crash)
	if [ "$v" = "$old" ]; then
		[ "$n" = 0 ] || p+="version $v unchanged but the extent is there; "
		[ "$(state "$T/w")" = "$(state "$base")" ] || p+="version unchanged but the state changed; "
	elif [ "$v" = $((old + 1)) ]; then
		[ "$n" = 1 ] || p+="version moved to $v but $n crash extents; "
	else
		p+="version $v is neither $old nor $((old + 1)); "
	fi
	orphan=$(ls "$T/w/db/"*/log/"$(printf %020d $((v + 1))).json" 2>/dev/null)
	if "$LEADERCTL" -C "$T/w" ingest D T "$T/next.csv" --tags next >"$T/next.out" 2>&1; then
		[ "$(version "$T/w")" = $((v + 1)) ] || p+="the next commit did not make version $((v + 1)); "
		[ "$(tagged "$T/w" next)" = 1 ] || p+="the next commit's extent is missing; "
		[ "$(tagged "$T/w" crash)" = "$n" ] || p+="the next commit changed the crash extent; "
		if [ -n "$orphan" ]; then
			ORPHANS=$((ORPHANS + 1))
			jq -e '.actions[0].extents[0].tags == ["next"]' "$orphan" >/dev/null ||
				p+="the orphan log object at $((v + 1)) was not replaced; "
		fi
		"$LEADERCTL" -C "$T/w" verify >"$T/verify.out" 2>&1 ||
			p+="verify after the next commit: $(tr '\n' ' ' <"$T/verify.out"); "
	else
		p+="the next commit failed: $(cat "$T/next.out"); "
	fi
	PROBLEMS=$p
}

OLDS=0 NEWS=0 ORPHANS=0
for base in base-ck base-plain; do
	old=$(version "$T/$base")
	for sc in rename link fsync; do
		kills=0 bad=0 outcome=
		for ((n = 1; n <= 100; n++)); do
			outcome=$(crash_one "$T/$base" "$sc" "$n")
			[ "$outcome" = killed ] || break
			kills=$((kills + 1))
			[ "$(version "$T/w")" = "$old" ] && OLDS=$((OLDS + 1)) || NEWS=$((NEWS + 1))
			after_crash "$T/$base" "$old"
			if [ -n "$PROBLEMS" ]; then
				bad=$((bad + 1))
				diag "$base, killed before $sc #$n: $PROBLEMS"
			fi
		done
		check_eq "$base: killed before each of $kills ${sc}s: invariants hold every time" 0 "$bad"
		check_eq "$base: ... until the commit completes without a kill" done "$outcome"
		[ "$outcome" = done ] || sed 's/^/# /' "$T/crash.err"
	done
done
check "some kills left the old version" test "$OLDS" -gt 0
check "some kills left the new version (killed after the head was renamed)" test "$NEWS" -gt 0
check "some kills left an orphan log object that the next commit replaced" test "$ORPHANS" -gt 0

# --- Azure Blob: the test hooks ---
[ -x "$TOOLS/aztool" ] || { not_ok "aztool is built ($TOOLS/aztool)"; done_testing; }
start_azurite
# Azurite takes minutes to stop on SIGTERM; its data is in $T anyway.
AZ_PID=${_pids[${#_pids[@]} - 1]}
trap 'kill -9 "$AZ_PID" 2>/dev/null; _e2e_cleanup' EXIT
printf '%s\n' "$AZ_KEY" >"$T/key"
az_create_container crash >/dev/null || not_ok "create the container"
U=$AZ_URL/crash
la() { "$LEADERCTL" -C "$U" --account-key-file "$T/key" "$@"; }
av() { la show --json | jq -r '.databases[] | select(.name == "D") | .version'; }
atagged() { la dump D | jq -r --arg t "$1" 'select(.op == "add_extents") | .extents[] | select(.tags | index($t)) | .id' | wc -l; }
logpath() { echo "db/$(la show --json | jq -r '.databases[] | select(.name == "D") | .uuid')/log/$(printf %020d "$1").json"; }
breaklease() { "$TOOLS/aztool" --account-key "$AZ_KEY" breaklease "$U" >/dev/null; }
check "azure: init" la init --checkpoint-interval 2
check "azure: create-database" la create-database D
check "azure: create-table" la create-table D T 'a:string'

for point in after-artifacts after-log after-checkpoint; do
	# The crashed commit must be one that writes a checkpoint (even version).
	[ $(( ($(av) + 1) % 2 )) -eq 0 ] || la ingest D T "$T/next.csv" >/dev/null
	old=$(av)
	printf '%s\n' "$point" >"$T/$point.csv"
	LEADERCTL_TEST_CRASH_AT=$point la ingest D T "$T/$point.csv" --tags "$point" >/dev/null 2>&1
	check_eq "azure $point: the commit was killed" 137 "$?"
	check_fails "azure $point: the dead writer's lease still stops others" la --lock-timeout 1 ingest D T "$T/next.csv"
	check_match "azure $point: ... saying so" "another writer holds the lock" "$(cat "$T/last.out")"
	# What the lease's expiry (60 s) would do, at once.
	check "azure $point: break the dead writer's lease" breaklease
	check "azure $point: verify passes" la verify
	check_eq "azure $point: the head is at the old version" "$old" "$(av)"
	check_eq "azure $point: the extent is not there" 0 "$(atagged "$point")"
	has_orphan=$("$TOOLS/aztool" --account-key "$AZ_KEY" list "$U" "$(logpath $((old + 1)))" | wc -l)
	check_eq "azure $point: an orphan log object exactly when killed after writing it" \
		"$([ $point = after-artifacts ] && echo 0 || echo 1)" "$has_orphan"
	check "azure $point: the next commit succeeds" la ingest D T "$T/next.csv" --tags "next-$point"
	check_eq "azure $point: ... at the next version" $((old + 1)) "$(av)"
	check_eq "azure $point: ... and the log object there is its own" '["next-'$point'"]' \
		"$("$TOOLS/aztool" --account-key "$AZ_KEY" get "$U" "$(logpath $((old + 1)))" | jq -c '.actions[0].extents[0].tags')"
	check "azure $point: verify passes" la verify
done

# wait_stopped PID: until the process is stopped (state T), 20 s at most.
wait_stopped() {
	local i
	for ((i = 0; i < 400; i++)); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	return 1
}

for point in after-artifacts after-log after-checkpoint; do
	[ $(( ($(av) + 1) % 2 )) -eq 0 ] || la ingest D T "$T/next.csv" >/dev/null
	old=$(av)
	LEADERCTL_TEST_STOP_AT=$point "$LEADERCTL" -C "$U" --account-key-file "$T/key" \
		ingest D T "$T/$point.csv" --tags "stalled-$point" >"$T/stalled.out" 2>&1 &
	pid=$!
	_pids+=("$pid")
	check "lease lost $point: the writer stalls holding the lease" wait_stopped "$pid"
	check "lease lost $point: the lease is broken" breaklease
	check "lease lost $point: another writer commits meanwhile" la ingest D T "$T/next.csv" --tags "other-$point"
	kill -CONT "$pid"
	wait "$pid"
	check_eq "lease lost $point: the stalled writer fails" 1 "$?"
	check_match "lease lost $point: ... saying it lost the lock and did not commit" \
		"^leaderctl: ingest: D version $((old + 1)) not committed: .*lost the writer lock" "$(cat "$T/stalled.out")"
	check_eq "lease lost $point: the other writer's commit stands" "$((old + 1)) 1 0" \
		"$(av) $(atagged "other-$point") $(atagged "stalled-$point")"
	check "lease lost $point: verify passes" la verify
	la dump D | sort >"$T/ck"
	la dump D --replay | sort >"$T/replay"
	check "lease lost $point: checkpoint + log gives the state the log gives" cmp "$T/ck" "$T/replay"
done

done_testing
