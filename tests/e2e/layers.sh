#!/usr/bin/env bash
# layers — the layering rule of lib/ (scripts/layers.sh, run by make lint):
# the tree keeps it, and the check catches what breaks it: an include of a
# higher floor, of a folder on the same floor, of a header without its
# folder, of daemon/, and a folder on no floor.
source "$(dirname "$0")/lib.sh"

check "the tree keeps the rule" bash "$E2E_ROOT/scripts/layers.sh"

t=$T/tree
mkdir -p "$t/scripts" "$t/lib"
cp "$E2E_ROOT/scripts/layers.sh" "$t/scripts/"
cp -r "$E2E_ROOT"/lib/util "$E2E_ROOT"/lib/proto "$E2E_ROOT"/lib/conf "$E2E_ROOT"/lib/cache "$t/lib/"
check "a copy of a few floors keeps it" bash "$t/scripts/layers.sh"

breaks() { # DESC FILE LINE EXPECTED-MESSAGE
	local saved
	saved=$(cat "$t/$2")
	echo "$3" >>"$t/$2"
	if bash "$t/scripts/layers.sh" >"$T/out" 2>&1; then
		not_ok "$1 (not caught)"
	else
		check_match "$1" "$4" "$(cat "$T/out")"
	fi
	printf '%s\n' "$saved" >"$t/$2"
}
breaks "a lower floor including a higher one" lib/util/pqueue.c '#include "cache/cache.h"' \
	'util/ \(floor 0\) includes cache/cache.h \(floor 5\)'
breaks "two folders of one floor" lib/proto/proto.c '#include "conf/conf.h"' \
	'proto/ \(floor 1\) includes conf/conf.h \(floor 1\)'
breaks "a header without its folder" lib/conf/conf.c '#include "fsutil.h"' 'by folder'
breaks "lib/ including daemon/" lib/util/shamap.c '#include "../../daemon/log.h"' 'must not include'
mkdir "$t/lib/nowhere"
check_fails "a folder on no floor" bash "$t/scripts/layers.sh"
check_match "...named" 'lib/nowhere/ is on no floor' "$(bash "$t/scripts/layers.sh" 2>&1)"
done_testing
