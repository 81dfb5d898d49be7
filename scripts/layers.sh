#!/usr/bin/env bash
# The layering rule of lib/ (make lint): each folder of lib/ is a floor of
# the pipeline, and a file may include headers of its own folder and of
# folders on lower floors only.  Two folders on one floor never include each
# other; lib/ never includes daemon/ or cli/.  The floors are listed here,
# lowest first, and drawn in docs/ARCHITECTURE.md; a new folder of lib/ must
# be added to a floor or the check fails.
set -eu
cd "$(dirname "$0")/.."

floors=(
	"util"
	"proto conf net"
	"data policy"
	"store leader"
	"sync"
	"cache"
	"views kusto query"
)

declare -A floor
for i in "${!floors[@]}"; do
	for d in ${floors[$i]}; do floor[$d]=$i; done
done

bad=0
complain() { echo "layers: $*" >&2; bad=1; }

for dir in lib/*/; do
	d=$(basename "$dir")
	[ -n "${floor[$d]:-}" ] || complain "lib/$d/ is on no floor (add it to scripts/layers.sh)"
done
for f in lib/*.[ch]; do
	[ -e "$f" ] && complain "$f: every module of lib/ lives in a folder (its floor)"
done

while IFS=: read -r file line text; do
	from=${file#lib/}
	from=${from%%/*}
	[[ $text =~ \"([^\"]*)\" ]] || continue
	inc=${BASH_REMATCH[1]}
	case "$inc" in
	*/*) to=${inc%%/*} ;;
	*) complain "$file:$line: \"$inc\": include lib headers by folder (\"folder/name.h\")"; continue ;;
	esac
	[ "$to" = "$from" ] && continue
	case "$to" in
	..|daemon|cli) complain "$file:$line: lib/ must not include $inc"; continue ;;
	esac
	[ -n "${floor[$to]:-}" ] || { complain "$file:$line: \"$inc\": no folder lib/$to/"; continue; }
	if [ "${floor[$to]}" -ge "${floor[$from]}" ]; then
		complain "$file:$line: $from/ (floor ${floor[$from]}) includes $inc (floor ${floor[$to]}): dependencies go downhill only"
	fi
done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' lib/*/*.[ch] /dev/null)

[ "$bad" -eq 0 ] && echo "layers: ok (${#floors[@]} floors, $(ls -d lib/*/ | wc -l) folders)"
exit "$bad"
