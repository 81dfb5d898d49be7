#!/usr/bin/env bash
# Two leaderctl processes commit to the same database at once, 20 ingests
# each, on a directory (flock) and on Azurite (blob lease): no commit is
# lost — the version moves by exactly 40, all 40 extents are there, each
# version's log object holds one of them, the two writers ran at the same
# time (a race, not one after the other: their lifetimes overlap; whether
# the commits interleave is up to the scheduler and the lease, so the order
# is only shown), and verify passes.  Each writer keeps its own state cache,
# as on two machines: every commit of one makes the other's cache stale, and
# it must catch up through the log (or reload) before its next commit.
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
N=20

# race NAME ROOT AUTH...: the two writers against one leader root.
race() {
	local name=$1 root=$2
	shift 2
	local auth=("$@") w i v0 v1 pids=()
	lc() { "$LEADERCTL" -C "$root" "${auth[@]}" --lock-timeout 120 "$@"; }

	check "$name: init" lc init --checkpoint-interval 7
	check "$name: create-database" lc create-database Logs
	check "$name: create-table" lc create-table Logs Events 'Message:string'
	v0=$(lc show --json | jq '.databases[0].version')
	for w in a b; do
		for ((i = 0; i < N; i++)); do printf '%s %s\n' "$w" "$i" >"$T/$name-$w$i.csv"; done
		(
			export LEADERCTL_STATE_CACHE=$T/$name-state-$w
			date +%s%N >"$T/$name-$w.start"
			for ((i = 0; i < N; i++)); do
				lc ingest Logs Events "$T/$name-$w$i.csv" --tags "$w" || exit 1
			done >"$T/$name-$w.ids"
			date +%s%N >"$T/$name-$w.end"
		) 2>"$T/$name-$w.err" &
		pids+=($!)
	done
	for w in 0 1; do
		if wait "${pids[$w]}"; then ok "$name: writer $w made $N commits"; else
			not_ok "$name: writer $w made $N commits"; sed 's/^/# /' "$T/$name-"*.err | head; fi
	done
	v1=$(lc show --json | jq '.databases[0].version')
	check_eq "$name: the version moved by $((2 * N))" "$((v0 + 2 * N))" "$v1"
	lc dump Logs | jq -r 'select(.op == "add_extents") | .extents[].id' | sort >"$T/$name.present"
	sort "$T/$name-a.ids" "$T/$name-b.ids" >"$T/$name.made"
	check_eq "$name: $((2 * N)) extents were reported" "$((2 * N))" "$(wc -l <"$T/$name.made")"
	check "$name: every one of them is in the database" cmp "$T/$name.made" "$T/$name.present"
	lc log Logs --json --from "$((v0 + 1))" |
		jq -r '.actions[] | select(.op == "add_extents") | .added[]' | sort >"$T/$name.logged"
	check "$name: each version's log object adds one of them" cmp "$T/$name.made" "$T/$name.logged"
	# Which writer made each version, in order: a race, not one after the other.
	local order
	order=$(lc log Logs --json --from "$((v0 + 1))" | jq -r '.actions[0].added[0]' |
		while read -r id; do grep -qx "$id" "$T/$name-a.ids" && echo a || echo b; done | paste -sd '')
	diag "$name: writer of each commit in order: $order"
	local a0 a1 b0 b1
	read -r a0 <"$T/$name-a.start"; read -r a1 <"$T/$name-a.end"
	read -r b0 <"$T/$name-b.start"; read -r b1 <"$T/$name-b.end"
	check_eq "$name: the two writers ran at the same time" yes \
		"$([ "$a0" -lt "$b1" ] && [ "$b0" -lt "$a1" ] && echo yes || echo "no: a $a0..$a1, b $b0..$b1")"
	check_eq "$name: each writer has its $N extents" "$N $N" \
		"$(lc dump Logs | jq -r 'select(.op == "add_extents") | .extents[].tags[0]' | sort | uniq -c | awk '{print $1}' | xargs)"
	check "$name: verify passes" lc verify
	lc dump Logs | sort >"$T/$name.ck"
	lc dump Logs --replay | sort >"$T/$name.replay"
	check "$name: the checkpoints written on the way agree with the log" cmp "$T/$name.ck" "$T/$name.replay"
}

mkdir -p "$T/dir"
race dir "$T/dir"

if [ -x "$NODE_BIN/azurite-blob" ] && [ -x "$TOOLS/aztool" ]; then
	start_azurite
	# Azurite takes minutes to stop on SIGTERM; its data is in $T anyway.
	AZ_PID=${_pids[${#_pids[@]} - 1]}
	trap 'kill -9 "$AZ_PID" 2>/dev/null; _e2e_cleanup' EXIT
	printf '%s\n' "$AZ_KEY" >"$T/key"
	check "azurite: create the container" az_create_container race
	race azurite "$AZ_URL/race" --account-key-file "$T/key"
else
	ok "azurite: skipped (azurite or aztool missing) # SKIP"
fi

done_testing
