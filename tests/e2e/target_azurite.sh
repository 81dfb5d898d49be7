#!/usr/bin/env bash
# target over Azure Blob Storage (Azurite), driven through aztool: Shared
# Key and SAS signing as Azurite verifies them, put/get/list/delete under a
# prefix, create-only and If-Match puts, block uploads, the lease writer
# lock, and the errors a user sees (wrong key, read-only SAS, unreachable
# endpoint, size cap), with no secret in any message.
source "$(dirname "$0")/lib.sh"

AZTOOL=$TOOLS/aztool
[ -x "$AZTOOL" ] || { not_ok "aztool is built ($AZTOOL)"; done_testing; }
start_azurite
K=(--account-key "$AZ_KEY")
U=$AZ_URL/leader/env/prod

wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

check "create a container (Shared Key)" az_create_container leader
check "creating it again is fine" az_create_container leader
check_fails "an invalid container name is refused" "$AZTOOL" "${K[@]}" mkcontainer "$AZ_URL/No_Such"

# --- put, get, replace (Shared Key) ---
printf 'one' >"$T/one"
printf 'two!' >"$T/two"
check "put" "$AZTOOL" "${K[@]}" put "$U" db/u1/log/1.json "$T/one"
check_eq "get returns the content" "one" "$("$AZTOOL" "${K[@]}" get "$U" db/u1/log/1.json)"
check "put replaces" "$AZTOOL" "${K[@]}" put "$U" db/u1/log/1.json "$T/two"
check_eq "... the new content" "two!" "$("$AZTOOL" "${K[@]}" get "$U" db/u1/log/1.json)"
: >"$T/empty"
check "an empty object" "$AZTOOL" "${K[@]}" put "$U" empty "$T/empty"
check_eq "... reads back empty" "" "$("$AZTOOL" "${K[@]}" get "$U" empty)"
check_fails "get of an absent object fails" "$AZTOOL" "${K[@]}" get "$U" nothere
check_match "... with ENOENT, the URL and the service's words" \
	"ENOENT: GET http://127.0.0.1:$AZ_PORT/devstoreaccount1/leader/env/prod/nothere: 404 BlobNotFound \(The specified blob does not exist.\)" \
	"$(cat "$T/last.out")"

# --- create only ---
check "--new creates an absent object" "$AZTOOL" "${K[@]}" put "$U" head.json "$T/one" --new
check_fails "--new on an existing object fails" "$AZTOOL" "${K[@]}" put "$U" head.json "$T/two" --new
check_match "... with EEXIST" "EEXIST: PUT .*/env/prod/head.json: 409 BlobAlreadyExists" "$(cat "$T/last.out")"
check_eq "... and the object is unchanged" "one" "$("$AZTOOL" "${K[@]}" get "$U" head.json)"

# --- If-Match ---
etag=$("$AZTOOL" "${K[@]}" get "$U" head.json --etag)
check_match "an ETag is returned" '^"0x[0-9A-F]+"$' "$etag"
check "put --if-match with the current ETag replaces" "$AZTOOL" "${K[@]}" put "$U" head.json "$T/two" --if-match "$etag"
check_eq "... the new content" "two!" "$("$AZTOOL" "${K[@]}" get "$U" head.json)"
check_fails "put --if-match with the old ETag fails" "$AZTOOL" "${K[@]}" put "$U" head.json "$T/one" --if-match "$etag"
check_match "... with ESTALE" "ESTALE: PUT .*/head.json: 412 ConditionNotMet" "$(cat "$T/last.out")"
check_eq "... and the object is unchanged" "two!" "$("$AZTOOL" "${K[@]}" get "$U" head.json)"
check_fails "put --if-match on an absent object fails" "$AZTOOL" "${K[@]}" put "$U" nothere "$T/one" --if-match "$etag"
check_match "... with ESTALE" "ESTALE" "$(cat "$T/last.out")"
check_fails "an ETag that would inject a header is refused" "$AZTOOL" "${K[@]}" put "$U" head.json \
	"$T/one" --if-match $'"x"\r\nx-ms-evil: 1'
check_match "... before any request" "EINVAL: .*needs an ETag of 1-127 printable characters" "$(cat "$T/last.out")"

# --- big objects go as blocks ---
head -c 350000 /dev/urandom >"$T/big"
check "a file over the single-put size goes as blocks" "$AZTOOL" "${K[@]}" --block-size 100000 put "$U" artifacts/bb/big "$T/big"
"$AZTOOL" "${K[@]}" get "$U" artifacts/bb/big --max 400000 >"$T/big.back"
check "... and reads back identical" cmp "$T/big" "$T/big.back"
check_fails "a block upload honours --new" "$AZTOOL" "${K[@]}" --block-size 100000 put "$U" artifacts/bb/big "$T/big" --new
check_match "... with EEXIST at the block list commit" "EEXIST: PUT .*big \(put block list\): 409" "$(cat "$T/last.out")"

# --- list and delete ---
for p in db/u1/log/2.json db/u2/log/1.json db-x; do
	"$AZTOOL" "${K[@]}" put "$U" "$p" "$T/one" || not_ok "put $p"
done
"$AZTOOL" "${K[@]}" put "$AZ_URL/leader/env" outside "$T/one" || not_ok "put outside the prefix"
expected="artifacts/bb/big
db-x
db/u1/log/1.json
db/u1/log/2.json
db/u2/log/1.json
empty
head.json"
check_eq "list returns the objects under the prefix, relative to it" "$expected" \
	"$("$AZTOOL" "${K[@]}" list "$U" | cut -f1)"
check_eq "list with a prefix" "db-x
db/u1/log/1.json
db/u1/log/2.json
db/u2/log/1.json" "$("$AZTOOL" "${K[@]}" list "$U" db | cut -f1)"
check_eq "list reports the size" "artifacts/bb/big	350000" \
	"$("$AZTOOL" "${K[@]}" list "$U" artifacts/ | cut -f1,2)"
mtime=$("$AZTOOL" "${K[@]}" list "$U" head.json | cut -f3)
now=$(date +%s)
check "... and a last-modified time close to now" test $((now - mtime)) -ge 0 -a $((now - mtime)) -lt 600
check "delete" "$AZTOOL" "${K[@]}" delete "$U" db-x
check_fails "... get then fails" "$AZTOOL" "${K[@]}" get "$U" db-x
check "delete of an absent object is not an error" "$AZTOOL" "${K[@]}" delete "$U" db-x
check_fails "a path with '..' is refused before any request" "$AZTOOL" "${K[@]}" get "$U" ../outside
check_match "... as an invalid object path" "EINVAL: .*invalid object path" "$(cat "$T/last.out")"

# --- size cap ---
check_fails "get over the size cap fails" "$AZTOOL" "${K[@]}" get "$U" artifacts/bb/big --max 1000
check_match "... with EFBIG" "EFBIG: GET .*/artifacts/bb/big: larger than 1000 bytes" "$(cat "$T/last.out")"

# --- the lease writer lock ---
mkfifo "$T/hold"
"$AZTOOL" "${K[@]}" lock "$U" 5 <"$T/hold" >"$T/holder.out" 2>&1 &
holder=$!
_pids+=("$holder")
exec 7>"$T/hold"
if wait_for '^locked' "$T/holder.out" 10; then ok "a first writer takes the lease"; else
	not_ok "a first writer takes the lease"; cat "$T/holder.out"; fi
check_fails "a second writer times out while it is held" "$AZTOOL" "${K[@]}" lock "$U" 0.5 </dev/null
check_match "... with ETIMEDOUT naming the lock blob" \
	"ETIMEDOUT: lock http://127.0.0.1:$AZ_PORT/devstoreaccount1/leader/env/prod/.lock: leased by another writer" \
	"$(cat "$T/last.out")"
"$AZTOOL" "${K[@]}" lock "$U" 20 </dev/null >"$T/waiter.out" 2>&1 7>&- &
waiter=$!
_pids+=("$waiter")
sleep 0.5
check_eq "a waiting writer does not get the lease while it is held" "" "$(cat "$T/waiter.out")"
echo renew >&7
if wait_for '^renewed' "$T/holder.out" 10; then ok "the holder renews the lease"; else
	not_ok "the holder renews the lease"; cat "$T/holder.out"; fi
exec 7>&-
wait "$waiter"
check_eq "the waiting writer gets it once released" "0" "$?"
check_match "... and says so" "^locked" "$(cat "$T/waiter.out")"
wait "$holder"
check_match "the first writer released it" "unlocked" "$(cat "$T/holder.out")"
check "after both, the lease is free at once" "$AZTOOL" "${K[@]}" lock "$U" 0 </dev/null
check_eq "the lock blob is not listed" "" "$("$AZTOOL" "${K[@]}" list "$U" .lock)"

# A writer whose lease was broken (an operator, or an expiry) must notice.
mkfifo "$T/hold2"
"$AZTOOL" "${K[@]}" lock "$U" 5 <"$T/hold2" >"$T/holder2.out" 2>&1 &
holder=$!
_pids+=("$holder")
exec 7>"$T/hold2"
wait_for '^locked' "$T/holder2.out" 10 || not_ok "a writer takes the lease again"
check "the lease can be broken" "$AZTOOL" "${K[@]}" breaklease "$U"
echo renew >&7
wait "$holder"
check_eq "the writer's renewal then fails" "1" "$?"
check_match "... with ENOLCK and the service's reason" \
	"ENOLCK: PUT .*/env/prod/.lock \(lease renew\): 409 " "$(cat "$T/holder2.out")"
exec 7>&-
check "another writer can take the lease" "$AZTOOL" "${K[@]}" lock "$U" 2 </dev/null

# --- authentication failures ---
wrong=$(printf '%s' "$AZ_KEY" | tr 'A-Za-z' 'B-ZAb-za')
check_fails "a wrong account key is refused" "$AZTOOL" --account-key "$wrong" get "$U" head.json
check_match "... with EACCES and the status" "EACCES: GET .*/env/prod/head.json: 403 " "$(cat "$T/last.out")"
check_fails "... and the key is not in the message" grep -qF "$wrong" "$T/last.out"
check_fails "a key that is not base64 is refused" "$AZTOOL" --account-key 'not!base64' list "$U"
check_match "... clearly" "account key is not valid base64" "$(cat "$T/last.out")"

# --- SAS ---
sas=$("$AZTOOL" "${K[@]}" sas "$AZ_URL/leader" racwdl 600)
sig=$(printf '%s' "$sas" | sed 's/.*sig=//')
check_match "a container SAS token is minted" "^sv=.*&sr=c&sp=racwdl&se=.*&sig=" "$sas"
check "put with the SAS" "$AZTOOL" --sas "$sas" put "$U" sas.json "$T/one"
check_eq "get with the SAS" "one" "$("$AZTOOL" --sas "$sas" get "$U" sas.json)"
check_eq "get with the SAS in the URL" "one" "$("$AZTOOL" get "$U?$sas" sas.json)"
check "list with the SAS" "$AZTOOL" --sas "$sas" list "$U" sas
check_eq "... finds the object" "sas.json" "$(cut -f1 "$T/last.out")"
check "delete with the SAS" "$AZTOOL" --sas "$sas" delete "$U" sas.json
ro=$("$AZTOOL" "${K[@]}" sas "$AZ_URL/leader" rl 600)
check_fails "a read-only SAS cannot write" "$AZTOOL" --sas "$ro" put "$U" sas.json "$T/one"
check_match "... EACCES with the service's reason" "EACCES: PUT .*/sas.json: 403 " "$(cat "$T/last.out")"
check_fails "a tampered SAS is refused" "$AZTOOL" --sas "${sas/sig=/sig=AA}" get "$U" head.json
check_match "... with EACCES" "EACCES: GET .*: 403 " "$(cat "$T/last.out")"
check_fails "... and no signature is in the message" grep -qF "$sig" "$T/last.out"
check_fails "a SAS with characters a query cannot hold is refused" "$AZTOOL" --sas "sv=1&sig=a b" get "$U" head.json
check_fails "a SAS both in the URL and given is refused" "$AZTOOL" --sas "$sas" get "$U?$sas" head.json
check_fails "... without echoing it" grep -qF "$sig" "$T/last.out"

# --- unreachable endpoint ---
dead=$(free_port)
check_fails "an unreachable endpoint fails" "$AZTOOL" "${K[@]}" get "http://127.0.0.1:$dead/devstoreaccount1/leader" head.json
check_match "... with EIO and curl's reason" "EIO: GET http://127.0.0.1:$dead/devstoreaccount1/leader/head.json: Couldn't connect to server" \
	"$(cat "$T/last.out")"

done_testing
