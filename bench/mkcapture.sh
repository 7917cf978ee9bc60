#!/usr/bin/env bash
# mkcapture.sh — make the benchmark capture for rstscope: real kernel TCP traffic
# between two network namespaces joined by a veth pair, captured with tcpdump.
#
#   bench/mkcapture.sh [-o FILE] [-n PACKETS]
#
#   -o FILE     output capture (default bench/out/traffic.pcap; bench/out/ is gitignored)
#   -n PACKETS  packets to aim for (default 2000000); the plan of connections is scaled
#               to it and the script fails if the capture ends up with fewer.
#
# What it makes (for -n 2000000; every count scales with -n):
#   100 000 short request/response connections (server closes first, FIN/FIN),
#   8 000 aborted by the client after the whole response (SO_LINGER 0 → RST),
#   8 000 aborted by the server after its response,
#   4 000 closed by the server with unread data (RST), 6 000 SYNs to closed ports
#   (RST+ACK), 240 bulk transfers of 4 MiB (half download, half upload);
#   20 % of every kind over IPv6. The generator is bench/trafficgen (Go), run with
#   `ip netns exec` as server in rstbench-srv-PID and as client in rstbench-cli-PID.
#
# Capture: tcpdump -s 128 (snaplen 128 bytes: every IPv4/IPv6 + TCP header with
# options fits, payload is cut) -B 128 MiB on the client's veth end, pcap format,
# microsecond timestamps. Offloads: veth would hand tcpdump 64 KB GSO super-packets;
# gso_max_segs 1 on both ends makes the kernel emit MTU-sized (1500) segments, as on
# a real wire.
#
# Addresses: 10.77.0.1 / fd77::1 (client), 10.77.0.2 / fd77::2 (server), only inside
# the two namespaces, removed on exit. Needs root, iproute2, tcpdump (apt: tcpdump),
# capinfos (apt: wireshark-common), Go. Takes about 30 s on a quiet 2-core machine, 1 min busy.
# Writes FILE and FILE.txt (what was made and what the capture holds).
set -euo pipefail

OUT=
N=2000000
while getopts "o:n:h" opt; do
	case $opt in
	o) OUT=$(realpath -m -- "$OPTARG") ;;
	n) N=$OPTARG ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out/traffic.pcap}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "mkcapture: -n must be a number ≥ 1000" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "mkcapture: needs root (network namespaces, tcpdump)" >&2; exit 1; }
for t in ip tcpdump capinfos go; do
	command -v $t >/dev/null || { echo "mkcapture: $t not found (apt: iproute2 tcpdump wireshark-common; Go)" >&2; exit 1; }
done
mkdir -p "$(dirname "$OUT")" bench/out

# The plan, scaled from the 2 M packet default (≈ 2.4 M packets measured at that size).
scale() { echo $(( ($1 * N + 1999999) / 2000000 )); }
SHORT=$(scale 100000) ABORTC=$(scale 8000) ABORTS=$(scale 8000) UNREAD=$(scale 4000)
CLOSED=$(scale 6000) BULK=$(scale 240)

GEN=bench/out/trafficgen
go build -o "$GEN" ./bench/trafficgen

ID=$$
NSS=rstbench-srv-$ID NSC=rstbench-cli-$ID
VC=rbc$ID VS=rbs$ID
TMP=$OUT.part
LOG=bench/out/mkcapture.$ID.tcpdump.log
SRVPID= DUMPPID=
cleanup() {
	[[ -n $DUMPPID ]] && kill "$DUMPPID" 2>/dev/null || true
	[[ -n $SRVPID ]] && kill "$SRVPID" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$NSC" 2>/dev/null || true
	ip netns del "$NSS" 2>/dev/null || true
	rm -f "$TMP" "$LOG"
}
trap cleanup EXIT
trap 'echo "mkcapture: interrupted; cleaning up" >&2; exit 130' INT TERM

ip netns add "$NSS"
ip netns add "$NSC"
ip link add "$VC" netns "$NSC" type veth peer name "$VS" netns "$NSS"
for pair in "$NSC $VC 1" "$NSS $VS 2"; do
	set -- $pair
	ip -n "$1" link set lo up
	ip -n "$1" link set "$2" gso_max_segs 1 up
	ip -n "$1" addr add "10.77.0.$3/24" dev "$2"
	ip -n "$1" addr add "fd77::$3/64" dev "$2" nodad
done
# The client opens > 100 k connections in about a minute: give it every port and let
# it reuse TIME-WAIT ports (these sysctls are per namespace).
ip netns exec "$NSC" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1

ip netns exec "$NSS" "$GEN" -mode server -timeout 10m &
SRVPID=$!
for _ in $(seq 50); do
	(( $(ip netns exec "$NSS" ss -Htln | wc -l) >= 10 )) && break # 5 ports × 2 families
	sleep 0.1
done

ip netns exec "$NSC" tcpdump -i "$VC" -nn -s 128 -B 131072 -Z root -w "$TMP" tcp 2>"$LOG" &
DUMPPID=$!
for _ in $(seq 50); do grep -q "listening on" "$LOG" && break; sleep 0.1; done

echo "mkcapture: generating traffic (target $N packets)..." >&2
T0=$(date +%s.%N)
GENOUT=$(ip netns exec "$NSC" "$GEN" -mode client -timeout 4m \
	-short "$SHORT" -abort-client "$ABORTC" -abort-server "$ABORTS" -unread "$UNREAD" \
	-closed "$CLOSED" -bulk "$BULK" -bulk-bytes $((4 << 20)) -v6 0.2)
sleep 1
kill -INT "$DUMPPID" 2>/dev/null || { echo "mkcapture: tcpdump is gone (interrupted?); no capture written" >&2; exit 1; }
wait "$DUMPPID" || true
DUMPPID=
T1=$(date +%s.%N)
kill "$SRVPID" 2>/dev/null || true
wait "$SRVPID" 2>/dev/null || true
SRVPID=
CAPTURED=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$LOG")
DROPPED=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$LOG")
mv "$TMP" "$OUT"

# What the capture holds. tcpdump's tcp[...] only sees IPv4, so IPv6 uses ip6[40+13]
# (the TCP flags byte right after a 40-byte IPv6 header; trafficgen sends no extension
# headers).
count() { tcpdump -nn -q -t -r "$OUT" "$1" 2>/dev/null | wc -l; }
PKTS=$(capinfos -c -M "$OUT" | awk '/Number of packets/ {print $NF}')
PKTS6=$(count ip6)
SYN4=$(count 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn')
SYN6=$(count 'ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02')
RST4=$(count 'tcp[tcpflags] & tcp-rst != 0')
RST6=$(count 'ip6 and ip6[6] == 6 and ip6[53] & 0x04 != 0')
RSTC=$(count '(src host 10.77.0.1 and tcp[tcpflags] & tcp-rst != 0) or (src host fd77::1 and ip6[6] == 6 and ip6[53] & 0x04 != 0)')
# Captures are not strictly time-ordered (two CPUs feed one ring): count the steps back.
BACK=$(tcpdump -tt -nn -q -r "$OUT" 2>/dev/null | awk '{ t = $1 + 0; if (NR > 1 && t < p) { n++; if (p - t > m) m = p - t } if (t > p) p = t } END { printf "%d (largest %.0f µs)", n, m * 1e6 }')
SIZE=$(stat -c %s "$OUT")
ELAPSED=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }')
SUMMARY=$(cat <<SUM
capture: $OUT ($SIZE bytes, snaplen 128, pcap, linktype EN10MB)
made: $(date -u +%FT%TZ) on $(uname -r), $(nproc) CPUs, traffic + capture took ${ELAPSED}s
tcpdump: ${CAPTURED:-?} packets captured, ${DROPPED:-?} dropped by kernel
packets: $PKTS (IPv6 $PKTS6); timestamps stepping back: $BACK
SYNs without ACK (connection attempts, retransmissions included): $((SYN4 + SYN6)) (IPv4 $SYN4, IPv6 $SYN6)
packets with RST: $((RST4 + RST6)) (IPv4 $RST4, IPv6 $RST6; from the client $RSTC, from the server $((RST4 + RST6 - RSTC)))
trafficgen plan: -short $SHORT -abort-client $ABORTC -abort-server $ABORTS -unread $UNREAD -closed $CLOSED -bulk $BULK -bulk-bytes $((4 << 20)) -v6 0.2
$GENOUT
SUM
)
echo "$SUMMARY" > "$OUT.txt"
echo
echo "$SUMMARY"
FAIL=0
(( PKTS >= N )) || { echo "mkcapture: FAIL: $PKTS packets, fewer than the $N asked for" >&2; FAIL=1; }
(( ${DROPPED:-0} == 0 )) || echo "mkcapture: WARNING: tcpdump dropped $DROPPED packets; the capture has holes" >&2
(( RST4 + RST6 > 0 && SYN6 > 0 )) || { echo "mkcapture: FAIL: no RSTs or no IPv6 in the capture" >&2; FAIL=1; }
exit $FAIL
