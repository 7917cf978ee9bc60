#!/usr/bin/env bash
# flood.sh — what a SYN flood costs rstscope analyze: peak RSS and CPU time.
#
#   bench/flood.sh [-n SYNS] [-r RATE]     (defaults: 10000000 SYNs at 200000/s)
#
# Writes bench/out/synflood.pcap with bench/synflood (n SYNs from random sources
# to one server, 10 % answered by RST+ACK as a closed port, every 1000th a real
# connection ending in a client reset; about 840 MB for 10 M), runs
#   /usr/bin/time -v rstscope analyze -f ndjson bench/out/synflood.pcap > /dev/null
# once, prints peak RSS, CPU seconds (user+sys) and packets per CPU second, and
# deletes the capture (disk is the scarce thing here). The target is a peak RSS of
# 128 MB or less at the default --max-conns.
# Needs Go, GNU time at /usr/bin/time (apt: time), capinfos (apt: wireshark-common).
set -euo pipefail
N=10000000
RATE=200000
while getopts "n:r:h" opt; do
	case $opt in
	n) N=$OPTARG ;;
	r) RATE=$OPTARG ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
mkdir -p bench/out
F=bench/out/synflood.pcap
trap 'rm -f "$F"' EXIT
go build -o bench/out/synflood ./bench/synflood
go build -o bench/out/rstscope ./cmd/rstscope
bench/out/synflood -o "$F" -n "$N" -rate "$RATE"
/usr/bin/time -f '%U %S %M' -o bench/out/flood.time bench/out/rstscope analyze -f ndjson "$F" > /dev/null
read -r user sys kb < bench/out/flood.time
pkts=$(capinfos -c -M "$F" | awk '/Number of packets/ {print $NF}')
awk -v u="$user" -v s="$sys" -v kb="$kb" -v p="$pkts" -v n="$N" 'BEGIN {
	cpu = u + s
	printf "synflood %d SYNs: peak RSS %.0f MB, CPU %.1f s, %d packets, %.0f packets per CPU second\n", n, kb / 1024, cpu, p, (cpu > 0 ? p / cpu : 0)
}'
