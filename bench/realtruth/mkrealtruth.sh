#!/usr/bin/env bash
# mkrealtruth.sh — the truth harness's test set from real server software:
# nginx, haproxy and redis, and apache2, memcached, PostgreSQL and pgbouncer
# (the Debian packages) in one network namespace,
# driven from another by real clients (curl, redis-cli) and by a Go driver
# that speaks their protocols (HTTP/1.1 keep-alive and pipelining, RESP),
# captured with tcpdump, with the kernel's own reason for every reset.
#
#   bench/realtruth/mkrealtruth.sh [-o DIR] [-n SCALE] [-k KINDS] [-s SEED]
#
#   -o DIR    output directory (default bench/out/realtruth; gitignored)
#   -n SCALE  connections per unit of a kind's weight (default 100: ≈ 3 000 connections);
#             bench/realtruth/README.md lists the kinds and their weights
#   -k KINDS  comma-separated kinds to run (default: all but the client-software kinds;
#             "clients" names those: chromium, wget, ab, h2load, python3)
#   -s SEED   the driver's seed (order, jitter)
#
# DIR receives the files bench/mktruth.sh makes, so the same scorer reads it:
#   capture.pcap   tcpdump -s 128 on the client's veth end
#   scenarios.tsv  one line per connection: client server kind family start
#   kernel.tsv     every tcp:tcp_send_reset / tcp_receive_reset of the run's addresses
#                  (bench/truth/cmd/truthtrace, a private tracefs instance)
#   run.txt        the plan, the driver's per-kind counts, tcpdump's and the tracer's counts
#   servers/       the servers' configurations and logs
# Score it with: go run ./bench/truth/cmd/truthscore DIR
#
# Addresses, with M = PID mod 200 so that runs side by side do not share them (the
# tracepoints are global): client 10.250.M.1 / fd7a:M::1, server 10.250.M.2 / fd7a:M::2,
# on a veth pair between namespaces realsw-cli-PID and realsw-srv-PID. Both are removed on exit,
# with every server this script started.
# The hbproxy-* kinds (driver/hbproxy.go) start an haproxy in the client's namespace and an nginx
# of its own in the server's, only when planned; the cleanup below kills them with the rest.
# Needs root, iproute2, nft, tcpdump, nginx, haproxy, redis-server, redis-cli, curl, Go; and for
# the wider set's kinds (apache-*, memcached-*, postgres-*, pgbouncer-*, varnish-*), started only
# when one of theirs is planned: apache2, memcached, postgresql, pgbouncer, varnish.
set -euo pipefail

OUT=
SCALE=100
KINDS=
SEED=1
while getopts "o:n:k:s:h" opt; do
	case $opt in
	o) OUT=$(realpath -m -- "$OPTARG") ;;
	n) SCALE=$OPTARG ;;
	k) KINDS=$OPTARG ;;
	s) SEED=$OPTARG ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/bench/out/realtruth}
[[ $SCALE =~ ^[0-9]+$ && $SCALE -ge 1 ]] || { echo "mkrealtruth: -n must be a number ≥ 1" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "mkrealtruth: needs root (network namespaces, tcpdump, tracefs)" >&2; exit 1; }
for t in ip nft tcpdump nginx haproxy redis-server redis-cli curl go; do
	command -v $t >/dev/null || { echo "mkrealtruth: $t not found (scripts/setup.sh installs it)" >&2; exit 1; }
done
# The client-software kinds (driver/clients.go, browser.go) run only when named: -k clients
# runs them all (≈ 4 min: chromium, wget, ab, h2load, python3, on a second nginx the driver
# starts), -k chromium-page-load,… some.
if [[ ,$KINDS, =~ ,(clients|chromium-|wget-|ab-|python-|h2load-) ]]; then
	for t in chromium wget ab h2load /usr/bin/python3 openssl; do
		command -v $t >/dev/null || { echo "mkrealtruth: $t not found (scripts/setup.sh installs it)" >&2; exit 1; }
	done
fi
mkdir -p "$OUT" bench/out
rm -rf "$OUT/servers"
SRVDIR=$OUT/servers
mkdir -p "$SRVDIR/html" "$SRVDIR/tmp"

BIN=$(mktemp -d /tmp/mkrealtruth.XXXXXX)
DRIVER=$BIN/realdriver TRACE=$BIN/truthtrace
go build -o "$DRIVER" ./bench/realtruth/driver || { rm -rf "$BIN"; exit 1; }
go build -o "$TRACE" ./bench/truth/cmd/truthtrace || { rm -rf "$BIN"; exit 1; }

ID=$$
M=$((ID % 200))
P4=10.250.$M P6=fd7a:$M
C4=$P4.1 S4=$P4.2 C6=$P6::1 S6=$P6::2
NSS=realsw-srv-$ID NSC=realsw-cli-$ID
VC=rsc$ID VS=rss$ID
DUMPLOG=$OUT/tcpdump.log TRACELOG=$OUT/truthtrace.log
DUMPPID= TRACEPID=
TMPDIRS=()
cleanup() {
	[[ -n $TRACEPID ]] && kill "$TRACEPID" 2>/dev/null || true
	[[ -n $DUMPPID ]] && kill "$DUMPPID" 2>/dev/null || true
	# Every process left in the server's namespace is one of ours (nginx, haproxy, redis).
	for p in $(ip netns pids "$NSS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	for p in $(ip netns pids "$NSC" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	# The temporary directories (postgres' clusters, varnish's): their logs are kept with the others.
	for d in "${TMPDIRS[@]}"; do
		cp "$d"/*.log "$SRVDIR/" 2>/dev/null || true
		rm -rf "$d"
	done
	rm -rf "$BIN" "$SRVDIR/html" "$SRVDIR/tmp" "$SRVDIR"/apache-[0-9]*[0-9]
}
trap cleanup EXIT
trap 'echo "mkrealtruth: interrupted; cleaning up" >&2; exit 130' INT TERM

ip netns add "$NSS"
ip netns add "$NSC"
ip link add "$VC" netns "$NSC" type veth peer name "$VS" netns "$NSS"
for pair in "$NSC $VC $C4 $C6" "$NSS $VS $S4 $S6"; do
	set -- $pair
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" gso_max_segs 1 up
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" addr add "$4/64" dev "$2" nodad
done
# curl binds ports 1024-9999 itself (--local-port, so the scenario log has its 4-tuple);
# the kernel's ephemeral range starts above them. TIME-WAIT ports are reused.
ip netns exec "$NSC" sysctl -qw net.ipv4.ip_local_port_range="10000 65535" net.ipv4.tcp_tw_reuse=1
# haproxy's abortonclose frontend forwards to a backend that never answers: its SYNs are
# dropped (nothing listens on 9999 either), so the request waits in haproxy for the client.
ip netns exec "$NSS" nft -f - <<'NFT'
table inet realsw {
	chain out {
		type filter hook output priority 0;
		tcp dport 9999 drop
	}
}
NFT

# The content: a small page, a 16 MiB file (more than the socket buffers hold, so a client
# that stops reading stalls the server's send), and a 1 KiB body limit (the 413s).
head -c 512 /dev/zero | tr '\0' 'a' >"$SRVDIR/html/small"
head -c $((16 << 20)) /dev/zero >"$SRVDIR/html/big"

cat >"$SRVDIR/nginx.conf" <<NGX
worker_processes 1;
error_log $SRVDIR/nginx-error.log info;
pid $SRVDIR/nginx.pid;
user root;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $SRVDIR/tmp;
    root $SRVDIR/html;
    client_max_body_size 1k;
    keepalive_timeout 1s;
    # 8080: the defaults (lingering_close on) with a 1 s keep-alive.
    server { listen $S4:8080 backlog=4096; listen [$S6]:8080 backlog=4096; }
    # 8081: lingering_close off — a refused upload's body is left unread at close.
    server { listen $S4:8081; listen [$S6]:8081; lingering_close off; }
    # 8082: keepalive_requests 1 — one answer per connection, pipelined requests unanswered.
    server { listen $S4:8082; listen [$S6]:8082; keepalive_requests 1; }
    # 8083: reset_timedout_connection — timed-out clients are closed with SO_LINGER 0.
    server { listen $S4:8083; listen [$S6]:8083; reset_timedout_connection on;
             send_timeout 1s; client_header_timeout 1s; client_body_timeout 1s; }
    # 8084: keepalive_requests 1 and lingering_close off — pipelined requests past nginx's
    # header buffer are left unread at the close after the first answer.
    server { listen $S4:8084; listen [$S6]:8084; keepalive_requests 1; lingering_close off; }
}
NGX

cat >"$SRVDIR/haproxy.cfg" <<HAP
global
    log stdout format raw local0 notice
    maxconn 8000
defaults
    log global
    mode http
    option httplog
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout http-request 10s
backend nginx
    server n1 $S4:8080
# Backends that never answer (their SYNs are dropped): one that lets a client's close abort
# the waiting request (option abortonclose), one that gives up fast (timeouts of 500 ms).
backend blackhole_abort
    option abortonclose
    server b1 $S4:9999
backend blackhole_fast
    timeout connect 500ms
    timeout server 500ms
    server b2 $S4:9999
# 8090: timeout http-request 500ms — a client slow to send its headers gets 408.
frontend http_request_timeout
    bind $S4:8090
    bind [$S6]:8090
    timeout http-request 500ms
    default_backend nginx
# 8091: timeout client 500ms — a client that stops reading is dropped.
frontend client_timeout
    bind $S4:8091
    bind [$S6]:8091
    timeout client 500ms
    default_backend nginx
# 8092: option abortonclose — a client that gives up on a request still waiting for its
# server (here one that never answers) aborts it.
frontend abortonclose
    bind $S4:8092
    bind [$S6]:8092
    default_backend blackhole_abort
# 8093: tcp-request connection reject — refused right after the handshake.
frontend reject
    bind $S4:8093
    bind [$S6]:8093
    tcp-request connection reject
    default_backend nginx
# 8094: http-request silent-drop — the connection is dropped without telling the client.
frontend silent_drop
    bind $S4:8094
    bind [$S6]:8094
    http-request silent-drop
    default_backend nginx
# 8095: timeout connect/server 500ms — haproxy answers 503 when the server does not.
frontend server_timeout
    bind $S4:8095
    bind [$S6]:8095
    default_backend blackhole_fast
# 8096: http-request deny with option nolinger — a 403, then an abortive close (SO_LINGER 0)
# with the request read: an error reply that is not an unread close.
frontend deny_nolinger
    bind $S4:8096
    bind [$S6]:8096
    option nolinger
    http-request deny deny_status 403
    default_backend nginx
# 8097: option nolinger in front of nginx — a 200, then an abortive close (SO_LINGER 0) once
# the response is sent to a client that asked for Connection: close.
frontend nolinger
    bind $S4:8097
    bind [$S6]:8097
    option nolinger
    default_backend nginx
HAP

# redis: 6379 with timeout 1; 6380 with maxclients 1; 6381 for CLIENT KILL; 6382 the one
# that is stopped and killed with connections queued, and restarted.
redis_conf() { # port extra...
	local port=$1; shift
	cat >"$SRVDIR/redis-$port.conf" <<RDS
bind $S4 $S6
port $port
protected-mode no
daemonize no
save ""
appendonly no
dir $SRVDIR
logfile $SRVDIR/redis-$port.log
tcp-backlog 4096
pidfile $SRVDIR/redis-$port.pid
$(printf '%s\n' "$@")
RDS
}
redis_conf 6379 "timeout 1"
redis_conf 6380 "maxclients 1"
redis_conf 6381
redis_conf 6382
ip netns exec "$NSS" sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=4096

# The software added for the wider test set (apache2, memcached, postgresql) is started only when
# a kind of it is in the plan (all kinds, or -k naming one), so the root test's subset needs none
# of it. wants SOFTWARE says whether the plan has a kind of SOFTWARE.
wants() { [[ -z $KINDS || ,$KINDS, == *,$1-* ]]; }
NEWSRV=0 # listening sockets the new servers add (both families)
APACHE_INST=()
if wants apache; then
	command -v apache2 >/dev/null || { echo "mkrealtruth: apache2 not found (scripts/setup.sh installs it)" >&2; exit 1; }
	# Three instances of apache2 2.4 with mpm_event, each its own ServerRoot: 8180 for the
	# timeouts and limits, 8181 reloaded (graceful) and 8182 stopped (graceful-stop) by the driver.
	# The workers run as www-data; the content is world-readable.
	chmod 755 "$SRVDIR" "$SRVDIR/html"
	chmod 644 "$SRVDIR/html/small" "$SRVDIR/html/big"
	apache_conf() { # port extra...
		local port=$1; shift
		mkdir -p "$SRVDIR/apache-$port"
		cat >"$SRVDIR/apache-$port.conf" <<APA
ServerRoot /etc/apache2
DefaultRuntimeDir $SRVDIR/apache-$port
PidFile $SRVDIR/apache-$port.pid
Mutex file:$SRVDIR/apache-$port default
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so
User www-data
Group www-data
ServerName realtruth
Listen $S4:$port
Listen [$S6]:$port
ListenBacklog 4096
ErrorLog $SRVDIR/apache-$port-error.log
LogLevel info
DocumentRoot $SRVDIR/html
<Directory $SRVDIR/html>
    Require all granted
</Directory>
StartServers 1
ServerLimit 4
ThreadsPerChild 64
MaxRequestWorkers 256
$(printf '%s\n' "$@")
APA
		APACHE_INST+=("$port")
	}
	# 8180: KeepAliveTimeout 1, LimitRequestBody 1k, LimitRequestLine 512, mod_reqtimeout's
	# header and body reads limited to 1 s (408).
	apache_conf 8180 "KeepAlive On" "KeepAliveTimeout 1" "LimitRequestBody 1024" "LimitRequestLine 512" \
		"RequestReadTimeout header=1 body=1" "Timeout 5"
	# 8181: reloaded with apachectl -k graceful while clients hold idle keep-alive connections.
	apache_conf 8181 "KeepAlive On" "KeepAliveTimeout 10"
	# 8182: stopped with apachectl -k graceful-stop (GracefulShutdownTimeout 1) while downloads
	# stall, then started again.
	apache_conf 8182 "KeepAlive On" "KeepAliveTimeout 10" "GracefulShutdownTimeout 1" "Timeout 10"
	for port in "${APACHE_INST[@]}"; do
		# ctl-apache-PORT ARGS: apache2 -k ARGS for that instance, in the server's namespace.
		cat >"$SRVDIR/ctl-apache-$port" <<CTL
#!/bin/sh
exec ip netns exec $NSS apache2 -f $SRVDIR/apache-$port.conf -k "\$@"
CTL
		chmod +x "$SRVDIR/ctl-apache-$port"
		"$SRVDIR/ctl-apache-$port" start >"$SRVDIR/apache-$port.out" 2>&1
		NEWSRV=$((NEWSRV + 2))
	done
fi
if wants varnish; then
	command -v varnishd >/dev/null || { echo "mkrealtruth: varnishd not found (scripts/setup.sh installs it)" >&2; exit 1; }
	# varnish 7.1 on 8280 (timeout_idle 1 s), passing every request to a second nginx of its
	# own on 8281 (one process, limit_rate 2m: 16 MiB take 8 s), which the driver kills (SIGKILL)
	# in the middle of responses and starts again. varnishd's working directory is temporary.
	VTMP=$(mktemp -d /tmp/mkrealtruth-varnish.XXXXXX)
	chmod 755 "$VTMP" # its VCL compiler runs as the vcache user
	TMPDIRS+=("$VTMP")
	cat >"$SRVDIR/nginx-backend.conf" <<NGB
master_process off;
daemon off;
error_log $SRVDIR/nginx-backend-error.log info;
pid $SRVDIR/nginx-backend.pid;
user root;
events { worker_connections 1024; }
http {
    access_log off;
    root $SRVDIR/html;
    server { listen $S4:8281; limit_rate 2m; }
}
NGB
	cat >"$SRVDIR/ctl-nginx-backend" <<CTL
#!/bin/sh
# ctl-nginx-backend start|kill: the backend varnish passes to, in the server's namespace.
case \$1 in
start) ip netns exec $NSS nginx -c $SRVDIR/nginx-backend.conf >>$SRVDIR/nginx-backend.out 2>&1 &
	for i in \$(seq 250); do [ \$(ip netns exec $NSS ss -Htln "sport = :8281" | wc -l) -ge 1 ] && exit 0; sleep 0.02; done; exit 1 ;;
kill) kill -9 \$(cat $SRVDIR/nginx-backend.pid) || exit 1
	for i in \$(seq 250); do [ \$(ip netns exec $NSS ss -Htln "sport = :8281" | wc -l) -eq 0 ] && exit 0; sleep 0.02; done; exit 1 ;;
esac
CTL
	chmod +x "$SRVDIR/ctl-nginx-backend"
	"$SRVDIR/ctl-nginx-backend" start
	cat >"$SRVDIR/varnish.vcl" <<VCL
vcl 4.1;
backend slow {
    .host = "$S4";
    .port = "8281";
    .first_byte_timeout = 5s;
    .between_bytes_timeout = 2s;
}
sub vcl_recv { return (pass); }
VCL
	(ip netns exec "$NSS" varnishd -F -n "$VTMP" -a "$S4:8280" -a "[$S6]:8280" -T 127.0.0.1:0 \
		-f "$SRVDIR/varnish.vcl" -s malloc,64m -p timeout_idle=1 >"$SRVDIR/varnish.log" 2>&1 &)
	NEWSRV=$((NEWSRV + 3 + 1))
fi
if wants memcached; then
	command -v memcached >/dev/null || { echo "mkrealtruth: memcached not found (scripts/setup.sh installs it)" >&2; exit 1; }
	# memcached 1.6: 11211 with -o idle_timeout=1; 11212 with -t 1 -c 20, which leaves 7 client
	# slots (its own descriptors count; -c 12 leaves none and it stops accepting) — the driver
	# holds them, and maxconns_fast answers the next "ERROR Too many open connections" and closes;
	# 11213 plain; 11214 killed (SIGKILL) and started again by the driver; 11215 stopped
	# (SIGSTOP: hung) with connections queued for 1.5–2.5 s, then killed and started again;
	# 11216 killed while clients stream noreply sets into it, and started again.
	memcached_ctl() { # port args...
		local port=$1; shift
		cat >"$SRVDIR/ctl-memcached-$port" <<CTL
#!/bin/sh
# ctl-memcached-$port start|kill
case \$1 in
start) ip netns exec $NSS memcached -u nobody -l $S4,[$S6] -p $port -U 0 -P $SRVDIR/memcached/$port.pid $* >>$SRVDIR/memcached-$port.log 2>&1 &
	# Ready when both its sockets listen (it writes the pid file before it binds them: a
	# first full run's clients connected in between and were refused).
	for i in \$(seq 250); do [ \$(ip netns exec $NSS ss -Htln "sport = :$port" | wc -l) -ge 2 ] && exit 0; sleep 0.02; done; exit 1 ;;
# Done when its sockets are gone (SIGKILL is asynchronous: a start too soon fails to bind and
# leaves the port closed, as a full run's seed 2 had a round of connects refused).
kill) kill -9 \$(cat $SRVDIR/memcached/$port.pid) && rm -f $SRVDIR/memcached/$port.pid || exit 1
	for i in \$(seq 250); do [ \$(ip netns exec $NSS ss -Htln "sport = :$port" | wc -l) -eq 0 ] && exit 0; sleep 0.02; done; exit 1 ;;
esac
CTL
		chmod +x "$SRVDIR/ctl-memcached-$port"
		"$SRVDIR/ctl-memcached-$port" start
		NEWSRV=$((NEWSRV + 2))
	}
	# It writes its pid file after dropping privileges (to nobody).
	mkdir -p "$SRVDIR/memcached" && chown nobody "$SRVDIR/memcached"
	memcached_ctl 11211 -o idle_timeout=1 -vv
	memcached_ctl 11212 -t 1 -c 20 -vv
	memcached_ctl 11213 -vv
	memcached_ctl 11214
	memcached_ctl 11215
	memcached_ctl 11216
fi
if wants postgres || wants pgbouncer; then
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[[ -x $PGBIN/initdb ]] || { echo "mkrealtruth: postgresql not found (scripts/setup.sh installs it)" >&2; exit 1; }
	# PostgreSQL: 5432 (idle_session_timeout for role idler, authentication_timeout 1s with a
	# SCRAM password for role slow, pg_terminate_backend, COPY into a table whose trigger
	# discards the rows), 5433 (a copy of it, stopped with pg_ctl stop -m fast while clients
	# are connected, then started again) and 5434 (another, whose backend the driver kills:
	# the postmaster ends every session and restarts, restart_after_crash). The clusters live in a temporary directory owned by
	# postgres (initdb as that user), removed on exit.
	PGTMP=$(mktemp -d /tmp/mkrealtruth-pg.XXXXXX)
	TMPDIRS+=("$PGTMP")
	chown postgres: "$PGTMP"
	runuser -u postgres -- "$PGBIN/initdb" -D "$PGTMP/5432" -A trust -U postgres --no-sync >"$SRVDIR/postgres-initdb.log" 2>&1 ||
		{ echo "mkrealtruth: initdb failed: $(tail -3 "$SRVDIR/postgres-initdb.log")" >&2; exit 1; }
	cat >>"$PGTMP/5432/postgresql.conf" <<PGC
listen_addresses = '$S4,$S6'
unix_socket_directories = '$PGTMP'
authentication_timeout = 1s
max_connections = 300
fsync = off
synchronous_commit = off
log_connections = on
log_disconnections = on
password_encryption = 'scram-sha-256'
PGC
	cat >"$PGTMP/5432/pg_hba.conf" <<HBA
local all all trust
host all slow 0.0.0.0/0 scram-sha-256
host all slow ::/0 scram-sha-256
host all all 0.0.0.0/0 trust
host all all ::/0 trust
HBA
	runuser -u postgres -- cp -a "$PGTMP/5432" "$PGTMP/5433"
	runuser -u postgres -- cp -a "$PGTMP/5432" "$PGTMP/5434"
	for port in 5432 5433 5434; do
		cat >"$SRVDIR/ctl-postgres-$port" <<CTL
#!/bin/sh
# ctl-postgres-$port start|stop-fast
case \$1 in
start) exec ip netns exec $NSS runuser -u postgres -- $PGBIN/pg_ctl -D $PGTMP/$port -o "-p $port" -w -l $PGTMP/$port.log start >/dev/null ;;
stop-fast) exec runuser -u postgres -- $PGBIN/pg_ctl -D $PGTMP/$port -m fast -w stop >/dev/null ;;
esac
CTL
		chmod +x "$SRVDIR/ctl-postgres-$port"
		"$SRVDIR/ctl-postgres-$port" start || { echo "mkrealtruth: postgres $port did not start: $(tail -3 "$PGTMP/$port.log")" >&2; exit 1; }
		runuser -u postgres -- psql -q -h "$PGTMP" -p $port -U postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || { echo "mkrealtruth: postgres setup failed" >&2; exit 1; }
CREATE ROLE idler LOGIN;
ALTER ROLE idler SET idle_session_timeout = '1s';
CREATE ROLE slow LOGIN PASSWORD 'slow-password';
CREATE UNLOGGED TABLE sink (line text);
CREATE FUNCTION discard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER discard BEFORE INSERT ON sink FOR EACH ROW EXECUTE FUNCTION discard();
GRANT INSERT ON sink TO PUBLIC;
SQL
		NEWSRV=$((NEWSRV + 2))
	done
	# pgbouncer in front of 5432 (it will not run as root: as postgres): 6432 in transaction
	# mode with client_idle_timeout 1 (in session mode a client keeps its server connection and
	# is never idle to pgbouncer: a first run drew no reset); 6433 with a pool of one server connection, which the driver
	# holds in a transaction, and query_wait_timeout 1.
	if wants pgbouncer; then
		command -v pgbouncer >/dev/null || { echo "mkrealtruth: pgbouncer not found (scripts/setup.sh installs it)" >&2; exit 1; }
		echo '"postgres" ""' >"$PGTMP/pgbouncer-users.txt"
		for port in 6432 6433; do
			cat >"$SRVDIR/pgbouncer-$port.ini" <<PGB
[databases]
postgres = host=$S4 port=5432 dbname=postgres
[pgbouncer]
listen_addr = $S4,$S6
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $PGTMP/pgbouncer-users.txt
max_client_conn = 1000
logfile = $PGTMP/pgbouncer-$port.log
pidfile = $PGTMP/pgbouncer-$port.pid
PGB
		done
		printf '%s\n' "pool_mode = transaction" "default_pool_size = 40" "client_idle_timeout = 1" >>"$SRVDIR/pgbouncer-6432.ini"
		printf '%s\n' "pool_mode = session" "default_pool_size = 1" "query_wait_timeout = 1" >>"$SRVDIR/pgbouncer-6433.ini"
		for port in 6432 6433; do
			cp "$SRVDIR/pgbouncer-$port.ini" "$PGTMP/" && chown postgres: "$PGTMP/pgbouncer-$port.ini"
			(ip netns exec "$NSS" runuser -u postgres -- pgbouncer "$PGTMP/pgbouncer-$port.ini" >/dev/null 2>&1 &)
			NEWSRV=$((NEWSRV + 2))
		done
	fi
fi

# Started in subshells, not as this shell's jobs: cleanup kills them by namespace, silently.
(ip netns exec "$NSS" nginx -c "$SRVDIR/nginx.conf" -g "daemon off;" >"$SRVDIR/nginx.out" 2>&1 &)
(ip netns exec "$NSS" haproxy -f "$SRVDIR/haproxy.cfg" -db >"$SRVDIR/haproxy.log" 2>&1 &)
for port in 6379 6380 6381 6382; do
	(ip netns exec "$NSS" redis-server "$SRVDIR/redis-$port.conf" >/dev/null 2>&1 &)
done
for _ in $(seq 100); do
	(($(ip netns exec "$NSS" ss -Htln | wc -l) >= 2 * 5 + 2 * 8 + 4 * 2 + NEWSRV)) && break
	sleep 0.1
done
if (($(ip netns exec "$NSS" ss -Htln | wc -l) < 2 * 5 + 2 * 8 + 4 * 2 + NEWSRV)); then
	echo "mkrealtruth: the servers did not all start; listening:" >&2
	ip netns exec "$NSS" ss -Htln >&2
	tail -5 "$SRVDIR"/*.log "$SRVDIR/nginx.out" >&2 || true
	exit 1
fi
# A directive haproxy ignores would make a kind measure something else than it says.
if grep -q WARNING "$SRVDIR/haproxy.log"; then
	echo "mkrealtruth: haproxy ignored part of its configuration:" >&2
	grep WARNING "$SRVDIR/haproxy.log" >&2
	exit 1
fi

"$TRACE" -o "$OUT/kernel.tsv" -match "$P4.,$P6:" 2>"$TRACELOG" &
TRACEPID=$!
for _ in $(seq 50); do grep -q recording "$TRACELOG" && break; sleep 0.1; done
ip netns exec "$NSC" tcpdump -i "$VC" -nn -s 128 -B 131072 -Z root -w "$OUT/capture.pcap" tcp 2>"$DUMPLOG" &
DUMPPID=$!
for _ in $(seq 50); do grep -q "listening on" "$DUMPLOG" && break; sleep 0.1; done

echo "mkrealtruth: scale $SCALE${KINDS:+, kinds $KINDS}..." >&2
T0=$(date +%s.%N)
GENOUT=$(ip netns exec "$NSC" "$DRIVER" -addr4 "$S4" -addr6 "$S6" -srv-ns "$NSS" -srv-dir "$SRVDIR" \
	-scale "$SCALE" -kinds "$KINDS" -seed "$SEED" -log "$OUT/scenarios.tsv")
# Late resets: servers' timers (nginx send_timeout 1 s, haproxy's 500 ms) and retransmissions.
sleep 2
kill -INT "$DUMPPID" 2>/dev/null || { echo "mkrealtruth: tcpdump is gone; no capture" >&2; exit 1; }
wait "$DUMPPID" || true
DUMPPID=
kill -INT "$TRACEPID"
wait "$TRACEPID" || { echo "mkrealtruth: truthtrace failed: $(cat "$TRACELOG")" >&2; exit 1; }
TRACEPID=
# haproxy's own connections to nginx run from the server's address to itself over lo, which
# the client's link never sees: their resets are kept apart (kernel-internal.tsv).
awk -F'\t' -v s="$S4:" -v s6="[$S6]:" 'NR > 1 && index($3, s) == 1 && index($4, s) == 1 || index($3, s6) == 1 && index($4, s6) == 1' "$OUT/kernel.tsv" >"$OUT/kernel-internal.tsv"
awk -F'\t' -v s="$S4:" -v s6="[$S6]:" '!(NR > 1 && (index($3, s) == 1 && index($4, s) == 1 || index($3, s6) == 1 && index($4, s6) == 1))' "$OUT/kernel.tsv" >"$OUT/kernel.tsv.tmp"
mv "$OUT/kernel.tsv.tmp" "$OUT/kernel.tsv"
T1=$(date +%s.%N)

SUMMARY=$(cat <<SUM
realtruth run: $OUT
made: $(date -u +%FT%TZ) on $(uname -r), $(nproc) CPUs, traffic + capture took $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')s
software: $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | cut -d' ' -f1-3), $(redis-server --version | cut -d' ' -f1-3), $(curl --version | head -1 | cut -d' ' -f1-2)
plan: scale $SCALE, kinds ${KINDS:-all}, seed $SEED
tcpdump: $(grep -E 'captured|dropped by kernel' "$DUMPLOG" | tr '\n' ' ')
$(tail -1 "$TRACELOG"); $(wc -l <"$OUT/kernel-internal.tsv") of them between haproxy and nginx (kernel-internal.tsv, not scored)
scenarios: $(($(wc -l <"$OUT/scenarios.tsv") - 1)) connections logged
$GENOUT
SUM
)
echo "$SUMMARY" >"$OUT/run.txt"
echo "$SUMMARY"
grep -q '^0 packets dropped by kernel' "$DUMPLOG" || echo "mkrealtruth: WARNING: tcpdump dropped packets; the capture has holes" >&2
grep -q 'overruns 0$' "$TRACELOG" || echo "mkrealtruth: WARNING: the trace ring buffer overran; kernel events are missing" >&2
