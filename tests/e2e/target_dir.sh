#!/usr/bin/env bash
# target over a local directory, driven through aztool (lib/leader/target.h):
# put/get/list/delete, create-only and ETag-conditional writes, path
# confinement, size cap, no temp files left, and the flock writer lock.
source "$(dirname "$0")/lib.sh"

AZTOOL=$TOOLS/aztool
[ -x "$AZTOOL" ] || { not_ok "aztool is built ($AZTOOL)"; done_testing; }
R=$T/leader

# wait_for PATTERN FILE SECONDS: until FILE has a line matching PATTERN.
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# --- opening ---
check_fails "a missing directory is refused" "$AZTOOL" list "$R"
check_match "... with a clear message" "ENOENT: .*/leader: leader directory does not exist" \
	"$(cat "$T/last.out")"
mkdir "$R"
check "an existing empty directory opens" "$AZTOOL" list "$R"
check_eq "... and lists nothing" "" "$(cat "$T/last.out")"
check_fails "an unknown URL scheme is refused" "$AZTOOL" list "ftp://example.com/x"

# --- put, get, replace ---
printf 'one' >"$T/one"
printf 'two!' >"$T/two"
check "put creates parent directories" "$AZTOOL" put "$R" db/u1/log/1.json "$T/one"
check_eq "get returns the content" "one" "$("$AZTOOL" get "$R" db/u1/log/1.json)"
check_eq "file:///dir works too" "one" "$("$AZTOOL" get "file://$R" db/u1/log/1.json)"
check "put replaces" "$AZTOOL" put "$R" db/u1/log/1.json "$T/two"
check_eq "... the new content" "two!" "$("$AZTOOL" get "$R" db/u1/log/1.json)"
check_eq "published files are world-readable (a web server serves them)" "644" \
	"$(stat -c %a "$R/db/u1/log/1.json")"

# --- create only ---
check "--new creates an absent object" "$AZTOOL" put "$R" head.json "$T/one" --new
check_fails "--new on an existing object fails" "$AZTOOL" put "$R" head.json "$T/two" --new
check_match "... with EEXIST naming the file" "EEXIST: .*/leader/head.json: already exists" \
	"$(cat "$T/last.out")"
check_eq "... and the object is unchanged" "one" "$("$AZTOOL" get "$R" head.json)"

# --- ETag-conditional replace ---
etag=$("$AZTOOL" get "$R" head.json --etag)
check_match "an ETag is returned" '^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$' "$etag"
check "put --if-match with the current ETag replaces" "$AZTOOL" put "$R" head.json "$T/two" \
	--if-match "$etag"
check_eq "... the new content" "two!" "$("$AZTOOL" get "$R" head.json)"
check_fails "put --if-match with the old ETag fails" "$AZTOOL" put "$R" head.json "$T/one" \
	--if-match "$etag"
check_match "... with ESTALE" "ESTALE: .*head.json: ETag is .*, expected $etag" "$(cat "$T/last.out")"
check_eq "... and the object is unchanged" "two!" "$("$AZTOOL" get "$R" head.json)"
check_fails "put --if-match on an absent object fails" "$AZTOOL" put "$R" nothere "$T/one" \
	--if-match "$etag"
check_match "... with ESTALE" "ESTALE: .*nothere: absent" "$(cat "$T/last.out")"

# --- list ---
for p in db/u1/log/2.json db/u2/log/1.json db-x artifacts/9f/9f00; do
	"$AZTOOL" put "$R" "$p" "$T/one" || not_ok "put $p"
done
: >"$R/.tmp-0123456789ab"      # a temp file of an interrupted write
: >"$R/db/u1/.tmp-0123456789ab"
expected="artifacts/9f/9f00
db-x
db/u1/log/1.json
db/u1/log/2.json
db/u2/log/1.json
head.json"
check_eq "list returns every object in path order, no temp files" "$expected" \
	"$("$AZTOOL" list "$R" | cut -f1)"
check_eq "list with a prefix" "db/u1/log/1.json
db/u1/log/2.json" "$("$AZTOOL" list "$R" db/u1/ | cut -f1)"
check_eq "a prefix need not end at a '/'" "db-x
db/u1/log/1.json
db/u1/log/2.json
db/u2/log/1.json" "$("$AZTOOL" list "$R" db | cut -f1)"
line=$("$AZTOOL" list "$R" head.json)
check_eq "list reports size and mtime" "head.json	4	$(stat -c %Y "$R/head.json")" "$line"

# --- delete ---
check "delete removes an object" "$AZTOOL" delete "$R" db-x
check_fails "... get then fails" "$AZTOOL" get "$R" db-x
check_match "... with ENOENT" "ENOENT: .*/db-x: No such file" "$(cat "$T/last.out")"
check "delete of an absent object is not an error" "$AZTOOL" delete "$R" db-x

# --- confinement and bounds ---
for bad in ../escape /etc/passwd a//b ./a db/../../x .lock "a b"; do
	check_fails "path '$bad' is refused" "$AZTOOL" get "$R" "$bad"
	check_match "... as an invalid object path" "EINVAL: .*invalid object path" "$(cat "$T/last.out")"
done
check_fails "get over the size cap fails" "$AZTOOL" get "$R" head.json --max 3
check_match "... with EFBIG" "EFBIG: .*head.json: 4 bytes, more than the 3 allowed" \
	"$(cat "$T/last.out")"
check "get at exactly the cap works" "$AZTOOL" get "$R" head.json --max 4
rm -f "$R/.tmp-0123456789ab" "$R/db/u1/.tmp-0123456789ab"
check_eq "no temp file is left by any write" "" "$(find "$R" -name '.tmp-*')"

# --- the writer lock ---
mkfifo "$T/hold"
"$AZTOOL" lock "$R" 5 <"$T/hold" >"$T/holder.out" 2>&1 &
holder=$!
_pids+=("$holder")
exec 7>"$T/hold"
if wait_for '^locked' "$T/holder.out" 10; then ok "a first writer takes the lock"; else
	not_ok "a first writer takes the lock"; cat "$T/holder.out"; fi
start=$SECONDS
check_fails "a second writer times out while it is held" "$AZTOOL" lock "$R" 0.3 </dev/null
check_match "... with ETIMEDOUT naming the lock" "ETIMEDOUT: lock .*/leader/.lock: held by another writer" \
	"$(cat "$T/last.out")"
# (7>&-: the waiter must not keep the holder's stdin open.)
"$AZTOOL" lock "$R" 20 </dev/null >"$T/waiter.out" 2>&1 7>&- &
waiter=$!
_pids+=("$waiter")
sleep 0.3
check_eq "a waiting writer does not get the lock while it is held" "" "$(cat "$T/waiter.out")"
echo renew >&7
if wait_for '^renewed' "$T/holder.out" 10; then ok "the holder renews the lock"; else
	not_ok "the holder renews the lock"; cat "$T/holder.out"; fi
exec 7>&- # the holder reads EOF and releases
wait "$waiter"
check_eq "the waiting writer gets it once released" "0" "$?"
check_match "... and says so" "^locked" "$(cat "$T/waiter.out")"
wait "$holder"
check_match "the first writer released it" "unlocked" "$(cat "$T/holder.out")"
check "after both, the lock is free at once" "$AZTOOL" lock "$R" 0 </dev/null
check_eq "the lock file is not listed" "" "$("$AZTOOL" list "$R" .lock)"

done_testing
