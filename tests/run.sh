#!/usr/bin/env bash
# Test runner: every cmocka program in $BUILD/tests and every tests/e2e/*.sh,
# each speaking TAP.  Counts "ok" / "not ok" lines, keeps each program's log
# under $BUILD/test-logs, and ends with the line "N passed, N failed".
#
#   tests/run.sh [--unit|--e2e] [PATTERN...]   run the tests whose name matches
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:?BUILD must point at the build directory}
export BUILD
logs=$BUILD/test-logs
mkdir -p "$logs"
mode=all
case "${1:-}" in --unit) mode=unit; shift ;; --e2e) mode=e2e; shift ;; esac
patterns=("$@")

selected() {
	[ ${#patterns[@]} -eq 0 ] && return 0
	local p
	for p in "${patterns[@]}"; do case "$1" in *"$p"*) return 0 ;; esac; done
	return 1
}

passed=0 failed=0 skipped=0
failures=()

# run_one NAME LOG CMD...: run a TAP producer; a non-zero exit with no
# "not ok" line still counts as one failure, so a crash is never silent.
run_one() {
	local name=$1 log=$2; shift 2
	local start=$SECONDS rc
	"$@" >"$log" 2>&1
	rc=$?
	local ok nok skip
	# cmocka reports a skipped test as "not ok N # SKIP".
	ok=$(grep -E '^ok [0-9]+' "$log" | grep -cvE '# (SKIP|skip)')
	skip=$(grep -E '^(not )?ok [0-9]+' "$log" | grep -cE '# (SKIP|skip)')
	nok=$(grep -E '^not ok [0-9]+' "$log" | grep -cvE '# (SKIP|skip)')
	if [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
	elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + ok)); failed=$((failed + nok)); skipped=$((skipped + skip))
	printf '%-40s %4d ok %3d failed %3d skipped  %3ds\n' "$name" "$ok" "$nok" "$skip" $((SECONDS - start))
	if [ "$nok" -gt 0 ]; then
		failures+=("$name")
		grep -E '^not ok|^# ' "$log" | head -40 | sed 's/^/    /'
		echo "    (full log: $log)"
	fi
}

if [ "$mode" != e2e ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue ;; esac
		n=unit/$(basename "$t")
		selected "$n" || continue
		CMOCKA_MESSAGE_OUTPUT=TAP run_one "$n" "$logs/$(basename "$t").log" "$t"
	done
fi

if [ "$mode" != unit ]; then
	for t in "$here"/e2e/*.sh; do
		[ -f "$t" ] || continue
		[ "$(basename "$t")" = lib.sh ] && continue
		n=e2e/$(basename "$t" .sh)
		selected "$n" || continue
		run_one "$n" "$logs/e2e-$(basename "$t" .sh).log" timeout 600 bash "$t"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
