#!/usr/bin/env bash
# mktruth.sh — make a truth run for rstscope: real kernel TCP traffic of a
# production-like mix between two network namespaces, captured with tcpdump,
# with the kernel's own account of every reset it sent or received.
#
#   bench/mktruth.sh [-o DIR] [-n CONNECTIONS] [-s SEED]
#
#   -o DIR          output directory (default bench/out/truth; bench/out/ is gitignored)
#   -n CONNECTIONS  connections to make (default 100000; ≥ 500); the mix below is scaled to it
#   -s SEED         the generator's seed (plan order and sizes)
#
# DIR receives:
#   capture.pcap    tcpdump -s 128 on the client's veth end (pcap, µs timestamps)
#   scenarios.tsv   one line per connection: client, server, kind, family, start (bench/trafficgen)
#   kernel.tsv      every tcp:tcp_send_reset and tcp:tcp_receive_reset event of the run's
#                   addresses: time, event, src, dst, state, reason (bench/truth/cmd/truthtrace,
#                   a private tracefs instance drained while the run goes on)
#   run.txt         the plan, the generator's summary, tcpdump's and the tracer's counts
# Score it with: go run ./bench/truth/cmd/truthscore DIR
#
# The mix (shares of CONNECTIONS, each kind at least 1; bench/README.md says what each kind
# does and which kernel reason it yields): short 49 %, keepalive 12 %, keepalive-race 5 %,
# abort-client 4 %, abort-server 4 %, partial-read 4 %, unread-close 3 %, closed-port 3 %,
# refused-upload 3 %, pipeline 3 %, abort-client-unread 2 %, abort-server-unread 2 %,
# listener-closed 2 %, abandoned 1 %, scan 1 %, killed 0.3 %, vanish-keepalive 0.2 %,
# vanish-retrans 0.2 %, idle-router 0.2 %, bulk 0.05 % (1 MiB each); 20 % of every kind over IPv6.
#
# Addresses, with N = 100 + PID mod 150 so that runs side by side do not share addresses (the
# tracepoints are global): 10.N.0.1 / fd79:N::1 (client) and 10.N.0.2 / fd79:N::2 (server) on
# one veth pair between namespaces rsttruth-cli-PID and rsttruth-srv-PID; the idle-router kind
# goes through a third, rsttruth-rtr-PID, a router with conntrack (established timeout 2 s, loose
# pickup off) and `ct state invalid reject with tcp reset`: client 10.N.2.2 / fd79:N:2::2,
# router 10.N.2.1 and 10.N.1.1, server 10.N.1.2 / fd79:N:1::2. All removed on exit. tcpdump runs on both of the
# client's links and the two captures are merged (mergecap). The client's namespace holds the nft
# rules of the vanish and abandoned kinds (they match socket marks the generator sets).
# Needs root, iproute2, nft, tcpdump, Go. About 20 s for 2 500 connections, 2 min for 100 000.
set -euo pipefail

OUT=
N=100000
SEED=1
while getopts "o:n:s:h" opt; do
	case $opt in
	o) OUT=$(realpath -m -- "$OPTARG") ;;
	n) N=$OPTARG ;;
	s) SEED=$OPTARG ;;
	*) sed -n '2,30p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/bench/out/truth}
[[ $N =~ ^[0-9]+$ && $N -ge 500 ]] || { echo "mktruth: -n must be a number ≥ 500" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "mktruth: needs root (network namespaces, tcpdump, tracefs)" >&2; exit 1; }
for t in ip nft tcpdump mergecap go; do
	command -v $t >/dev/null || { echo "mktruth: $t not found (apt: iproute2 nftables tcpdump wireshark-common; Go)" >&2; exit 1; }
done
mkdir -p "$OUT" bench/out

# share PER10000: connections of a kind for N, at least 1.
share() { local v=$(( ($1 * N + 9999) / 10000 )); echo $(( v < 1 ? 1 : v )); }
KEEP=$(share 1200) RACE=$(share 500) ABC=$(share 400) ABS=$(share 400) PART=$(share 400)
UNREAD=$(share 300) CLOSED=$(share 300) UPLOAD=$(share 300) PIPE=$(share 300)
ABCU=$(share 200) ABSU=$(share 200) LISTEN=$(share 200) ABANDON=$(share 100)
KILLED=$(share 30) VANK=$(share 20) VANR=$(share 20) BULK=$(share 5) IDLE=$(share 20) SCAN=$(share 100)
BULK=$((BULK < 2 ? 2 : BULK)) # one download and one upload at least
OTHERS=$((SCAN + KEEP + RACE + ABC + ABS + PART + UNREAD + CLOSED + UPLOAD + PIPE + ABCU + ABSU + LISTEN + ABANDON + KILLED + VANK + VANR + BULK + IDLE))
SHORT=$((N > OTHERS ? N - OTHERS : 1))
PLAN="-short $SHORT -keepalive $KEEP -keepalive-race $RACE -abort-client $ABC -abort-server $ABS -partial-read $PART -unread $UNREAD -closed $CLOSED -refused-upload $UPLOAD -pipeline $PIPE -abort-client-unread $ABCU -abort-server-unread $ABSU -listener-closed $LISTEN -abandoned $ABANDON -killed $KILLED -vanish-keepalive $VANK -vanish-retrans $VANR -idle-router $IDLE -scan $SCAN -bulk $BULK -bulk-bytes $((1 << 20)) -v6 0.2 -seed $SEED"

# Binaries of this run's own (not bench/out/trafficgen, which mkcapture.sh or another run may
# be executing: "text file busy").
BIN=$(mktemp -d /tmp/mktruth.XXXXXX)
GEN=$BIN/trafficgen TRACE=$BIN/truthtrace
go build -o "$GEN" ./bench/trafficgen || { rm -rf "$BIN"; exit 1; }
go build -o "$TRACE" ./bench/truth/cmd/truthtrace || { rm -rf "$BIN"; exit 1; }

ID=$$
# A subnet of its own per run: the tracepoints are global, and a run beside this one (another
# mktruth.sh, a test) must not mix its resets into this one's kernel.tsv.
SUB=$((100 + ID % 150)) P4=10.$SUB P6=fd79:$SUB
NSS=rsttruth-srv-$ID NSC=rsttruth-cli-$ID NSR=rsttruth-rtr-$ID
VC=rtc$ID VS=rts$ID VC2=rtd$ID VR1=rtr$ID VR2=rtq$ID VS2=rtt$ID
DUMPLOG=$OUT/tcpdump.log TRACELOG=$OUT/truthtrace.log
SRVPID= DUMPPID= DUMP2PID= TRACEPID=
cleanup() {
	[[ -n $TRACEPID ]] && kill "$TRACEPID" 2>/dev/null || true
	[[ -n $DUMPPID ]] && kill "$DUMPPID" 2>/dev/null || true
	[[ -n $DUMP2PID ]] && kill "$DUMP2PID" 2>/dev/null || true
	[[ -n $SRVPID ]] && kill "$SRVPID" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	ip netns del "$NSR" 2>/dev/null || true
	rm -f "$OUT/capture-direct.pcap" "$OUT/capture-router.pcap"
	rm -rf "$BIN"
}
trap cleanup EXIT
trap 'echo "mktruth: interrupted; cleaning up" >&2; exit 130' INT TERM

ip netns add "$NSS"
ip netns add "$NSC"
ip link add "$VC" netns "$NSC" type veth peer name "$VS" netns "$NSS"
for pair in "$NSC $VC 1" "$NSS $VS 2"; do
	set -- $pair
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" gso_max_segs 1 up
	ip -n "$1" addr add "$P4.0.$3/24" dev "$2"
	ip -n "$1" addr add "$P6::$3/64" dev "$2" nodad
done
# The router: client —(VC2/VR1)— router —(VR2/VS2)— server, for the idle-router kind only.
ip netns add "$NSR"
ip link add "$VC2" netns "$NSC" type veth peer name "$VR1" netns "$NSR"
ip link add "$VR2" netns "$NSR" type veth peer name "$VS2" netns "$NSS"
ip -n "$NSR" link set lo up
for l in "$NSC $VC2 $P4.2.2 $P6:2::2" "$NSR $VR1 $P4.2.1 $P6:2::1" "$NSR $VR2 $P4.1.1 $P6:1::1" "$NSS $VS2 $P4.1.2 $P6:1::2"; do
	set -- $l
	ip -n "$1" link set "$2" gso_max_segs 1 up
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" addr add "$4/64" dev "$2" nodad
done
ip -n "$NSC" route add $P4.1.0/24 via $P4.2.1
ip -n "$NSC" -6 route add $P6:1::/64 via $P6:2::1
ip -n "$NSS" route add $P4.2.0/24 via $P4.1.1
ip -n "$NSS" -6 route add $P6:2::/64 via $P6:1::1
ip netns exec "$NSR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip netns exec "$NSR" nft -f - <<'NFT'
table inet rsttruth {
	chain forwarded {
		type filter hook forward priority 0;
		ct state invalid reject with tcp reset
	}
}
NFT
# After the ct rule loaded conntrack: forget established connections after 2 s idle (the
# generator waits routerIdle = 3 s) and never pick up a connection mid-stream, so the first
# segment after the gap is invalid (per-namespace sysctls).
ip netns exec "$NSR" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=2 net.netfilter.nf_conntrack_tcp_loose=0

# The generator binds ports 1024-9999 itself for the kinds whose connect may fail, so the
# kernel's ephemeral range starts above them; TIME-WAIT ports are reused (per-namespace sysctls).
ip netns exec "$NSC" sysctl -qw net.ipv4.ip_local_port_range="10000 65535" net.ipv4.tcp_tw_reuse=1
# vanish-*: a socket marked 0x77 has every packet dropped both ways (the client vanished);
# abandoned: SYN-ACKs to a socket marked 0x78 are dropped while it is open, so the server's
# retransmitted SYN-ACK reaches a closed socket. tcpdump sees packets before these hooks.
ip netns exec "$NSC" nft -f - <<'NFT'
table inet rsttruth {
	chain in {
		type filter hook input priority 0;
		socket mark 0x77 drop
		socket mark 0x78 tcp flags & (syn | ack) == (syn | ack) drop
	}
	chain out {
		type filter hook output priority 0;
		meta mark 0x77 drop
	}
}
NFT

ip netns exec "$NSS" "$GEN" -mode server -addr4 $P4.0.2 -addr6 $P6::2 -raddr4 $P4.1.2 -raddr6 $P6:1::2 -timeout 30m &
SRVPID=$!
for _ in $(seq 50); do
	(( $(ip netns exec "$NSS" ss -Htln | wc -l) >= 30 )) && break
	sleep 0.1
done

"$TRACE" -o "$OUT/kernel.tsv" -match $P4.,$P6: 2>"$TRACELOG" &
TRACEPID=$!
for _ in $(seq 50); do grep -q recording "$TRACELOG" && break; sleep 0.1; done
ip netns exec "$NSC" tcpdump -i "$VC" -nn -s 128 -B 131072 -Z root -w "$OUT/capture-direct.pcap" tcp 2>"$DUMPLOG" &
DUMPPID=$!
ip netns exec "$NSC" tcpdump -i "$VC2" -nn -s 128 -B 16384 -Z root -w "$OUT/capture-router.pcap" tcp 2>"$DUMPLOG.router" &
DUMP2PID=$!
for _ in $(seq 50); do grep -q "listening on" "$DUMPLOG" && grep -q "listening on" "$DUMPLOG.router" && break; sleep 0.1; done

echo "mktruth: $N connections..." >&2
T0=$(date +%s.%N)
# shellcheck disable=SC2086
GENOUT=$(ip netns exec "$NSC" "$GEN" -mode client -addr4 $P4.0.2 -addr6 $P6::2 -timeout 20m \
	-raddr4 $P4.1.2 -raddr6 $P6:1::2 -log "$OUT/scenarios.tsv" $PLAN)
# The last abandoned attempts' SYN-ACKs come back after ~1 s, the last keepalive and
# retransmission timers within ~2 s.
sleep 3
kill -INT "$DUMPPID" "$DUMP2PID" 2>/dev/null || { echo "mktruth: tcpdump is gone; no capture" >&2; exit 1; }
wait "$DUMPPID" || true
wait "$DUMP2PID" || true
DUMPPID= DUMP2PID=
mergecap -F pcap -w "$OUT/capture.pcap" "$OUT/capture-direct.pcap" "$OUT/capture-router.pcap"
rm -f "$OUT/capture-direct.pcap" "$OUT/capture-router.pcap"
kill -INT "$TRACEPID"
wait "$TRACEPID" || { echo "mktruth: truthtrace failed: $(cat "$TRACELOG")" >&2; exit 1; }
TRACEPID=
T1=$(date +%s.%N)
kill "$SRVPID" 2>/dev/null || true
wait "$SRVPID" 2>/dev/null || true
SRVPID=

SUMMARY=$(cat <<SUM
truth run: $OUT
made: $(date -u +%FT%TZ) on $(uname -r), $(nproc) CPUs, traffic + capture took $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')s
plan: $PLAN
tcpdump: $(grep -E 'captured|dropped by kernel' "$DUMPLOG" | tr '\n' ' '); router link: $(grep -E 'captured|dropped by kernel' "$DUMPLOG.router" | tr '\n' ' ')
$(tail -1 "$TRACELOG")
scenarios: $(($(wc -l < "$OUT/scenarios.tsv") - 1)) connections logged
$GENOUT
SUM
)
echo "$SUMMARY" > "$OUT/run.txt"
echo "$SUMMARY"
grep -q '^0 packets dropped by kernel' "$DUMPLOG" && grep -q '^0 packets dropped by kernel' "$DUMPLOG.router" || echo "mktruth: WARNING: tcpdump dropped packets; the capture has holes" >&2
grep -q 'overruns 0$' "$TRACELOG" || echo "mktruth: WARNING: the trace ring buffer overran; kernel events are missing" >&2
