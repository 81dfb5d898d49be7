# Helpers the benchmarks source (run.sh does not run this file).

# bench_port: a free TCP port on 127.0.0.1.
bench_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_nginx DIR ROOT PORT WORKERS [DIRECTIVE...]: writes DIR/nginx.conf for
# nginx serving ROOT on 127.0.0.1:PORT with WORKERS workers (its logs and
# temporary files under DIR), each DIRECTIVE a line of its http block, and
# runs nginx in the foreground: start it with & and kill it when done.
bench_nginx() {
	local dir=$1 root=$2 port=$3 workers=$4 d
	shift 4
	mkdir -p "$dir/tmp"
	{
		printf 'daemon off;\nworker_processes %s;\nerror_log %s/error.log;\npid %s/nginx.pid;\n' \
			"$workers" "$dir" "$dir"
		printf 'events { worker_connections 1024; }\nhttp {\n\taccess_log off;\n'
		for d in client_body proxy fastcgi uwsgi scgi; do
			printf '\t%s_temp_path %s/tmp;\n' "$d" "$dir"
		done
		for d in "$@"; do printf '\t%s;\n' "$d"; done
		printf '\tserver { listen 127.0.0.1:%s; root %s; location / { } }\n}\n' "$port" "$root"
	} >"$dir/nginx.conf"
	exec nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1
}

# ---- the query benchmarks (qload.sh, query.sh) ----

# bench_free_kb DIR NEED_KB WHAT: fails, saying so, when DIR's file system
# has less than NEED_KB free.
bench_free_kb() {
	local avail
	avail=$(df -Pk "$1" | awk 'NR == 2 { print $4 }')
	[ "$avail" -ge "$2" ] && return 0
	echo "$3: $1 has $((avail / 1024)) MiB free, needs ~$(($2 / 1024)) MiB" >&2
	return 1
}

# bench_duckdb: the peers' DuckDB (npm @duckdb/node-api under peers/),
# installed by npm ci the first time.
bench_duckdb() {
	local peers
	peers=$(dirname "${BASH_SOURCE[0]}")/peers
	[ -d "$peers/node_modules/@duckdb/node-api" ] ||
		(cd "$peers" && npm ci --no-audit --no-fund --loglevel=error) >&2
}

# bench_workdir NAME: a new work directory under $BASE into W, with
# leaderctl's state cache and SQLite's temporary files (sorts, DISTINCT)
# in it, on the same tmpfs, for followerd and the sqlite3 CLI alike (their
# default is /var/tmp).
bench_workdir() {
	W=$(mktemp -d "$BASE/$1.XXXXXX") || return 1
	export LEADERCTL_STATE_CACHE=$W/leaderctl-state
	export SQLITE_TMPDIR=$W/sqlite-tmp
	mkdir -p "$SQLITE_TMPDIR"
}

# bench_leader DIR ROWS EXTENTS [--gzip]: a new leader in DIR with database
# Logs, table T0000 of ROWS generated log-like rows (leaderctl generate:
# Timestamp, Level, Host, Service, Latency, Message, Code, Props) in EXTENTS
# extents of CSV (gzip with --gzip).  Prints generate's wall seconds.
bench_leader() {
	local dir=$1 rows=$2 extents=$3 t0 t1
	mkdir -p "$dir"
	"$LEADERCTL" -C "$dir" init >/dev/null || return 1
	t0=$(date +%s.%N)
	"$LEADERCTL" -C "$dir" generate Logs --tables 1 --extents "$extents" \
		--rows $((rows / extents)) "${@:4}" >/dev/null || return 1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
}

# bench_artifacts LEADER TABLE: "path sha256" of each artifact of TABLE's
# extents in database Logs, in the leader's order.
bench_artifacts() {
	"$LEADERCTL" -C "$1" dump Logs | jq -r --arg t "$2" --arg d "$1" \
		'select(.op == "add_extents") | .extents[] | select(.table == $t) |
		 .artifacts[] | "\($d)/\(.path) \(.sha256)"'
}

# bench_follower_conf DIR PORT LEADER POLL: a followerd.conf following
# database Logs of LEADER, everything under DIR (state, cache on the same
# file system), anonymous queries, every extent hot; long request timeout
# so that a slow query is measured rather than cut.
bench_follower_conf() {
	cat <<EOF2
[daemon]
state_dir = $1/state
cache_dir = $1/cache
listen = 127.0.0.1:$2
admin_socket = $1/admin.sock
poll_interval = $4
allow_anonymous = true
log_level = notice
min_free_space = 256M
request_timeout = 30m
[attach "logs"]
leader = $3
database = Logs
hot_window = 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z
EOF2
}

# bench_qrows URL TABLE: the rows followerd's query store holds for TABLE
# (its /metrics).
bench_qrows() {
	curl -s -m 5 "$1/metrics" | awk -v t="table=\"$2\"" \
		'/^followerd_query_rows\{/ && index($0, t) { n += $2 } END { print n + 0 }'
}

# bench_qbytes URL: the query store's bytes, every table (its /metrics).
bench_qbytes() {
	curl -s -m 5 "$1/metrics" | awk '/^followerd_query_bytes\{/ { n += $2 } END { print n + 0 }'
}

# bench_until SECONDS CMD...: runs CMD every 0.1 s until it succeeds; 1 at
# the deadline.
bench_until() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# bench_fd_start [MIN_ROWS]: followerd on $W/f/f.conf, its pid in FPID,
# until $URL answers; MIN_ROWS, FOLLOWERD_TEST_PAR_MIN_ROWS (above the
# tables' rows: scans whole, on one thread).  bench_fd_stop: stops it.
bench_fd_start() {
	FOLLOWERD_TEST_PAR_MIN_ROWS=${1:-} "$BUILD/followerd" -c "$W/f/f.conf" 2>>"$W/f/f.log" &
	FPID=$!
	bench_until 30 curl -s -f -o /dev/null "$URL/healthz"
}
bench_fd_stop() { kill "$FPID"; wait "$FPID" 2>/dev/null || true; FPID=''; }

# bench_median1: the median of the numbers on stdin, one decimal ("-": none)
bench_median1() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else printf "%.1f", v[int((NR + 1) / 2)] }'; }

# bench_kql URL CSL OUT: one KQL query (database Logs) over POST
# /v2/rest/query with a curl process of its own (a new connection); the
# answer into OUT; prints "HTTP_CODE SECONDS".
bench_kql() {
	jq -n --arg c "$2" '{db: "Logs", csl: $c}' |
		curl -s -m 1800 -o "$3" -w '%{http_code} %{time_total}\n' -X POST \
			-H 'Content-Type: application/json' --data-binary @- "$1/v2/rest/query"
}

# bench_kql_kept URL CSL N BODY OUT: N + 1 KQL queries (database Logs)
# over POST /v2/rest/query from one curl process that keeps its connection
# alive between them (--next), as the Kusto SDKs do (the Node SDK's
# keep-alive agent).  BODY: a file for the request; the first answer into
# OUT (the first query opens the connection: time it apart).  Prints
# "HTTP_CODE SECONDS CONNECTS" for each query, one a line (CONNECTS: the
# connections curl opened for it, 0 when it went over the kept one).
bench_kql_kept() {
	local a=() i
	jq -n --arg c "$2" '{db: "Logs", csl: $c}' >"$4"
	for ((i = 0; i <= $3; i++)); do
		[ "$i" -eq 0 ] || a+=(--next)
		a+=(-s -m 1800 -o "$([ "$i" -eq 0 ] && echo "$5" || echo /dev/null)" -X POST
			-H 'Content-Type: application/json' --data-binary "@$4"
			-w '%{http_code} %{time_total} %{num_connects}\n' "$1/v2/rest/query")
	done
	curl "${a[@]}"
}

# bench_kql_rows OUT: "ROWS SUM" of a v2 answer's first primary table (SUM:
# of its last column's numbers), or "error: MESSAGE".
bench_kql_rows() {
	jq -r '[.[] | select(.FrameType == "DataSetCompletion")][0] as $c |
		if ($c.HasErrors // false) then "error: \($c.OneApiErrors // [] | tostring | .[0:300])"
		else [.[] | select(.TableKind == "PrimaryResult")][0].Rows |
			"\(length) \(map(.[-1] | numbers) | add // 0)" end' "$1" 2>/dev/null ||
		echo "error: $(head -c 300 "$1")"
}

# bench_clickhouse DIR HTTP_PORT TCP_PORT: writes DIR/config.xml and
# DIR/users.xml for clickhouse-server (Debian's 18.16) keeping everything
# under DIR, listening on 127.0.0.1 only, UTC, 2 threads per query, and runs
# it in the foreground as the current user: start it with & and kill it.
bench_clickhouse() {
	local dir=$1
	mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
	cat >"$dir/config.xml" <<EOF2
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/server.err.log</errorlog><size>100M</size><count>1</count></logger>
  <http_port>$2</http_port>
  <tcp_port>$3</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_concurrent_queries>16</max_concurrent_queries>
  <mark_cache_size>1073741824</mark_cache_size>
  <uncompressed_cache_size>1073741824</uncompressed_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
EOF2
	cat >"$dir/users.xml" <<'EOF2'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_threads>2</max_threads><max_memory_usage>8000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF2
	exec clickhouse-server --config-file="$dir/config.xml" >"$dir/stdout.log" 2>&1
}
