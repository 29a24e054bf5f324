# Shared by the relay benchmarks (sourced from the build directory).

# bench_relay_conf FILE PID METRICS TLS RELAY_PORT [relay lines...]: a
# natserver config with one relay worker on 127.0.0.1:RELAY_PORT and no
# other workers; its token file and TLS directory beside FILE.
bench_relay_conf() {
	local f=$1 pid=$2 metrics=$3 tls=$4 relay=$5 dir
	dir=$(dirname "$1")
	shift 5
	{
		printf '[server]\npidfile = %s\nmetrics_listen = %s\n' "$pid" "$metrics"
		printf 'tls = %s\ntls_dir = %s\n' "$tls" "$dir/tls"
		printf '[tracker]\nworkers = 0\n[rendezvous]\nworkers = 0\n'
		printf '[relay]\nlisten = 127.0.0.1:%s\nworkers = 1\n' "$relay"
		printf 'token_file = %s\n' "$dir/token"
		printf '%s\n' "$@"
	} >"$f"
}

# bench_responder FILE PORT: a haproxy config that answers every HTTP
# request on 127.0.0.1:PORT itself ("hello"), the benchmarks' service.
bench_responder() {
	cat >"$1" <<CFG
global
    maxconn 8000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend web
    bind 127.0.0.1:$2
    http-request return status 200 content-type text/plain string "hello"
CFG
}

# bench_start DIR MODE HOP WEB ROUTE: start the responder (DIR/web.cfg,
# from bench_responder), one haproxy hop in MODE (tcp, or http keeping
# connections alive) on 127.0.0.1:HOP to the responder on WEB, ROUTE
# the hop's line that picks backend "web", and natserver with DIR/conf
# (its log DIR/log); all in the background of the caller.
bench_start() {
	local dir=$1 mode=$2 hop=$3 web=$4 route=$5
	{
		printf 'global\n    maxconn 8000\ndefaults\n    mode %s\n' "$mode"
		[ "$mode" = http ] && printf '    option http-keep-alive\n'
		printf '    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n'
		printf 'frontend hop\n    bind 127.0.0.1:%s\n    %s\n' "$hop" "$route"
		printf 'backend web\n    server web 127.0.0.1:%s\n' "$web"
	} >"$dir/hop.cfg"
	haproxy -q -f "$dir/web.cfg" &
	haproxy -q -f "$dir/hop.cfg" &
	server/natserver -c "$dir/conf" -d >"$dir/log" 2>&1 &
	sleep 1
}

# natclient's flag for MUX=yes: all visitors over one data connection.
bench_mux() {
	[ "${MUX:-no}" = yes ] && echo --mux
	return 0
}

# With MUX=yes, a moment for the relay to ask for the data connection
# and the agent to open it, so that no visitor is measured before.
bench_mux_wait() {
	[ "${MUX:-no}" = yes ] && sleep 2
	return 0
}
