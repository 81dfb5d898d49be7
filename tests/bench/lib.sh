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
