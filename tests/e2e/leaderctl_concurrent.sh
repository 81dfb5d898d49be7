#!/usr/bin/env bash
# Two writers at once: two loops of 20 `leaderctl ingest` each into the same
# database, on a directory (flock) and on Azure Blob (Azurite: a lease, and
# the head replaced with If-Match).  No commit may be lost: the version moves
# by exactly 40, every extent a writer was told was committed is there, and
# verify passes (checkpoints every 3 commits fall in the middle of the race).
source "$(dirname "$0")/lib.sh"

[ -x "$LEADERCTL" ] || { not_ok "leaderctl is built ($LEADERCTL)"; done_testing; }
command -v jq >/dev/null || skip_all "jq not installed"
N=20

# writer NAME TARGET AUTH...: N ingests; each id printed goes to $T/NAME.ids,
# each failure's message to $T/NAME.err.
writer() {
	local name=$1 target=$2 i
	shift 2
	: >"$T/$name.ids"
	: >"$T/$name.err"
	for ((i = 0; i < N; i++)); do
		printf '%s %s\n' "$name" "$i" >"$T/$name-$i.csv"
		"$LEADERCTL" -C "$target" "$@" ingest D T "$T/$name-$i.csv" --tags "$name" \
			>>"$T/$name.ids" 2>>"$T/$name.err" || echo "ingest $i failed" >>"$T/$name.err"
	done
}

# race LABEL TARGET AUTH...: the two writers at once, then the checks.
race() {
	local label=$1 target=$2
	shift 2
	lr() { "$LEADERCTL" -C "$target" "$@"; }
	check "$label: init" lr "$@" init --checkpoint-interval 3
	check "$label: create-database" lr "$@" create-database D
	check "$label: create-table" lr "$@" create-table D T 'a:string'
	local v0 pa pb
	v0=$(lr "$@" show --json | jq -r '.databases[0].version')
	writer "$label-a" "$target" "$@" &
	pa=$!
	writer "$label-b" "$target" "$@" &
	pb=$!
	_pids+=("$pa" "$pb")
	wait "$pa" "$pb"
	check_eq "$label: no ingest failed" "" "$(cat "$T/$label-a.err" "$T/$label-b.err")"
	check_eq "$label: the version moved by exactly $((2 * N))" "$((v0 + 2 * N))" \
		"$(lr "$@" show --json | jq -r '.databases[0].version')"
	lr "$@" dump D >"$T/$label.dump"
	check_eq "$label: $((2 * N)) extents, $N of each writer" "$N $N" \
		"$(for w in a b; do jq -r --arg t "$label-$w" 'select(.op == "add_extents") | .extents[] | select(.tags == [$t]) | .id' "$T/$label.dump" | wc -l; done | paste -sd' ')"
	jq -r 'select(.op == "add_extents") | .extents[].id' "$T/$label.dump" | sort >"$T/$label.have"
	sort "$T/$label-a.ids" "$T/$label-b.ids" >"$T/$label.told"
	check_eq "$label: exactly the extents the writers were told were committed" "$((2 * N))" \
		"$(comm -12 "$T/$label.have" "$T/$label.told" | wc -l)"
	# Which writer made each version, in order: a race, not one after the other.
	local order
	order=$(lr "$@" log D --json --from $((v0 + 1)) | jq -r '.actions[0].added[0]' |
		while read -r id; do grep -qx "$id" "$T/$label-a.ids" && echo a || echo b; done | paste -sd '')
	diag "$label: writer of each commit in order: $order"
	check_match "$label: the two writers' commits interleave" 'ab+a|ba+b' "$order"
	check "$label: verify passes" lr "$@" verify
	lr "$@" dump D | sort >"$T/$label.ck"
	lr "$@" dump D --replay | sort >"$T/$label.log"
	check "$label: the newest checkpoint + log gives the state the whole log gives" \
		cmp "$T/$label.ck" "$T/$label.log"
}

mkdir -p "$T/leader"
race dir "$T/leader"

[ -x "$TOOLS/aztool" ] || { not_ok "aztool is built ($TOOLS/aztool)"; done_testing; }
start_azurite
printf '%s\n' "$AZ_KEY" >"$T/key"
check "azure: create the container" az_create_container race
race azure "$AZ_URL/race" --account-key-file "$T/key"

done_testing
