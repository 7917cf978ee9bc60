#!/usr/bin/env bash
# mkrealtruth.sh — the truth harness's test set from real server software:
# nginx, haproxy and redis (the Debian packages) in one network namespace,
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
# Needs root, iproute2, nft, tcpdump, nginx, haproxy, redis-server, redis-cli, curl, Go.
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
cleanup() {
	[[ -n $TRACEPID ]] && kill "$TRACEPID" 2>/dev/null || true
	[[ -n $DUMPPID ]] && kill "$DUMPPID" 2>/dev/null || true
	# Every process left in the server's namespace is one of ours (nginx, haproxy, redis).
	for p in $(ip netns pids "$NSS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	for p in $(ip netns pids "$NSC" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	rm -rf "$BIN" "$SRVDIR/html" "$SRVDIR/tmp"
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

# Started in subshells, not as this shell's jobs: cleanup kills them by namespace, silently.
(ip netns exec "$NSS" nginx -c "$SRVDIR/nginx.conf" -g "daemon off;" >"$SRVDIR/nginx.out" 2>&1 &)
(ip netns exec "$NSS" haproxy -f "$SRVDIR/haproxy.cfg" -db >"$SRVDIR/haproxy.log" 2>&1 &)
for port in 6379 6380 6381 6382; do
	(ip netns exec "$NSS" redis-server "$SRVDIR/redis-$port.conf" >/dev/null 2>&1 &)
done
for _ in $(seq 100); do
	(($(ip netns exec "$NSS" ss -Htln | wc -l) >= 2 * 4 + 2 * 6 + 4 * 2)) && break
	sleep 0.1
done
if (($(ip netns exec "$NSS" ss -Htln | wc -l) < 2 * 4 + 2 * 6 + 4 * 2)); then
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
