#!/usr/bin/env bash
# faultserver (tests/tools/faultserver.c): the fault-injecting HTTP server the
# other end-to-end tests use.  Drives every fault kind with curl and checks
# what a client sees (curl's exit code, the bytes it got, the time it took),
# plus the plain server: 304, Range, ETag, keep-alive, confinement, limits,
# stats, the request log and a clean exit on SIGTERM.
source "$(dirname "$0")/lib.sh"

FS=$TOOLS/faultserver
[ -x "$FS" ] || skip_all "faultserver not built"
command -v curl >/dev/null || skip_all "curl not installed"

ROOT=$T/root
mkdir -p "$ROOT/dir" "$ROOT/sub"
printf '{"format":"followerd-leader/1"}\n' >"$ROOT/head.json"
head -c 10000 /dev/urandom >"$ROOT/a.bin"
head -c 8000000 /dev/zero >"$ROOT/big.bin"
printf 'in a directory\n' >"$ROOT/dir/x.txt"
printf 'secret\n' >"$T/outside.txt"
ln -s "$T/outside.txt" "$ROOT/escape"
printf '/forbidden.txt * status 403\n# a comment\n\n' >"$T/rules"
printf 'forbidden\n' >"$ROOT/forbidden.txt"

# start_fs NAME ARGS...: starts a faultserver on a free port; sets PORT_<NAME>, PID_<NAME>.
start_fs() {
	local name=$1 i
	shift
	bg "$FS" --root "$ROOT" --port 0 --port-file "$T/$name.port" "$@" 2>"$T/$name.log"
	printf -v "PID_$name" '%s' "$BG_PID"
	for ((i = 0; i < 100; i++)); do
		[ -s "$T/$name.port" ] && break
		sleep 0.05
	done
	[ -s "$T/$name.port" ] || { diag "faultserver $name did not start"; cat "$T/$name.log"; exit 1; }
	printf -v "PORT_$name" '%s' "$(cat "$T/$name.port")"
}

start_fs main --control --rules "$T/rules"
U=http://127.0.0.1:$PORT_main

# fault RULE: adds a rule through the control endpoint.
fault() { curl -sf -d "$1" "$U/_fault" >/dev/null || diag "could not add rule: $1"; }
# rc CURL-ARGS...: curl's exit code (its output goes to $T/out).
rc() { local r=0; curl -s -o "$T/out" "$@" >/dev/null 2>&1 || r=$?; echo "$r"; }
# code URL [CURL-ARGS...]: the HTTP status of one request.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# header NAME CURL-ARGS...: the value of one response header.
header() {
	local n=$1
	shift
	curl -s -D - -o /dev/null "$@" | tr -d '\r' |
		awk -v n="$n" 'BEGIN { n = tolower(n) } { k = tolower($0); sub(/:.*/, "", k) }
			k == n { sub(/^[^:]*: */, ""); print }'
}
# counter KEY...: one counter of /_stats.txt (0 when absent).
counter() { curl -s "$U/_stats.txt" | awk -v k="$*" '{ v = $NF; $NF = ""; sub(/ $/, "") } $0 == k { print v; f = 1 } END { if (!f) print 0 }'; }
# size FILE
size() { wc -c <"$1" | tr -d ' '; }
# elapsed_ms CURL-ARGS...: wall time of one curl in ms (output to $T/out).
elapsed_ms() { curl -s -o "$T/out" -w '%{time_total}' "$@" | awk '{ printf "%d", $1 * 1000 }'; }
# wait_stat EXPECTED KEY...: polls a counter for up to 5 s.
wait_stat() {
	local want=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		[ "$(counter "$@")" = "$want" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- the plain server --------------------------------------------------------
curl -s -o "$T/got" "$U/head.json"
check "GET returns the file" cmp "$T/got" "$ROOT/head.json"
check_eq "Content-Length is the file size" 10000 "$(header Content-Length "$U/a.bin")"
check_eq "HEAD: 200 with Content-Length and no body" "200 0 10000" \
	"$(curl -s -I -o /dev/null -w '%{http_code} %{size_download} ' "$U/a.bin")$(header Content-Length -I "$U/a.bin")"
etag=$(header ETag "$U/head.json")
check_match "ETag is strong, from size and mtime" '^"[0-9a-f]+-[0-9a-f]+"$' "$etag"
check_eq "If-None-Match with the ETag: 304" 304 "$(code "$U/head.json" -H "If-None-Match: $etag")"
check_eq "If-None-Match in a list, weak form: 304" 304 \
	"$(code "$U/head.json" -H "If-None-Match: \"x\", W/$etag")"
check_eq "If-None-Match *: 304" 304 "$(code "$U/head.json" -H 'If-None-Match: *')"
check_eq "If-None-Match with another ETag: 200" 200 "$(code "$U/head.json" -H 'If-None-Match: "0-0"')"
touch -d '2001-01-01 00:00:00' "$ROOT/head.json"
check_fails "a new mtime gives a new ETag" test "$etag" = "$(header ETag "$U/head.json")"

check_eq "Range bytes=9000-: 206 of 1000 bytes" "206 1000" \
	"$(curl -s -o "$T/got" -w '%{http_code} %{size_download}' -r 9000- "$U/a.bin")"
check "Range: the bytes are the file's tail" cmp "$T/got" <(tail -c 1000 "$ROOT/a.bin")
check_eq "Range: Content-Range" "bytes 9000-9999/10000" "$(header Content-Range -r 9000- "$U/a.bin")"
check_eq "Range bytes=10-19: 206 of 10 bytes" "206 10" \
	"$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -r 10-19 "$U/a.bin")"
check_eq "Range bytes=-100: the last 100 bytes" "bytes 9900-9999/10000" \
	"$(header Content-Range -r -100 "$U/a.bin")"
check_eq "Range past the end: 416" 416 "$(code "$U/a.bin" -r 10000-)"
check_eq "If-Range with another ETag: the whole file" 200 \
	"$(code "$U/a.bin" -r 10- -H 'If-Range: "0-0"')"

check_eq "missing file: 404" 404 "$(code "$U/nope.json")"
check_eq "directory: 404" 404 "$(code "$U/dir/")"
check_eq "percent-encoded path" 200 "$(code "$U/dir/%78.txt")"
check_eq "query string ignored" 200 "$(code "$U/head.json?x=1")"
check_eq "dot-dot cannot leave the root" 404 "$(code --path-as-is "$U/../outside.txt")"
check_eq "encoded dot-dot cannot leave the root" 404 "$(code --path-as-is "$U/sub/%2e%2e/%2e%2e/outside.txt")"
check_eq "a symlink cannot leave the root" 404 "$(code "$U/escape")"
check_eq "POST to a file: 405" 405 "$(code -d x "$U/head.json")"

# Two URLs in one curl: the second reuses the first's connection.
check_eq "keep-alive: one connection for two requests" "1 0 " \
	"$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$U/head.json" "$U/a.bin")"
# Two pipelined requests in one write; the second asks to close.
exec 3<>"/dev/tcp/127.0.0.1/$PORT_main"
printf 'GET /head.json HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
pipelined=$(timeout 5 cat <&3 | tr -d '\r' | grep -c '^HTTP/1.1 200 OK$')
exec 3<&-
check_eq "pipelined requests both answered, then closed" 2 "$pipelined"
big=$(head -c 20000 /dev/zero | tr '\0' a)
check_eq "request head over 16 KiB: 431" 431 "$(code -H "X-Big: $big" "$U/head.json")"

# --- faults ------------------------------------------------------------------
check_eq "rule from --rules: status 403" 403 "$(code "$U/forbidden.txt")"

fault '/head.json 2 status 503'
check_eq "status 503 applies to COUNT requests, then not" "503 503 200" \
	"$(code "$U/head.json") $(code "$U/head.json") $(code "$U/head.json")"

fault '/a.bin 1 reset'
check_eq "reset: curl 56 (connection reset)" 56 "$(rc "$U/a.bin")"

fault '/a.bin 1 reset-after 100'
check_eq "reset-after 100: curl 56" 56 "$(rc "$U/a.bin")"
check_eq "reset-after 100: 100 bytes arrived" 100 "$(size "$T/out")"
check "reset-after 100: they are the file's first 100" cmp "$T/out" <(head -c 100 "$ROOT/a.bin")

fault '/big.bin 1 reset-after 6000000'
check_eq "reset-after beyond the socket buffers: curl 56" 56 "$(rc "$U/big.bin")"
check_eq "reset-after: every byte sent arrived before the RST" 6000000 "$(size "$T/out")"

fault '/a.bin 1 truncate 100'
check_eq "truncate 100: curl 18 (partial file)" 18 "$(rc "$U/a.bin")"
check_eq "truncate 100: 100 bytes arrived" 100 "$(size "$T/out")"

fault '/a.bin 1 stall'
check_eq "stall: curl 28 (timeout)" 28 "$(rc -m 0.5 "$U/a.bin")"
check "stall: the connection closes when the client leaves" wait_stat 1 connections current

fault '/a.bin 1 stall-after 100'
check_eq "stall-after 100: curl 28" 28 "$(rc -m 0.5 "$U/a.bin")"
check_eq "stall-after 100: 100 bytes arrived" 100 "$(size "$T/out")"

fault '/a.bin 1 slow 40000'
ms=$(elapsed_ms "$U/a.bin")
check "slow 40000: 10000 bytes take >= 200 ms (took $ms)" test "$ms" -ge 200
check "slow: the bytes are intact" cmp "$T/out" "$ROOT/a.bin"

fault '/a.bin 1 corrupt 10'
curl -s -o "$T/out" "$U/a.bin"
check_eq "corrupt 10: same length" 10000 "$(size "$T/out")"
check_eq "corrupt 10: exactly byte 10 differs" "11" "$(cmp -l "$T/out" "$ROOT/a.bin" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
fault '/a.bin 1 corrupt 0 1000'
curl -s -o "$T/out" "$U/a.bin"
check_eq "corrupt 0 1000: every 1000th byte differs" 10 "$(cmp -l "$T/out" "$ROOT/a.bin" | wc -l)"
fault '/a.bin 1 corrupt 9500'
curl -s -o "$T/out" -r 9000- "$U/a.bin"
check_eq "corrupt: the offset is the file's, also under Range" 501 "$(cmp -l "$T/out" <(tail -c 1000 "$ROOT/a.bin") | awk '{ print $1 }')"

fault '/head.json 1 body {"format": broken\n'
curl -s -o "$T/out" "$U/head.json"
check "body: the text replaces the file" cmp "$T/out" <(printf '{"format": broken\n')
fault '/nope.json 1 body {}'
check_eq "body: also for a missing file" "200 {}" "$(curl -s -w '%{http_code} ' -o "$T/out" "$U/nope.json")$(cat "$T/out")"

fault "/old.json 1 redirect $U/head.json"
check_eq "redirect: 302" 302 "$(code "$U/old.json")"
fault "/old.json 1 redirect $U/head.json"
check_eq "redirect: Location" "$U/head.json" "$(header Location "$U/old.json")"
fault "/old.json 1 redirect $U/head.json"
curl -s -L -o "$T/out" "$U/old.json"
check "redirect: curl -L gets the target" cmp "$T/out" "$ROOT/head.json"

fault '/head.json 1 delay 300'
ms=$(elapsed_ms "$U/head.json")
check "delay 300: the answer takes >= 300 ms (took $ms; 5 ms for rounding)" test "$ms" -ge 295
check "delay: then the file" cmp "$T/out" "$ROOT/head.json"
printf '/head.json 1 delay 200\n/head.json 1 status 500\n/head.json 1 body {"error":"x"}\n' >"$T/combo"
curl -sf --data-binary @"$T/combo" "$U/_fault" >/dev/null
check_eq "rules combine: a late 500 with its body" '500 {"error":"x"}' "$(curl -s -w '%{http_code} ' -o "$T/out" "$U/head.json")$(cat "$T/out")"

fault '/a.bin 1 ignore-range'
check_eq "ignore-range: 200 with the whole file" "200 10000" \
	"$(curl -s -o /dev/null -w '%{http_code} %{size_download}' -r 100- "$U/a.bin")"

fault '/dir/* * status 500'
check_eq "glob /dir/* and COUNT *: every match, nothing else" "500 500 200" \
	"$(code "$U/dir/x.txt") $(code "$U/dir/y") $(code "$U/head.json")"
check_match "GET /_fault lists the rule and its hits" '^/dir/\* \* status 500  # hits 2$' \
	"$(curl -s "$U/_fault")"
curl -sf -X POST "$U/_fault/clear" >/dev/null
check_eq "/_fault/clear removes every rule" "200 200" "$(code "$U/dir/x.txt") $(code "$U/forbidden.txt")"

printf '/a.bin 1 status 500\n/a.bin 1 explode\n' >"$T/bad"
check_eq "a bad rule: 400" 400 "$(code --data-binary @"$T/bad" "$U/_fault")"
check_match "a bad rule: the reason names the line" 'rule:2: ' "$(curl -s --data-binary @"$T/bad" "$U/_fault")"
check_eq "a bad rule: no line of the request is added" 200 "$(code "$U/a.bin")"
check_eq "a bad argument: 400" 400 "$(code -d '/a.bin 1 status 42' "$U/_fault")"
ms=$(curl -s -o /dev/null -w '%{time_total}' -H 'Expect: 100-continue' --expect100-timeout 3 \
	-d '/zzz 1 status 500' "$U/_fault" | awk '{ printf "%d", $1 * 1000 }')
check "Expect: 100-continue is answered at once (took $ms ms)" test "$ms" -lt 2000

# --- stats -------------------------------------------------------------------
curl -sf -X POST "$U/_stats/reset" >/dev/null
etag=$(curl -s -I "$U/head.json" | tr -d '\r' | sed -n 's/^ETag: //p')
code "$U/head.json" -H "If-None-Match: $etag" >/dev/null
check_eq "stats: one GET of head.json" 1 "$(counter paths /head.json GET)"
check_eq "stats: it got 304" 1 "$(counter paths /head.json status 304)"
check_eq "stats: requests counts GET and HEAD, not control" 2 "$(counter requests)"
fault '/a.bin 1 reset'
rc "$U/a.bin" >/dev/null
check_eq "stats: faults per kind" 1 "$(counter faults reset)"
check_eq "stats: a reset has no status" 1 "$(counter paths /a.bin status none)"
if command -v jq >/dev/null; then
	check_eq "stats JSON: .paths[\"/head.json\"].status[\"304\"]" 1 \
		"$(curl -s "$U/_stats" | jq '.paths["/head.json"].status["304"]')"
	check_eq "stats JSON: connections.current includes the asker" 1 \
		"$(curl -s "$U/_stats" | jq '.connections.current')"
else
	check_match "stats JSON" '"requests": 3' "$(curl -s "$U/_stats")"
fi

# --- limits, log, exit ---------------------------------------------------------
start_fs small --max-conns 1
exec 4<>"/dev/tcp/127.0.0.1/$PORT_small"
check_eq "beyond --max-conns: 503" 503 "$(code "http://127.0.0.1:$PORT_small/head.json")"
exec 4<&-
ok_after=""
for ((i = 0; i < 100; i++)); do
	[ "$(code "http://127.0.0.1:$PORT_small/head.json")" = 200 ] && { ok_after=1; break; }
	sleep 0.05
done
check "a freed slot serves again" test -n "$ok_after"
check_eq "without --control /_stats is a file path: 404" 404 "$(code "http://127.0.0.1:$PORT_small/_stats")"

check_match "the log has one line per request with its fault" \
	'GET /a\.bin - range=- fault=reset$' "$(cat "$T/main.log")"
check_match "the log shows range and status" 'GET /a\.bin 206 range=bytes=9000- fault=-' "$(cat "$T/main.log")"

kill -TERM "$PID_main"
exited=""
for ((i = 0; i < 100; i++)); do
	kill -0 "$PID_main" 2>/dev/null || { exited=1; break; }
	sleep 0.05
done
check "SIGTERM: exits promptly" test -n "$exited"
wait "$PID_main"
check_eq "SIGTERM: exit status 0" 0 "$?"
check_match "SIGTERM: logged" 'exiting on signal 15' "$(cat "$T/main.log")"
check_eq "bad arguments: exit status 2" 2 "$("$FS" --port 1 >/dev/null 2>&1; echo $?)"
printf '/x 1 nonsense\n' >"$T/badrules"
check_match "a bad --rules file: refused with FILE:LINE" "badrules:1: " \
	"$("$FS" --root "$ROOT" --port 0 --rules "$T/badrules" 2>&1; echo "rc=$?")"

done_testing
