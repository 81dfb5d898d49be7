# Helpers shared by the sync_*.sh end-to-end tests (sourced after lib.sh; the
# runner only runs *.sh files, so this one is never run on its own).
#
# A test publishes leaders with leaderctl, runs followerd on a configuration
# written by sync_conf/attach_conf, and checks what the store holds through
# storedump (the store's read API) and sqlite3 -readonly, waiting for each
# condition with a deadline.

[ -x "$FOLLOWERD" ] || skip_all "followerd not built"
[ -x "$LEADERCTL" ] || skip_all "leaderctl not built"
[ -x "$TOOLS/storedump" ] || skip_all "storedump not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
command -v jq >/dev/null || skip_all "jq not installed"

STATE=$T/state
STORE=$STATE/state.db
FLOG=$T/followerd.log
CONF=$T/followerd.conf
FOLLOWER_NAME=f-test

# lc TARGET CMD...: leaderctl on a leader.
lc() { "$LEADERCTL" -C "$1" "${@:2}"; }

# q SQL: one read-only query of the follower's store.
q() { sqlite3 -readonly "$STORE" "$1" 2>/dev/null; }

# daemon_conf [EXTRA...]: the [daemon] section, polling every 200 ms.
daemon_conf() {
	printf '[daemon]\nstate_dir = %s\ncache_dir = %s\npoll_interval = 200ms\n' \
		"$STATE" "$T/cache"
	printf 'follower_name = %s\nlog_level = info\n' "$FOLLOWER_NAME"
	# never the defaults (127.0.0.1:8080, /run/followerd/admin.sock): tests
	# and other followerd processes on this machine must not collide
	case " $* " in *"listen ="*) ;; *) printf 'listen = 127.0.0.1:0\n' ;; esac
	case " $* " in *"admin_socket ="*) ;; *) printf 'admin_socket = %s\n' "$T/admin.sock" ;; esac
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo
}

# attach_conf NAME LEADER DATABASE [KEY = VALUE...]
attach_conf() {
	printf '[attach "%s"]\nleader = %s\ndatabase = %s\n' "$1" "$2" "$3"
	shift 3
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo
}

# start_follower: followerd on $CONF in the background, stderr to $FLOG.
start_follower() {
	bg "$FOLLOWERD" -c "$CONF"
	FPID=$BG_PID
} 2>>"$FLOG"

stop_follower() {
	kill -TERM "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	FRC=$?
}

# reload: SIGHUP, then wait until the daemon logged the reload.
reload() {
	local n
	n=$(grep -c 'configuration reloaded\|configuration rejected' "$FLOG")
	kill -HUP "$FPID"
	until_ok 10 log_count_above "$n" 'configuration reloaded\|configuration rejected'
}
log_count_above() { [ "$(grep -c "$2" "$FLOG")" -gt "$1" ]; }

# until_ok SECONDS CMD...: poll CMD every 50 ms until it succeeds.
until_ok() {
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# wait_for DESC SECONDS CMD...: ok when CMD succeeds before the deadline.
wait_for() {
	local desc=$1 secs=$2
	shift 2
	if until_ok "$secs" "$@"; then ok "$desc"; else
		not_ok "$desc"
		"$@" >"$T/last.out" 2>&1
		sed 's/^/# /' "$T/last.out" | head -20
		diag "followerd log tail:"
		tail -15 "$FLOG" | sed 's/^/# /'
	fi
}

# applied CONFIG: the applied version the store holds ("" when none).
applied() { q "SELECT applied_version FROM databases WHERE config = '$1'"; }

# leader_version TARGET DB
leader_version() { lc "$1" show "$2" --json | jq -r '.database.version'; }

# at_version CONFIG TARGET DB: the store applied the leader's version.
at_version() { [ "$(applied "$1")" = "$(leader_version "$2" "$3")" ]; }

# One record per line and per extent, keys sorted: comparable as text.
norm() {
	jq -cS 'if .op == "add_extents" then .extents[] as $e | .extents = [$e] else . end' | sort
}

# same_as_leader CONFIG TARGET DB: at the leader's version, holding exactly
# the leader's state (entities, columns, policies, principals, extents).
same_as_leader() {
	at_version "$1" "$2" "$3" || { echo "store at $(applied "$1"), leader at $(leader_version "$2" "$3")"; return 1; }
	diff <("$TOOLS/storedump" "$STORE" dump "$1" | norm) <(lc "$2" dump "$3" | norm) >"$T/diff.out"
	local rc=$?
	[ $rc -eq 0 ] || head -20 "$T/diff.out"
	return $rc
}

# history CONFIG: storedump's history lines.
history() { "$TOOLS/storedump" "$STORE" history "$1"; }

# in_store CONFIG: the store follows CONFIG.
in_store() { [ -n "$(q "SELECT 1 FROM databases WHERE config = '$1'")" ]; }
not_in_store() { ! in_store "$1"; }

# ingest TARGET DB TABLE NAME: one small extent; prints its id.
ingest() {
	printf '%s,%s\n' "$4" "$RANDOM" >"$T/$4.csv"
	lc "$1" ingest "$2" "$3" "$T/$4.csv"
}

# The Kusto SDK tests' daemon (tests/e2e/kql_*.sh, query_*.sh): PORT and URL
# of a free loopback port, bearer tokens tok-NAME for aaduser=NAME@x, the
# daemon started and listening, the query store's loaded extents.
sdk_port() {
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
}

# token_sha TOKEN: what a tokens_file line holds for TOKEN.
token_sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# write_tokens FILE NAME...: a tokens_file giving aaduser=NAME@x the token tok-NAME.
write_tokens() {
	local f=$1 p
	shift
	for p; do echo "aaduser=$p@x $(token_sha "tok-$p")"; done >"$f"
	chmod 600 "$f"
}

# start_listening: start_follower, then PORT answers (the log's tail and
# exit when it does not within 10 s).
start_listening() {
	start_follower
	wait_port "$PORT" 10 || { diag "followerd did not listen"; tail -20 "$FLOG"; exit 1; }
}

# loaded_extents DB TABLE [TOKEN]: how many of TABLE's extents the query
# store has loaded (as TOKEN sees them: tok-viewer by default, "" anonymous).
loaded_extents() {
	local tok=${3-tok-viewer}
	curl -s ${tok:+-H "Authorization: Bearer $tok"} "$URL/v1/databases/$1/extents?table=$2" |
		jq '[.extents[] | select(.query.state == "loaded")] | length'
}
