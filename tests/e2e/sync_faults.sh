#!/usr/bin/env bash
# sync_faults — a leader served over HTTP by faultserver misbehaves: 5xx on
# the head and on log objects, truncated and reset bodies, bad JSON, a commit
# of the wrong version, a redirect, a stalled head, a checkpoint manifest
# naming a part on another host.  Each time the applied version stays
# intact, the error is kept in the store and logged once however often it
# repeats (with the object's URL), and once the leader behaves the follower
# converges to exactly the leader's state and logs the recovery.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sync_common.bash"
[ -x "$TOOLS/faultserver" ] || skip_all "faultserver not built"
command -v curl >/dev/null || skip_all "curl not installed"

L=$T/leader
mkdir -p "$L"
lc "$L" init --checkpoint-interval 1000 >/dev/null
lc "$L" create-database Logs >/dev/null
lc "$L" create-table Logs Events 'msg:string' >/dev/null
ingest "$L" Logs Events a0 >/dev/null

bg "$TOOLS/faultserver" --root "$L" --port 0 --port-file "$T/fs.port" --control 2>"$T/fs.log"
until_ok 5 test -s "$T/fs.port" || { diag "faultserver did not start"; exit 1; }
U=http://127.0.0.1:$(cat "$T/fs.port")
rule() { curl -sf --data-binary "$1" "$U/_fault" >/dev/null; }
clear_rules() { curl -sf -X POST "$U/_fault/clear" >/dev/null; }
# hits GLOB-PATH STATUS: requests of PATH answered STATUS so far.
hits() { curl -s "$U/_stats" | jq -r --arg p "$1" --arg s "$2" '[.paths | to_entries[] | select(.key | test($p)) | .value.status[$s] // 0] | add // 0'; }
at_least() { [ "$(hits "$1" "$2")" -ge "$3" ]; }
logged() { grep -c -- "$1" "$FLOG" || true; }
err() { q "SELECT last_error FROM databases WHERE config='$1'"; }
err_matches() { err "$1" | grep -q -- "$2"; }
no_error() { [ -z "$(err "$1")" ]; }

{ daemon_conf; attach_conf logs "$U" Logs; } >"$CONF"
start_follower
wait_for "an HTTP leader is followed" 10 same_as_leader logs "$L" Logs

# ---- idle: one conditional GET of the head per poll, answered 304 ----
others() { curl -s "$U/_stats" | jq '[.paths | to_entries[] | select(.key != "/head.json") | .value.requests] | add // 0'; }
ok200=$(hits '^/head.json$' 200)
n304=$(hits '^/head.json$' 304)
rest=$(others)
wait_for "idle polls are answered 304" 10 at_least '^/head.json$' 304 $((n304 + 4))
check_eq "... no head was sent in full meanwhile" "$ok200" "$(hits '^/head.json$' 200)"
check_eq "... and nothing else was asked" "$rest" "$(others)"

# ---- the head answers 503 ----
rule '/head.json * status 503'
v=$(applied logs)
ingest "$L" Logs Events a1 >/dev/null
wait_for "503s on the head: the error is kept in the store" 10 err_matches logs 'leader unreachable: .*head.json'
wait_for "... while the polls go on failing" 10 at_least '^/head.json$' 503 4
check_eq "... the applied version stays" "$v" "$(applied logs)"
check_eq "... logged once, not once per poll" 1 "$(logged 'leader unreachable')"
clear_rules
wait_for "the head is back: the follower converges" 10 same_as_leader logs "$L" Logs
check_eq "... the recovery is logged once" 1 "$(logged 'leader reachable again')"
wait_for "... and the error cleared" 5 no_error logs

# ---- a log object answers 500 ----
rule '/db/*/log/* * status 500'
v=$(applied logs)
ingest "$L" Logs Events a2 >/dev/null
wait_for "500 on a log object: the error names the object" 10 err_matches logs '/db/.*/log/0*'$((v + 1))'.json'
wait_for "... retried with backoff" 10 at_least '/log/' 500 3
check_eq "... the applied version stays" "$v" "$(applied logs)"
check_eq "... logged once" 1 "$(logged 'logs: sync failed')"
clear_rules
wait_for "the object is back: converged" 10 same_as_leader logs "$L" Logs
check_eq "... the recovery is logged once" 1 "$(logged 'logs: syncing again')"

# ---- truncated and reset bodies ----
rule '/db/*/log/* 2 truncate 7'
ingest "$L" Logs Events a3 >/dev/null
wait_for "a truncated log object is retried until whole" 10 same_as_leader logs "$L" Logs
rule '/head.json 2 reset-after 20'
ingest "$L" Logs Events a4 >/dev/null
wait_for "a head reset mid-body is retried" 10 same_as_leader logs "$L" Logs

# ---- bad JSON ----
rule '/db/*/log/* * body {"format": broken'
v=$(applied logs)
ingest "$L" Logs Events a5 >/dev/null
wait_for "bad JSON in a log object is refused, with its URL" 10 err_matches logs "$U/db/.*/log/.*json.*"
check_eq "... nothing of it is applied" "$v" "$(applied logs)"
check_eq "... logged once" 1 "$(grep -c "logs: sync failed.*$U/db/.*/log/.*invalid JSON" "$FLOG")"
clear_rules
wait_for "converged after the bad JSON" 10 same_as_leader logs "$L" Logs

# ---- a commit of another version ----
v=$(applied logs)
uuid=$(lc "$L" show Logs --json | jq -r .database.uuid)
rule "/db/$uuid/log/$(printf '%020d' $((v + 1))).json * body $(jq -c . "$L/db/$uuid/log/$(printf '%020d' "$v").json" | sed 's/\\/\\\\/g')"
ingest "$L" Logs Events a6 >/dev/null
wait_for "a log object holding another version is refused" 10 err_matches logs 'has version .* expected (out of order)'
check_eq "... nothing of it is applied" "$v" "$(applied logs)"
clear_rules
wait_for "converged after the out-of-order commit" 10 same_as_leader logs "$L" Logs

# ---- a redirect ----
rule '/head.json * redirect http://127.0.0.1:1/head.json'
ingest "$L" Logs Events a8 >/dev/null
wait_for "a redirect is refused, not followed" 10 err_matches logs 'leader unreachable: .*redirect'
clear_rules
wait_for "converged after the redirect" 10 same_as_leader logs "$L" Logs

# ---- a stalled head ----
rule '/head.json 1 stall'
ingest "$L" Logs Events a9 >/dev/null
wait_for "a stalled head times out and the next poll gets through" 15 same_as_leader logs "$L" Logs

# ---- a checkpoint manifest naming a part on another host ----
lc "$L" checkpoint Logs >/dev/null
ingest "$L" Logs Events a10 >/dev/null
wait_for "the follower saw the head with the checkpoint" 10 same_as_leader logs "$L" Logs
cp=$(lc "$L" show Logs --json | jq -r .database.checkpoint)
m=db/$uuid/checkpoint/$(printf '%020d' "$cp")/manifest.json
rule "/$m * body $(jq -c '.parts[0].path = "http://evil.example/part"' "$L/$m")"
{ daemon_conf; attach_conf logs "$U" Logs; attach_conf copy "$U" Logs 'local_name = Copy'; } >"$CONF"
reload
wait_for "a part path on another host is refused with the manifest's URL" 10 err_matches copy "$U/$m.*path"
check "... nothing of it entered the store" test "$(applied copy)" = "" -o "$(applied copy)" = 0
check_eq "... and evil.example was never asked" 0 "$(grep -c evil "$T/fs.log")"
clear_rules
wait_for "a good manifest: the second attach loads the checkpoint" 10 same_as_leader copy "$L" Logs

stop_follower
check_eq "SIGTERM: exit 0" 0 "$FRC"
done_testing
