#!/usr/bin/env bash
# http_door — the front door holds (issue 14): one client address flooding
# the query endpoint cannot lock other clients out.
#
# One address (127.0.0.1, tests/tools/doorflood) holds 3,000 idle and
# half-sent connections, plain and TLS, reconnecting whenever it is closed;
# then the same trickling a header byte a second; then a keep-alive idle
# flood from 40 addresses (past max_connections: the idle must make room);
# then a burst of slow queries (the mgmt worker made slow by
# FOLLOWERD_TEST_QUERY_DELAY_MS).  Throughout, another address (127.0.0.2)
# must get /healthz (and the views) answered within 1 s.  The first daemon
# runs with the default limits.  Then the clocks (header_timeout over a
# TLS handshake that never completes and over a trickled head,
# keepalive_timeout) and the caps, changed by SIGHUP.  Refusals are counted
# in /metrics by cause and logged once per client a minute.
source "$(dirname "$0")/lib.sh"

[ -x "$FOLLOWERD" ] || skip_all "followerd not built"
for t in mkstore doorflood; do [ -x "$TOOLS/$t" ] || skip_all "$t not built"; done
for c in curl jq openssl python3; do command -v $c >/dev/null || skip_all "$c not installed"; done
ulimit -n 16384 2>/dev/null || skip_all "cannot raise the open files limit to 16384"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
{
	echo "aaduser=viewer@x $(sha tok-viewer)"
	echo "aaduser=admin@x $(sha tok-admin)"
} >"$T/tokens"
chmod 600 "$T/tokens"

# write_conf FILE LISTEN ADMIN_SOCKET [EXTRA DAEMON LINES...]: the limits
# are the defaults unless an extra line sets them.
write_conf() {
	local f=$1 listen=$2 admin=$3
	shift 3
	{
		printf '[daemon]\nstate_dir = %s\ncache_dir = %s\n' "$T/state" "$T/cache"
		printf 'listen = %s\nadmin_socket = %s\ntokens_file = %s\n' "$listen" "$admin" "$T/tokens"
		printf 'allow_anonymous = true\n'
		[ $# -eq 0 ] || printf '%s\n' "$@"
		printf '[attach "logs"]\nleader = %s\ndatabase = Logs\n' "$T/leader"
		printf 'viewers = aaduser=viewer@x\nadmins = aaduser=admin@x\n'
		printf 'hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z\n'
		printf '[attach "metrics"]\nleader = %s\ndatabase = Metrics\n' "$T/leader"
	} >"$f"
}
write_conf "$T/a.conf" "127.0.0.1:$PORT" "$T/a.sock"
mkdir -p "$T/state"
"$TOOLS/mkstore" build "$T/a.conf" "$T/state/state.db" "$T/cache" >/dev/null || { diag "mkstore failed"; exit 1; }

bg env FOLLOWERD_TEST_QUERY_DELAY_MS=300 "$FOLLOWERD" -d -c "$T/a.conf" 2>"$T/a.log"
APID=$BG_PID
wait_port "$PORT" 10 || { diag "followerd did not listen"; cat "$T/a.log"; exit 1; }

# The daemon's own view, through the admin socket (its own cap).
metrics() { curl -s -m 2 --unix-socket "$1" http://admin/metrics; }
metric() { metrics "$1" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'; }
# until_true SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
until_true() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.1; done
}
open_at_least() { [ "$(metric "$1" 'followerd_http_connections{endpoint="queries"}')" -ge "$2" ]; }

# probe SECONDS URL [CURL ARGS...]: GETs URL from 127.0.0.2 every 0.2 s for
# SECONDS; ok when every answer is a 200 within 1 s.
probe() {
	local end=$((SECONDS + $1)) url=$2 n=0 bad=0 out
	shift 2
	while [ $SECONDS -lt $end ]; do
		out=$(curl -s -o /dev/null -m 3 --interface 127.0.0.2 -w '%{http_code} %{time_total}' "$@" "$url")
		n=$((n + 1))
		# "200 0.012345": a 200 in less than a whole second
		if [ "${out%% *}" != 200 ] || [ "${out#* }" != "0${out#* 0}" ]; then
			bad=$((bad + 1))
			echo "answer $n: $out"
		fi
		sleep 0.2
	done
	echo "$n answers, $bad bad"
	[ "$n" -gt 5 ] && [ "$bad" -eq 0 ]
}

# flood NAME ARGS...: doorflood in the background (its counts in $T/NAME.out).
flood() {
	local name=$1
	shift
	"$TOOLS/doorflood" "$@" >"$T/$name.out" 2>&1 &
	FLOOD=$!
	_pids+=("$FLOOD")
}

# ---- 1. 3,000 idle and half-sent connections from one address ----
flood mix --target "127.0.0.1:$PORT" --from 127.0.0.1 --conns 3000 --mode mix --rate 2000 --duration 8
until_true 5 open_at_least "$T/a.sock" 50 || diag "the flood did not hold 50 connections"
check "3,000 idle and half-sent from 127.0.0.1: /healthz from 127.0.0.2 within 1 s throughout" \
	probe 5 "$URL/healthz"
wait "$FLOOD"
diag "flood: $(cat "$T/mix.out")"
check "... refusals counted by cause" \
	test "$(metric "$T/a.sock" 'followerd_http_refused_total{cause="max_connections_per_address"}')" -gt 100
check_eq "... and logged once for the client, not per connection" 1 "$(grep -c 'refusing 127.0.0.1:' "$T/a.log")"

# ---- 2. the same, trickling one header byte a second ----
flood trickle --target "127.0.0.1:$PORT" --from 127.0.0.1 --conns 3000 --mode trickle --rate 2000 --duration 8
until_true 5 open_at_least "$T/a.sock" 50 || diag "the flood did not hold 50 connections"
check "3,000 trickling a header byte a second: /healthz within 1 s throughout" \
	probe 5 "$URL/healthz"
wait "$FLOOD"
diag "flood: $(cat "$T/trickle.out")"

# ---- 3. a keep-alive idle flood from 40 addresses, past max_connections ----
flood keepalive --target "127.0.0.1:$PORT" --from 127.0.0.10-127.0.0.49 --conns 400 --mode keepalive --rate 2000 --duration 8
until_true 5 open_at_least "$T/a.sock" 200 || diag "the flood did not hold 200 connections"
check "400 idle keep-alive connections from 40 addresses: /healthz within 1 s throughout" \
	probe 5 "$URL/healthz"
wait "$FLOOD"
diag "flood: $(cat "$T/keepalive.out")"
check "... the idle made room" \
	test "$(metric "$T/a.sock" 'followerd_http_closed_total{cause="evicted_idle"}')" -gt 0

# ---- 4. a burst of slow queries: the views and /healthz still answer ----
body='{"db":"Logs","csl":".show tables"}'
printf 'POST /v1/rest/mgmt HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
	"${#body}" "$body" >"$T/query.req"
flood queries --target "127.0.0.1:$PORT" --from 127.0.0.20-127.0.0.24 --conns 200 --mode request \
	--request "$T/query.req" --duration 20
until_true 5 open_at_least "$T/a.sock" 20 || diag "the queries did not hold 20 connections"
curl -s -D "$T/q.hdr" -o "$T/q.body" -m 5 --interface 127.0.0.3 -H 'Content-Type: application/json' \
	--data "$body" "$URL/v1/rest/mgmt"
check "200 slow queries: /healthz within 1 s throughout" probe 3 "$URL/healthz"
check "... and the views" probe 3 "$URL/v1/databases/Logs/tables" -H 'Authorization: Bearer tok-viewer'
check_match "a query past max_concurrent_queries: 429" '^HTTP/1.1 429' "$(head -1 "$T/q.hdr")"
check_match "... with Retry-After" '^Retry-After: [0-9]+' "$(tr -d '\r' <"$T/q.hdr")"
check_eq "... in Kusto's error shape" "TooManyRequests false Kusto.Data.Exceptions.KustoRequestThrottledException" \
	"$(jq -r '.error | "\(.code) \(.["@permanent"]) \(.["@type"])"' "$T/q.body" 2>/dev/null)"
wait "$FLOOD"
diag "queries: $(cat "$T/queries.out")"
check_match "... some ran, the rest were refused" 'status_200=[0-9]+.*status_429=[0-9]+' "$(cat "$T/queries.out")"
check "... counted by cause" \
	test "$(metric "$T/a.sock" 'followerd_http_refused_total{cause="max_concurrent_queries"}')" -gt 0

# ---- 5. the limits changed by SIGHUP ----
# reload PID LOG: SIGHUP, then waits for the daemon's verdict on the file
# (reloaded or rejected).
reload() {
	local n
	n=$(grep -c 'configuration \(reloaded\|rejected\)' "$2")
	kill -HUP "$1"
	until_true 5 test "$(grep -c 'configuration \(reloaded\|rejected\)' "$2")" -gt "$n"
}
write_conf "$T/a.conf" "127.0.0.1:$PORT" "$T/a.sock" "max_concurrent_queries = 1" "query_queue_timeout = 0s" \
	"max_connections_per_address = 3"
reload "$APID" "$T/a.log"
check "SIGHUP: the new limits are taken" grep -q 'configuration reloaded' "$T/a.log"
codes=$(for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code}\n' -m 5 --interface 127.0.0.6 \
	-H 'Content-Type: application/json' --data "$body" "$URL/v1/rest/mgmt" & done; wait)
check_eq "... max_concurrent_queries = 1: of three at once, one runs, two get 429 at once" "200 429 429" \
	"$(echo $codes | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
held=$(python3 - "$PORT" <<'PY'
import socket, sys, time
socks = []
for i in range(5):
    s = socket.socket(); s.bind(("127.0.0.7", 0)); s.connect(("127.0.0.1", int(sys.argv[1])))
    s.settimeout(0.05); socks.append(s)
time.sleep(0.5)
alive = 0
for s in socks:
    try:
        alive += s.recv(1) != b""
    except socket.timeout:
        alive += 1
    except OSError:
        pass
print(alive)
PY
)
check_eq "... max_connections_per_address = 3: of five, three are held" 3 "$held"

write_conf "$T/a.conf" "127.0.0.1:$PORT" "$T/a.sock" "max_requests_per_principal = 1"
reload "$APID" "$T/a.log"
codes=$(for a in 127.0.0.11 127.0.0.12; do curl -s -o /dev/null -w '%{http_code}\n' -m 5 --interface $a \
	-H 'Authorization: Bearer tok-admin' -H 'Content-Type: application/json' --data "$body" \
	"$URL/v1/rest/mgmt" & done; wait)
check_eq "... max_requests_per_principal = 1: of two slow queries of one token, from two addresses, one gets 503" \
	"200 503" "$(echo $codes | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"

# ---- 6. TLS: the same flood, and the clocks ----
cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem >/dev/null 2>&1
TPORT=$(free_port)
write_conf "$T/b.conf" "127.0.0.1:$TPORT" "$T/b.sock" "tls_cert = $T/server.pem" "tls_key = $T/server.key"
bg "$FOLLOWERD" -d -c "$T/b.conf" 2>"$T/b.log"
BPID=$BG_PID
wait_port "$TPORT" 10 || { diag "the TLS followerd did not listen"; cat "$T/b.log"; exit 1; }
TURL=https://127.0.0.1:$TPORT
flood tls --target "127.0.0.1:$TPORT" --from 127.0.0.1 --conns 3000 --mode mix --tls --rate 2000 --duration 8
until_true 5 open_at_least "$T/b.sock" 50 || diag "the TLS flood did not hold 50 connections"
check "TLS: 3,000 unfinished handshakes from 127.0.0.1: /healthz within 1 s throughout" \
	probe 5 "$TURL/healthz" --cacert "$T/server.pem"
wait "$FLOOD"
diag "flood: $(cat "$T/tls.out")"

write_conf "$T/b.conf" "127.0.0.1:$TPORT" "$T/b.sock" "tls_cert = $T/server.pem" "tls_key = $T/server.key" \
	"header_timeout = 2s" "keepalive_timeout = 3s" "request_timeout = 30s"
reload "$BPID" "$T/b.log"
# lifetime KIND: seconds until the server closes a connection that does KIND
lifetime() {
	python3 - "$TPORT" "$1" "$T/server.pem" <<'PY'
import socket, ssl, sys, time
port, kind, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.socket(); raw.bind(("127.0.0.8", 0)); raw.connect(("127.0.0.1", port))
t = time.time()
s = raw
if kind != "handshake":
    s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="127.0.0.1")
    if kind == "keepalive":
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(65536)
    else:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
    t = time.time()
s.settimeout(0.5)
while time.time() - t < 8:
    try:
        if kind == "trickle":
            s.sendall(b"a")
        if s.recv(4096) == b"":
            break
    except (socket.timeout, TimeoutError):
        pass
    except (OSError, ssl.SSLError):
        break
print("%.1f" % (time.time() - t))
PY
}
in_range() { python3 -c "import sys; sys.exit(not $2 <= float('$1') <= $3)"; }
secs=$(lifetime handshake)
check "a TLS handshake never begun is closed at header_timeout (2 s): ${secs}s" in_range "$secs" 1.5 3.5
secs=$(lifetime trickle)
check "a head trickled a byte every 0.5 s is closed at header_timeout: ${secs}s" in_range "$secs" 1.5 3.5
secs=$(lifetime keepalive)
check "an idle keep-alive connection is closed at keepalive_timeout (3 s): ${secs}s" in_range "$secs" 2.5 4.5
check "... each counted" test "$(metric "$T/b.sock" 'followerd_http_closed_total{cause="keepalive_timeout"}')" -ge 1

done_testing
