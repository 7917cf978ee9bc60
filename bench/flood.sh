#!/usr/bin/env bash
# flood.sh — what a SYN flood costs rstscope analyze: peak RSS and CPU time.
#
#   bench/flood.sh [-n SYNS] [-r RATE] [-k KIND]   (defaults: 10000000 SYNs at 200000/s, closed)
#
# Writes bench/out/synflood.pcap with bench/synflood: n SYNs from random sources
# to one server, every 1000th a real connection ending in a client reset, and
# KIND says how the flood is answered:
#   closed      10 % by RST+ACK, as a closed port; the rest not at all (840 MB for 10 M)
#   unanswered  not at all, as a listener whose SYN queue is full (770 MB)
#   cookies     every SYN by a SYN-ACK (a listener with SYN cookies), half of
#               those by a RST from the spoofed source (1.9 GB)
#   rst         every SYN by RST+ACK, a flood aimed at a closed port (1.3 GB)
# Then it runs
#   /usr/bin/time -v rstscope analyze -f ndjson bench/out/synflood.pcap > /dev/null
# once, prints peak RSS, CPU seconds (user+sys) and packets per CPU second, and
# deletes the capture (disk is the scarce thing here). The target is a peak RSS of
# 128 MB or less at the default --max-conns.
# Needs Go, GNU time at /usr/bin/time (apt: time), capinfos (apt: wireshark-common).
set -euo pipefail
N=10000000
RATE=200000
KIND=closed
while getopts "n:r:k:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RATE=$OPTARG ;;
	k) KIND=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
case $KIND in
closed) ARGS=() ;;
unanswered) ARGS=(-rst 0) ;;
cookies) ARGS=(-rst 0 -synack 1 -synack-rst 0.5) ;;
rst) ARGS=(-rst 1) ;;
*) echo "flood.sh: unknown kind $KIND (closed, unanswered, cookies, rst)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
mkdir -p bench/out
F=bench/out/synflood.pcap
trap 'rm -f "$F"' EXIT
go build -o bench/out/synflood ./bench/synflood
go build -o bench/out/rstscope ./cmd/rstscope
bench/out/synflood -o "$F" -n "$N" -rate "$RATE" "${ARGS[@]}"
/usr/bin/time -f '%U %S %M' -o bench/out/flood.time bench/out/rstscope analyze -f ndjson "$F" > /dev/null
read -r user sys kb < bench/out/flood.time
pkts=$(capinfos -c -M "$F" | awk '/Number of packets/ {print $NF}')
awk -v k="$KIND" -v u="$user" -v s="$sys" -v kb="$kb" -v p="$pkts" -v n="$N" 'BEGIN {
	cpu = u + s
	printf "synflood %s %d SYNs: peak RSS %.0f MB, CPU %.1f s, %d packets, %.0f packets per CPU second\n", k, n, kb / 1024, cpu, p, (cpu > 0 ? p / cpu : 0)
}'
