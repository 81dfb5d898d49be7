#!/usr/bin/env bash
# cache_readthru — an artifact the cache does not hold (a cold one: the
# warmer never fetches it) is fetched when the views ask for it, by sha256
# or by extent and name: downloaded, verified, committed, then served from
# the cache file.  Concurrent requests share one download; a client that
# goes away does not cancel it; at most cache_demand_concurrency download
# at once.  The leader is a directory served by
# faultserver, which injects the bad inputs: a 404, more or fewer bytes
# than declared, a wrong sha256, a redirect to another host; then a disk
# that fills up (a 2 MiB tmpfs) and a read-only cache.  Each is a clear
# error naming the artifact, in the reply and the log; nothing corrupt is
# left in the cache; the daemon keeps serving.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"

[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"
command -v curl >/dev/null || skip_all "curl not installed"

L=$T/leader
CACHE=$T/cache
mkdir -p "$L"
lc "$L" init >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'msg:string' >/dev/null
lc "$L" set-caching-policy Logs 7d >/dev/null

# ingest_at TAG BYTES [LEADERCTL_ARGS...]: one extent with a fresh artifact
# TAG.csv of BYTES random bytes; prints its sha256 (the extent id in $T/TAG.id).
ingest_at() {
	head -c "$2" /dev/urandom >"$T/$1.csv"
	lc "$L" ingest Logs Events "$T/$1.csv" "${@:3}" >"$T/$1.id"
	sha256sum "$T/$1.csv" | cut -d' ' -f1
}
cold() { ingest_at "$1" "${2:-4096}" --created-on 2020-01-01T00:00:00Z; }
object() { echo "$CACHE/objects/${1:0:2}/$1"; }
leader_file() { echo "$L/artifacts/${1:0:2}/$1"; }

hot=$(ingest_at hot 1000)
c_sha=$(cold bysha 300000)
c_name=$(cold byname)
c_shared=$(cold shared 200000)
c_gone=$(cold gone)
c_404=$(cold missing)
c_big=$(cold larger)
c_small=$(cold smaller)
c_bad=$(cold corrupt)
c_redir=$(cold redirect)
capped=()
for i in 1 2 3 4; do capped+=("$(cold "cap$i")"); done
rm "$(leader_file "$c_404")"
chmod u+w "$(leader_file "$c_big")" "$(leader_file "$c_small")"
printf 'more' >>"$(leader_file "$c_big")"
truncate -s 1000 "$(leader_file "$c_small")"

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
FS=http://127.0.0.1:$(cat "$T/fs.port")
rule() { curl -sf -d "$1" "$FS/_fault" >/dev/null || diag "could not add rule: $1"; }
# gets SHA: the leader's GETs of an artifact so far.
gets() { grep -c "GET /artifacts/${1:0:2}/$1 " "$T/fs.log"; }

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" "cache_demand_concurrency = 2" \
		"admin_socket = $T/admin.sock"
	attach_conf logs "$FS" Logs
} >"$CONF"
start_follower

cached_ok() { [ "$(sha256sum "$(object "$1")" 2>/dev/null | cut -d' ' -f1)" = "$1" ]; }
wait_for "the hot artifact is warmed" 10 cached_ok "$hot"
wait_for "the store is at the leader's version" 10 at_version logs "$L" Logs
check "the cold ones are not" test ! -e "$(object "$c_sha")"

# get PATH [CURL_ARGS...]: the status; the body in $T/body.
get() { curl -s -o "$T/body" -w '%{http_code}' "${@:2}" "$URL$1"; }
body() { jq -r "$1" <"$T/body"; }

# ---- read-through by sha256 and by name ----
check_eq "a cold artifact by sha256: 200, byte-exact" "200 $c_sha" \
	"$(get "/v1/artifacts/$c_sha") $(sha256sum <"$T/body" | cut -d' ' -f1)"
check "... now in the cache, verified" cached_ok "$c_sha"
check_eq "... recorded cached" cached "$(q "SELECT state FROM blobs WHERE hex(sha256) = upper('$c_sha')")"
check_eq "... a second request is served from the cache (one download)" "200 1" \
	"$(get "/v1/artifacts/$c_sha") $(gets "$c_sha")"
check_eq "... Range works on it" "206 100" \
	"$(get "/v1/artifacts/$c_sha" -H 'Range: bytes=0-99') $(wc -c <"$T/body")"
check_eq "a cold artifact by extent and name: 200, byte-exact" "200 $c_name" \
	"$(get "/v1/databases/Logs/extents/$(cat "$T/byname.id")/artifacts/byname.csv") $(sha256sum <"$T/body" | cut -d' ' -f1)"

# ---- concurrent requests share one download ----
rule "/artifacts/*/$c_shared 1 delay 700"
pids=()
for i in 1 2 3 4 5; do
	curl -s -o "$T/shared.$i" -w '%{http_code}\n' "$URL/v1/artifacts/$c_shared" >"$T/shared.$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
codes=$(cat "$T"/shared.*.code | sort | uniq -c | tr -s ' ')
check_eq "five concurrent requests: all 200" " 5 200" "$codes"
check_eq "... all byte-exact" "$c_shared" "$(sha256sum "$T"/shared.[0-9] | cut -d' ' -f1 | sort -u)"
check_eq "... one download from the leader" 1 "$(gets "$c_shared")"
metric() { curl -s "$URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
check_eq "/metrics: 7 read-through requests so far (1 + 1 + 5), 4 of them shared, no error" "7 4 0" \
	"$(metric 'followerd_read_through_requests_total{result="all"}') $(metric 'followerd_read_through_requests_total{result="shared"}') $(metric 'followerd_read_through_requests_total{result="error"}')"
check_eq "... 3 downloads, nothing waiting" "3 0" \
	"$(metric followerd_read_through_downloads_total) $(metric 'followerd_read_through_waiting{what="requests"}')"

# ---- cache_demand_concurrency = 2: four artifacts at once, two download ----
for sha in "${capped[@]}"; do rule "/artifacts/*/$sha 1 delay 1000"; done
pids=()
for sha in "${capped[@]}"; do
	curl -s -o /dev/null -w '%{http_code}\n' "$URL/v1/artifacts/$sha" >>"$T/capped.codes" &
	pids+=($!)
done
queued() { [ "$(metric 'followerd_read_through_waiting{what="queued"}')" = 2 ]; }
wait_for "four artifacts asked at once, at most 2 demand downloads: 2 wait for a slot" 5 queued
wait "${pids[@]}"
check_eq "... then all four are served" " 4 200" "$(sort "$T/capped.codes" | uniq -c | tr -s ' ')"
check_eq "... nothing waits any more" 0 "$(metric 'followerd_read_through_waiting{what="queued"}')"

# ---- a client that goes away does not cancel the download ----
rule "/artifacts/*/$c_gone 1 delay 700"
curl -s -o /dev/null --max-time 0.2 "$URL/v1/artifacts/$c_gone"
check_eq "a client gives up after 0.2 s (curl: timeout)" 28 "$?"
wait_for "... the download goes on and is cached" 5 cached_ok "$c_gone"
check_eq "... the next request is served from the cache" "200 1" \
	"$(get "/v1/artifacts/$c_gone") $(gets "$c_gone")"

# no_debris: in tmp/ only .part files that can resume (a non-empty prefix
# of the leader's artifact); every object's sha256 is its name.
no_debris() {
	local f p bad=0
	for p in "$CACHE"/tmp/*; do
		[ -e "$p" ] || continue
		f=$(leader_file "$(basename "$p" .part)")
		[ -s "$p" ] && [ -f "$f" ] && cmp -s -n "$(stat -c %s "$p")" "$p" "$f" ||
			{ echo "tmp/: $(basename "$p") $(stat -c %s "$p") bytes, not a prefix of the artifact"; bad=1; }
	done
	for f in "$CACHE"/objects/*/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || { echo "bad: $f"; bad=1; }
	done
	return $bad
}
# still_serving: /healthz 200 and a cached artifact is served.
still_serving() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] &&
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/artifacts/$hot")" = 200 ]
}
# fails_with DESC SHA STATUS CODE MESSAGE_REGEX
fails_with() {
	check_eq "$1: $3" "$3 $4" "$(get "/v1/artifacts/$2") $(body .error.code)"
	check_match "... the message names the artifact and why" "$2.*$5|$5.*$2" "$(body .error.message)"
	check "... nothing corrupt in the cache" no_debris
	check "... not in objects/" test ! -e "$(object "$2")"
	check "... the daemon keeps serving" still_serving
}

# ---- bad input ----
fails_with "an artifact the leader does not have" "$c_404" 404 NotFound "404|[Nn]ot [Ff]ound"
fails_with "more bytes than declared" "$c_big" 502 BadGateway "more bytes than the 4096 declared"
fails_with "fewer bytes than declared" "$c_small" 502 BadGateway "fewer bytes than the 4096 declared"
rule "/artifacts/*/$c_bad * corrupt 10"
fails_with "a wrong sha256" "$c_bad" 502 BadGateway "another sha256"
check "... the bad bytes are kept aside in quarantine/" test -f "$CACHE/quarantine/$c_bad"
rule "/artifacts/*/$c_redir * redirect http://elsewhere.invalid/x"
fails_with "a redirect to another host" "$c_redir" 502 BadGateway "redirect|elsewhere"
check_match "the log names each failed artifact" "read-through: artifact $c_bad" "$(cat "$FLOG")"
get "/v1/artifacts/$c_bad" >/dev/null
get "/v1/artifacts/$c_bad" >/dev/null
check_eq "after 3 digest failures it is quarantined: 502 at once, no download" "502 3" \
	"$(get "/v1/artifacts/$c_bad") $(gets "$c_bad")"
check_match "... saying so" "quarantined" "$(body .error.message)"
check_eq "an unknown sha256: 404" 404 "$(get "/v1/artifacts/$(printf x | sha256sum | cut -d' ' -f1)")"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"

# ---- a disk that fills up, then a read-only cache (root: a tmpfs) ----
SMALL=$T/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=2m tmpfs "$SMALL" 2>/dev/null; then
	skip "the full and read-only disk cases: cannot mount a tmpfs here (not root?)"
	done_testing
fi
trap 'kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; umount -l "$SMALL"; _e2e_cleanup' EXIT
CACHE=$SMALL
c_huge=$(cold huge 3000000)
c_fits=$(cold fits 100000)
c_ro=$(cold readonly 100000)
{
	daemon_conf "listen = 127.0.0.1:$PORT" "allow_anonymous = true" "min_free_space = 0" \
		"admin_socket = $T/admin.sock"
	attach_conf logs "$FS" Logs
} | sed "s|^cache_dir = .*|cache_dir = $SMALL|" >"$CONF"
: >"$FLOG"
start_follower
wait_for "on a 2 MiB cache the hot artifact is warmed" 10 cached_ok "$hot"
wait_for "... at the leader's version" 10 at_version logs "$L" Logs
fails_with "3 MB into 2 MiB: the disk fills up" "$c_huge" 507 InsufficientStorage "space"
check_match "... logged" "read-through: artifact $c_huge.*space" "$(cat "$FLOG")"
check_eq "... the space is back: a smaller one fits" "200 $c_fits" \
	"$(get "/v1/artifacts/$c_fits") $(sha256sum <"$T/body" | cut -d' ' -f1)"
mount -o remount,ro "$SMALL"
fails_with "a read-only cache" "$c_ro" 503 CacheUnavailable "[Rr]ead-only"
check_eq "... what it holds is still served" 200 "$(get "/v1/artifacts/$c_fits")"
stop_follower
check_eq "followerd stops cleanly" 0 "$FRC"
umount "$SMALL"
trap _e2e_cleanup EXIT
done_testing
