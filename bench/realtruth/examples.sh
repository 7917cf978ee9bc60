#!/usr/bin/env bash
# examples.sh — show a kind's resets as the lead needs them to fix a rule: for the first N
# connections of KIND whose first reset analyze got wrong (or right, with -r), the reset's
# frame, the kernel's reason and the segment it answered, analyze's cause, confidence and
# evidence, and the connection's packets up to the reset (tcpdump, numbered as Wireshark does).
#
#   bench/realtruth/examples.sh [-r] DIR KIND [N [CAUSE]]   (DIR scored by truthscore: resets.tsv)
#
# CAUSE keeps only the resets analyze gave that cause.
set -euo pipefail
want=false
[[ ${1:-} == -r ]] && { want=true; shift; }
DIR=${1:?usage: examples.sh [-r] DIR KIND [N [CAUSE]]} KIND=${2:?usage: examples.sh [-r] DIR KIND [N [CAUSE]]} N=${3:-3} CAUSE=${4:-}
[[ -f $DIR/resets.tsv ]] || { echo "examples: $DIR/resets.tsv missing (run truthscore first)" >&2; exit 1; }
awk -F'\t' -v k="$KIND" -v w="$want" -v c="$CAUSE" '$6 == k && $13 == "true" && $12 == w && (c == "" || $14 == c)' "$DIR/resets.tsv" | head -n "$N" |
while IFS=$'\t' read -r time frame client server dir kind reason state answered row allowed right first cause sender tsender conf ev; do
	echo "frame $frame  $time  $dir  $client ↔ $server"
	echo "  kernel: $reason (state $state), answering $answered; allowed: $allowed"
	echo "  analyze: $cause ($conf), sender $sender"
	echo "  evidence: $ev"
	cport=${client##*:} cip=${client%:*} cip=${cip#[} cip=${cip%]}
	tcpdump -nn -# -r "$DIR/capture.pcap" "host $cip and tcp port $cport and tcp port ${server##*:}" 2>/dev/null |
		awk -v f="$frame" '{ n = $1 + 0 } n <= f { print "    " $0 }' | tail -n 12
	echo
done
