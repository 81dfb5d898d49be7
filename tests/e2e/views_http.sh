#!/usr/bin/env bash
# views_http — followerd's HTTP endpoint as a client sees it: every view's
# JSON, extent paging and filters, artifacts (byte-exact, Range, ETag, 304,
# not cached: read through), path traversal refused, unknown paths and methods, size
# limits, the connection cap, a slowloris cut off at header_timeout, TLS
# with client certificates, bearer tokens and roles, anonymous access (only
# when allowed, never off the loopback), the admin Unix socket's uid mapping,
# socket activation, /metrics, /healthz (lag, a stalled loop), the Kusto
# seam and a tokens reload.
#
# The store and cache come from tests/tools/mkstore (lib/store + lib/cache):
# Logs (Events: 25 extents of 64 KiB, the last 5 not cached; Audit: 2, one
# quarantined) and Metrics (Cpu: 1 extent).  See mkstore.c.  The leader
# directory does not exist: the daemon's sync and warmer fail quietly.
source "$(dirname "$0")/lib.sh"

[ -x "$FOLLOWERD" ] || skip_all "followerd not built"
[ -x "$TOOLS/mkstore" ] || skip_all "mkstore not built"
for c in curl jq openssl python3; do command -v $c >/dev/null || skip_all "$c not installed"; done

chmod 755 "$T" # the admin socket test connects as another uid
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# ---- tokens, configuration, store ----
{
	echo "# principal  sha256-of-token"
	echo "aaduser=viewer@x $(sha tok-viewer)"
	echo "aaduser=monitor@x $(sha tok-monitor)"
	echo "aaduser=admin@x sha256:$(sha tok-admin)"
	echo "aaduser=other@x $(sha tok-other)"
} >"$T/tokens"
chmod 600 "$T/tokens"

# write_conf FILE PORT|ADDR ADMIN_SOCKET [EXTRA DAEMON LINES...]
write_conf() {
	local f=$1 listen=$2 admin=$3
	shift 3
	{
		printf '[daemon]\nstate_dir = %s\ncache_dir = %s\n' "$T/state" "$T/cache"
		printf 'listen = %s\nadmin_socket = %s\ntokens_file = %s\n' "$listen" "$admin" "$T/tokens"
		printf 'max_connections = 8\nrequest_timeout = 2s\nheader_timeout = 2s\nmax_lag = 5m\n'
		# one address may take them all here: the cap itself is tested
		printf 'max_connections_per_address = 8\n'
		[ $# -eq 0 ] || printf '%s\n' "$@"
		printf '[attach "logs"]\nleader = %s\ndatabase = Logs\n' "$T/leader"
		printf 'viewers = unix:uid=65534, cert=client1, cert=client2\n'
		# The fixture's extents are from October 2026: a follower hot
		# window keeps them hot, so the daemon's warmer does not evict them.
		printf 'hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z\n'
		printf '[attach "metrics"]\nleader = %s\ndatabase = Metrics\n' "$T/leader"
	} >"$f"
}
write_conf "$T/f.conf" "127.0.0.1:$PORT" "$T/admin.sock"
mkdir -p "$T/state"
"$TOOLS/mkstore" build "$T/f.conf" "$T/state/state.db" "$T/cache" >"$T/artifacts" ||
	{ diag "mkstore failed"; exit 1; }
art() { awk -v t="$1" -v n="$2" '$2 == t { i++ } $2 == t && i == n' "$T/artifacts"; }
EV1=$(art Events 1 | cut -d' ' -f3)
EV1_SHA=$(art Events 1 | cut -d' ' -f5)
EV25_SHA=$(art Events 25 | cut -d' ' -f5)
AUDIT2_SHA=$(art Audit 2 | cut -d' ' -f5)
CPU_SHA=$(art Cpu 1 | cut -d' ' -f5)
OBJ=$T/cache/objects/${EV1_SHA:0:2}/$EV1_SHA

bg "$FOLLOWERD" -d -c "$T/f.conf" 2>"$T/d1.log"
PID=$BG_PID
wait_port "$PORT" 10 || { diag "followerd did not listen"; exit 1; }

# get TOKEN PATH [CURL ARGS...]: prints "STATUS" and leaves the body in $T/body
get() {
	local tok=$1 path=$2
	shift 2
	local auth=()
	[ -z "$tok" ] || auth=(-H "Authorization: Bearer $tok")
	curl -s -o "$T/body" -w '%{http_code}' "${auth[@]}" "$@" "$URL$path"
}
body() { jq -r "$1" "$T/body" 2>/dev/null; }

# ---- identity and roles ----
check_eq "no credentials: 401" 401 "$(get "" /v1/databases)"
check_eq "... with a JSON error" Unauthorized "$(body .error.code)"
check_eq "... and WWW-Authenticate" 1 "$(curl -s -D - -o /dev/null "$URL/v1/databases" | grep -ci '^WWW-Authenticate: Bearer')"
check_eq "an unknown token: 401" 401 "$(get tok-nope /v1/databases)"
check_eq "another scheme: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -u a:b "$URL/v1/databases")"
check_eq "the viewer sees Logs only" '["Logs"]' "$(get tok-viewer /v1/databases >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "other@x sees Metrics only" '["Metrics"]' "$(get tok-other /v1/databases >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "a database the caller may not see: 404" 404 "$(get tok-other /v1/databases/Logs)"
check_eq "the monitor reads metadata" 200 "$(get tok-monitor /v1/databases/Logs/tables)"
check_eq "the monitor may not read artifacts: 403" 403 "$(get tok-monitor "/v1/databases/Logs/extents/$EV1/artifacts/data.csv")"
check_eq "... by sha256 either" 403 "$(get tok-monitor "/v1/artifacts/$EV1_SHA")"
check_eq "the viewer reads artifacts" 200 "$(get tok-viewer "/v1/databases/Logs/extents/$EV1/artifacts/data.csv")"

# ---- the views ----
get tok-viewer /v1/databases/Logs >/dev/null
check_eq "database: applied version, totals, lag" "Logs 1 1 27 0 new" \
	"$(body '"\(.name) \(.applied_version) \(.visible_version) \(.extents) \(.lag.versions) \(.state)"')"
check_eq "database: leader and uuid" "Logs 3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162" "$(body '"\(.leader_database) \(.uuid)"')"
get tok-viewer /v1/databases/Logs/tables >/dev/null
check_eq "tables in name order with ordered columns" 'Audit:Who Events:Timestamp,Level,Message' \
	"$(body '[.[] | "\(.name):\([.columns[].name] | join(","))"] | join(" ")')"
check_eq "one table" 200 "$(get tok-viewer /v1/databases/Logs/tables/Events)"
check_eq "... its docstring and caching policy" "application events 1.00:00:00" "$(body '"\(.docstring) \(.caching.hot_span)"')"
check_eq "an unknown table: 404" 404 "$(get tok-viewer /v1/databases/Logs/tables/Nope)"
check_eq "a materialized view is not a table: 404" 404 "$(get tok-viewer /v1/databases/Logs/tables/Hourly)"
get tok-viewer /v1/databases/Logs/external_tables >/dev/null
check_eq "external tables" "Ext https://example.blob/c" "$(body '.[0] | "\(.name) \(.location)"')"
get tok-viewer /v1/databases/Logs/materialized_views/Hourly >/dev/null
check_eq "a materialized view" "Hourly Events" "$(body '"\(.name) \(.source)"')"
get tok-viewer /v1/databases/Logs/policies >/dev/null
check_eq "policies: leader, follower, effective" "7.00:00:00 2000-01-01T00:00:00.0000000Z 7.00:00:00 1.00:00:00" \
	"$(body '"\(.database.leader.caching.hot_span) \(.database.follower.caching.hot_windows[0].min) \(.database.effective.hot_span) \(.entities[] | select(.name == "Events") | .effective.hot_span)"')"
get tok-viewer /v1/databases/Logs/principals >/dev/null
check_eq "principals: leader's and follower's, effective union" "aaduser=viewer@x,unix:uid=65534,cert=client1,cert=client2 union" \
	"$(body '"\([.effective.viewers[].fqn] | join(",")) \(.principals_modification_kind)"')"
get tok-viewer /v1/databases/Logs/history >/dev/null
check_eq "history" "1 1 commit 27" "$(body '"\(.history | length) \(.history[0].version) \(.history[0].source) \(.history[0].extents_added)"')"
get tok-viewer /v1/databases/Logs/cache >/dev/null
check_eq "cache: artifacts, cached, quarantined" "27 21 1" "$(body '"\(.database.artifacts) \(.database.cached) \(.database.quarantined)"')"
check_eq "cache: the file system's space" true "$(body '.disk.free > 0')"

# ---- extent pages and filters ----
ids=() cursor="" pages=0
while :; do
	q="table=Events&limit=10"
	[ -z "$cursor" ] || q="$q&cursor=$(jq -rn --arg c "$cursor" '$c|@uri')"
	get tok-viewer "/v1/databases/Logs/extents?$q" >/dev/null
	pages=$((pages + 1))
	mapfile -t -O ${#ids[@]} ids < <(body '.extents[].id')
	cursor=$(body '.next // empty')
	[ -n "$cursor" ] && [ $pages -lt 10 ] || break
done
check_eq "paging: 25 extents in 3 pages of 10" "25 3" "${#ids[@]} $pages"
check_eq "... each once, in order" "$(printf '%s\n' "${ids[@]}" | sort -u | tr '\n' ' ')" "$(printf '%s\n' "${ids[@]}" | tr '\n' ' ')"
get tok-viewer "/v1/databases/Logs/extents?limit=2" >/dev/null
check_eq "every table, by name: Audit first" "Audit Audit" "$(body '[.extents[].table] | join(" ")')"
get tok-viewer "/v1/databases/Logs/extents?limit=2&cursor=$(body '.next|@uri')" >/dev/null
check_eq "... the cursor goes on into Events" "Events 00000000-0000-4000-8000-000000000001" "$(body '"\(.extents[0].table) \(.extents[0].id)"')"
get tok-viewer "/v1/databases/Logs/extents?table=Events&from=2026-10-03T00:00:00Z&to=2026-10-05T00:00:00Z" >/dev/null
check_eq "created-on filter (overlap)" "3 2026-10-03T00:00:00.0000000Z" "$(body '"\(.extents | length) \(.extents[0].min_created)"')"
get tok-viewer "/v1/databases/Logs/extents?table=Events&limit=25" >/dev/null
check_eq "cache state per artifact" "cached not_cached" "$(body '"\(.extents[0].artifacts[0].cache) \(.extents[24].artifacts[0].cache)"')"
get tok-viewer "/v1/databases/Logs/extents?table=Audit" >/dev/null
check_eq "... quarantined" quarantined "$(body '.extents[1].artifacts[0].cache')"
for q in "limit=0" "limit=1001" "limit=x" "cursor=zz" "from=yesterday" "nope=1" "table=a%2Fb" "limit=1&limit=2"; do
	check_eq "extents?$q: 400" 400 "$(get tok-viewer "/v1/databases/Logs/extents?table=Events&$q")"
done
check_eq "extents of an unknown table: 404" 404 "$(get tok-viewer "/v1/databases/Logs/extents?table=Nope")"

# ---- artifacts ----
check_eq "by name: 200" 200 "$(get tok-viewer "/v1/databases/Logs/extents/$EV1/artifacts/data.csv")"
check_eq "... byte-exact (its sha256)" "$EV1_SHA" "$(sha256sum <"$T/body" | cut -d' ' -f1)"
check_eq "by sha256: 200, byte-exact" "200 $EV1_SHA" "$(get tok-viewer "/v1/artifacts/$EV1_SHA") $(sha256sum <"$T/body" | cut -d' ' -f1)"
hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer tok-viewer" "$URL/v1/artifacts/$EV1_SHA")
check_match "ETag is the quoted sha256" "ETag: \"$EV1_SHA\"" "$hdrs"
check_match "Accept-Ranges: bytes" "Accept-Ranges: bytes" "$hdrs"
check_eq "If-None-Match: 304" 304 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H "If-None-Match: \"$EV1_SHA\"")"
check_eq "If-None-Match: W/ and lists: 304" 304 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H "If-None-Match: \"x\", W/\"$EV1_SHA\"")"
check_eq "If-None-Match of another: 200" 200 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'If-None-Match: "other"')"
check_eq "Range: 206" 206 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=1000-4999')"
check "... the exact bytes" cmp "$T/body" <(tail -c +1001 "$OBJ" | head -c 4000)
check_match "... Content-Range" "Content-Range: bytes 1000-4999/65536" "$(curl -s -D - -o /dev/null -H 'Authorization: Bearer tok-viewer' -H 'Range: bytes=1000-4999' "$URL/v1/artifacts/$EV1_SHA")"
check_eq "a suffix range" "206 10" "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=-10') $(wc -c <"$T/body")"
check "... the last 10 bytes" cmp "$T/body" <(tail -c 10 "$OBJ")
check_eq "an open range to the end" "206 536" "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=65000-') $(wc -c <"$T/body")"
check_eq "unsatisfiable: 416" 416 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=70000-')"
check_eq "several ranges: the whole file" "200 65536" "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=0-1,5-6') $(wc -c <"$T/body")"
check_eq "If-Range of another ETag: the whole file" 200 "$(get tok-viewer "/v1/artifacts/$EV1_SHA" -H 'Range: bytes=0-1' -H 'If-Range: "x"')"
check_eq "HEAD: 200, no body" "200 0" "$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' -H 'Authorization: Bearer tok-viewer' "$URL/v1/artifacts/$EV1_SHA")"
check_match "... with the length" "Content-Length: 65536" "$(curl -s -I -H 'Authorization: Bearer tok-viewer' "$URL/v1/artifacts/$EV1_SHA")"
# not cached: read through from the leader, which does not exist here
check_eq "not cached: read through, the leader has no such file: 404" 404 "$(get tok-viewer "/v1/artifacts/$EV25_SHA")"
check_match "... naming the artifact" "$EV25_SHA" "$(body .error.message)"
EV2_SHA=$(art Events 2 | cut -d' ' -f5)
check_eq "an artifact served once" 200 "$(get tok-viewer "/v1/artifacts/$EV2_SHA")"
rm -f "$T/cache/objects/${EV2_SHA:0:2}/$EV2_SHA"
check_eq "... then evicted behind the store's back: read through (404 here), not a stale size" 404 "$(get tok-viewer "/v1/artifacts/$EV2_SHA")"
check_eq "... by name too" 404 "$(get tok-viewer "/v1/databases/Logs/extents/$(art Events 2 | cut -d' ' -f3)/artifacts/data.csv")"
check_eq "quarantined: 502, never fetched or served" "502 BadGateway" "$(get tok-viewer "/v1/artifacts/$AUDIT2_SHA") $(body .error.code)"
check_eq "another database's artifact by sha256: 404" 404 "$(get tok-viewer "/v1/artifacts/$CPU_SHA")"
check_eq "... served to its viewer" 200 "$(get tok-other "/v1/artifacts/$CPU_SHA")"
check_eq "an unknown sha256: 404" 404 "$(get tok-viewer "/v1/artifacts/$(sha nothing)")"
check_eq "an unknown artifact name: 404" 404 "$(get tok-viewer "/v1/databases/Logs/extents/$EV1/artifacts/other.csv")"
check_eq "a malformed extent id: 400" 400 "$(get tok-viewer "/v1/databases/Logs/extents/not-a-uuid/artifacts/data.csv")"

# ---- path traversal and malformed paths ----
for p in "/v1/artifacts/../../../etc/passwd" "/v1/artifacts/%2e%2e%2f%2e%2e%2fetc%2fpasswd" \
	"/v1/artifacts/%2E%2E" "/v1/databases/Logs/extents/$EV1/artifacts/..%2f..%2f..%2fetc%2fpasswd" \
	"/v1/databases/Logs/extents/$EV1/artifacts/%2e%2e" "/v1/artifacts/${EV1_SHA^^}" \
	"/v1/artifacts/${EV1_SHA}00" "/v1/artifacts/$EV1_SHA%00" "/v1/artifacts/xyz"; do
	code=$(get tok-viewer "$p" --path-as-is)
	case "$code" in 400 | 404) ok "traversal/malformed $p: $code" ;; *) not_ok "traversal/malformed $p: $code" ;; esac
	grep -q 'root:' "$T/body" && not_ok "... served a file outside the cache"
done

# ---- unknown paths and methods ----
check_eq "an unknown path: 404" 404 "$(get tok-viewer /v2/nothing)"
check_eq "... JSON" NotFound "$(body .error.code)"
check_eq "a trailing slash: 404" 404 "$(get tok-viewer /v1/databases/)"
check_eq "POST to a view: 405" 405 "$(get tok-viewer /v1/databases -X POST)"
check_eq "... JSON" MethodNotAllowed "$(body .error.code)"
check_match "... with Allow" "Allow: GET, HEAD" "$(curl -s -D - -o /dev/null -X DELETE -H 'Authorization: Bearer tok-viewer' "$URL/v1/databases")"
check_eq "GET on the mgmt endpoint: 405" 405 "$(get tok-viewer /v1/rest/mgmt)"
code=$(get tok-viewer /v1/databases -X FOO)
case "$code" in 400 | 405 | 501) ok "an unknown method: $code" ;; *) not_ok "an unknown method: $code" ;; esac

# ---- limits ----
big=$(head -c 20000 /dev/zero | tr '\0' a)
check_eq "a 20 KB header: 431" 431 "$(get tok-viewer /v1/databases -H "X-Big: $big")"
huge=$(head -c 100000 /dev/zero | tr '\0' a)
code=$(get tok-viewer /v1/databases -H "X-Big: $huge")
case "$code" in 400 | 413 | 431) ok "a 100 KB header: $code" ;; *) not_ok "a 100 KB header: $code" ;; esac
check_eq "a 1.5 MB body: 413" 413 "$(head -c 1500000 /dev/zero | get tok-admin /v1/rest/mgmt -X POST --data-binary @-)"

# The connection cap: 8 open connections (each sending its head for less
# than a second: none is closed to make room), a 9th is closed at once.
fds=()
for i in 1 2 3 4 5 6 7 8; do exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; fds+=("$fd"); done
sleep 0.2
curl -s -m 3 -o /dev/null -H 'Authorization: Bearer tok-viewer' "$URL/healthz"
rc=$?
case $rc in 52 | 56) ok "past max_connections: closed at once (curl $rc)" ;; *) not_ok "past max_connections: curl exit $rc" ;; esac
for fd in "${fds[@]}"; do exec {fd}>&-; done
sleep 0.2
check_eq "... served again once they closed" 200 "$(get tok-viewer /healthz)"

# Slowloris: a header line a second; header_timeout is 2 s.
secs=$(python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
t = time.time()
s.settimeout(1.0)
while time.time() - t < 10:
    try:
        if not s.recv(4096):
            break
    except socket.timeout:
        pass
    except OSError:
        break
    try:
        s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        break
print("%.1f" % (time.time() - t))
PY
)
check "slowloris: cut off by the header deadline (${secs}s)" python3 -c "import sys; sys.exit(not 1.5 <= float('$secs') <= 4.0)"

# ---- the admin Unix socket ----
check_eq "the admin socket is mode 660" 660 "$(stat -c %a "$T/admin.sock")"
check_eq "root on the admin socket sees every database" '["Logs","Metrics"]' \
	"$(curl -s --unix-socket "$T/admin.sock" http://admin/v1/databases | jq -c '[.databases[].name]')"
as_nobody() { setpriv --reuid=65534 --regid=0 --clear-groups curl -s --unix-socket "$T/admin.sock" "$@"; }
check_eq "uid 65534 maps to unix:uid=65534, a viewer of Logs" '["Logs"]' "$(as_nobody http://admin/v1/databases | jq -c '[.databases[].name]')"
check_eq "... reads its artifacts" "$EV1_SHA" "$(as_nobody "http://admin/v1/artifacts/$EV1_SHA" | sha256sum | cut -d' ' -f1)"
check_eq "... not Metrics" 404 "$(as_nobody -o /dev/null -w '%{http_code}' http://admin/v1/databases/Metrics)"

# ---- /metrics, /healthz, the Kusto seam ----
check_eq "/metrics for a monitor" 200 "$(get tok-monitor /metrics)"
check_match "... per-database series" '^followerd_database_applied_version\{database="Logs"\} 1$' "$(cat "$T/body")"
check_match "... responses by status" '^followerd_http_responses_total\{code="404"\} [1-9]' "$(cat "$T/body")"
check_match "... rejected connections" '^followerd_http_connections_rejected_total [1-9]' "$(cat "$T/body")"
check_match "... request deadlines" '^followerd_http_request_deadlines_total [1-9]' "$(cat "$T/body")"
check_match "... cache bytes" '^followerd_cache_bytes [1-9]' "$(cat "$T/body")"
check_eq "... only the databases it may see" 0 "$(grep -c 'database="Metrics"' "$T/body")"
check_eq "/metrics without credentials: 401" 401 "$(get "" /metrics)"
check_eq "/healthz: 200" "200 ok" "$(get "" /healthz) $(body .status)"
"$TOOLS/mkstore" lag "$T/state/state.db" metrics 3 3600
check_eq "a database past max_lag: 503" 503 "$(get "" /healthz)"
check_match "... naming it to whom may see it" "database 'Metrics' is 3600 s behind" "$(get tok-other /healthz >/dev/null; body '.reasons[0]')"
check_match "... not to others" "database \(hidden\) is 3600 s behind" "$(get tok-viewer /healthz >/dev/null; body '.reasons[0]')"
check_eq "POST /v1/rest/mgmt: a Kusto-shaped 400" "400 Kusto.Data.Exceptions.KustoBadRequestException" \
	"$(get tok-admin /v1/rest/mgmt -X POST -d '.show databases') $(body '.error."@type"')"
check_eq "GET /v1/rest/auth/metadata: 404" 404 "$(get tok-admin /v1/rest/auth/metadata)"

# ---- reload: a new token ----
echo "aaduser=viewer@x $(sha tok-new)" >>"$T/tokens"
check_eq "a token not yet loaded: 401" 401 "$(get tok-new /v1/databases)"
kill -HUP "$PID"
for i in $(seq 50); do [ "$(get tok-new /v1/databases)" = 200 ] && break; sleep 0.1; done
check_eq "... accepted after SIGHUP" 200 "$(get tok-new /v1/databases)"

# ---- TLS, client certificates, anonymous access ----
cd "$T" || exit 1
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=clientsca -keyout ca.key -out ca.pem
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=client1 -keyout c1.key -out c1.pem
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Test/CN=client2" -keyout c2.key -out c2.csr
ossl x509 -req -in c2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out c2.pem
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/O=Test/CN=client2" -keyout c3.key -out c3.pem
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=stranger -keyout c4.key -out c4.pem
FP1=$(openssl x509 -in c1.pem -noout -fingerprint -sha256 | cut -d= -f2)
{
	echo "cert=client1 cert-sha256:$FP1"
	echo "cert=client2 cert-subject:CN=client2,O=Test"
} >>"$T/tokens"
TPORT=$(free_port)
write_conf "$T/tls.conf" "0.0.0.0:$TPORT" "$T/admin2.sock" "tls_cert = $T/server.pem" \
	"tls_key = $T/server.key" "tls_client_ca = $T/ca.pem" "allow_anonymous = true"
bg "$FOLLOWERD" -d -c "$T/tls.conf" 2>"$T/d2.log"
wait_port "$TPORT" 10 || { diag "the TLS followerd did not listen"; exit 1; }
TURL=https://127.0.0.1:$TPORT
tget() { curl -s -o "$T/body" -w '%{http_code}' --cacert "$T/server.pem" "$@"; }
check_eq "HTTPS with a bearer token" '["Logs"]' "$(tget -H 'Authorization: Bearer tok-viewer' "$TURL/v1/databases" >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "a pinned client certificate maps to its FQN (a viewer of Logs)" '["Logs"]' \
	"$(tget --cert c1.pem --key c1.key "$TURL/v1/databases" >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "... and reads artifacts" "200 $EV1_SHA" "$(tget --cert c1.pem --key c1.key "$TURL/v1/artifacts/$EV1_SHA") $(sha256sum <"$T/body" | cut -d' ' -f1)"
check_eq "... Range over TLS" "206 $(tail -c +101 "$OBJ" | head -c 100 | sha256sum | cut -d' ' -f1)" \
	"$(tget --cert c1.pem --key c1.key -H 'Range: bytes=100-199' "$TURL/v1/artifacts/$EV1_SHA") $(sha256sum <"$T/body" | cut -d' ' -f1)"
check_eq "a certificate from tls_client_ca maps by subject" '["Logs"]' \
	"$(tget --cert c2.pem --key c2.key "$TURL/v1/databases" >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "the same subject self-signed does not: 401" 401 "$(tget --cert c3.pem --key c3.key "$TURL/v1/databases")"
check_eq "an unknown certificate: 401" 401 "$(tget --cert c4.pem --key c4.key "$TURL/v1/databases")"
check_eq "anonymous, allowed, from the loopback: every database" '["Logs","Metrics"]' \
	"$(tget "$TURL/v1/databases" >/dev/null; body '[.databases[].name]' | jq -c .)"
check_eq "... but no control (Kusto seam still answers)" 400 "$(tget -X POST -d x "$TURL/v1/rest/mgmt")"
HOSTIP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
if [ -n "$HOSTIP" ]; then
	check_eq "anonymous from $HOSTIP (off the loopback): 401" 401 \
		"$(curl -s -o "$T/body" -w '%{http_code}' -k "https://$HOSTIP:$TPORT/v1/databases")"
	check_eq "... a token still works there" 200 \
		"$(curl -s -o /dev/null -w '%{http_code}' -k -H 'Authorization: Bearer tok-viewer' "https://$HOSTIP:$TPORT/v1/databases")"
else
	ok "# SKIP no non-loopback address to test anonymous access from"
fi
check_eq "plain HTTP to the HTTPS port fails" 000 "$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$TPORT/healthz")"

# ---- socket activation ----
if command -v systemd-socket-activate >/dev/null; then
	SPORT=$(free_port) UNUSED=$(free_port)
	write_conf "$T/sa.conf" "127.0.0.1:$UNUSED" "$T/admin3.sock" "allow_anonymous = true"
	bg systemd-socket-activate -l "127.0.0.1:$SPORT" "$FOLLOWERD" -d -c "$T/sa.conf" 2>"$T/d3.log"
	wait_port "$SPORT" 10
	check_eq "socket activation: served on the passed socket" 200 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/v1/databases")"
	check_eq "... again (the loop did not hang on a blocking socket)" 200 "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPORT/v1/databases/Logs")"
	check_fails "... and \`listen\` was not bound" bash -c "exec 3<>/dev/tcp/127.0.0.1/$UNUSED"
else
	ok "# SKIP systemd-socket-activate not installed"
fi

# ---- a stalled loop makes /healthz 503 (last: it stays so for a while) ----
kill -STOP "$PID"
sleep 4.5
kill -CONT "$PID"
check_eq "after the loop stalled: 503" 503 "$(get tok-admin /healthz)"
check_match "... saying so" "event loop" "$(body '.reasons | join(";")')"

check "followerd logged no error" bash -c "! cat '$T'/d*.log | grep -E ': (err|crit|alert|emerg):'"
done_testing
