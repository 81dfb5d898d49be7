#!/usr/bin/env bash
# Benchmarks (make bench): each tests/bench/*.sh prints its own table, with
# the peer it is compared to measured in the same run.  BENCH=pattern narrows.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export BUILD=${BUILD:?}
# leaderctl's state cache lives with the run, not in the user's home.
LEADERCTL_STATE_CACHE=${LEADERCTL_STATE_CACHE:-$(mktemp -d "${TMPDIR:-/tmp}/followerd-bench-state.XXXXXX")}
export LEADERCTL_STATE_CACHE
trap 'case "$LEADERCTL_STATE_CACHE" in */followerd-bench-state.*) rm -rf "$LEADERCTL_STATE_CACHE" ;; esac' EXIT
rc=0
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	case "$(basename "$b")" in lib.sh) continue ;; esac
	if [ $# -gt 0 ]; then case "$(basename "$b")" in *"$1"*) ;; *) continue ;; esac; fi
	echo "== $(basename "$b" .sh)"
	bash "$b" || rc=1
	echo
done
exit $rc
