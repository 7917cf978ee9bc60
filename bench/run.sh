#!/usr/bin/env bash
# run.sh — time rstscope against tcpdump and tshark on one capture.
#
#   bench/run.sh [FILE]        (RUNS=5 bench/run.sh for more runs; default 3)
#   env: RUNS=N, SKIP="names", RSTSCOPE=binary (below), TIMEOUT=seconds per run (600)
#
# Builds rstscope (go build -o bench/out/rstscope ./cmd/rstscope); without FILE uses
# bench/out/traffic.pcap and makes it with bench/mkcapture.sh if it does not exist.
# Warms the page cache (cat FILE > /dev/null), then runs each command RUNS times under
# GNU time (/usr/bin/time -f '%e %U %S %M') and reports the median of each figure:
#   rstscope analyze --format ndjson FILE > /dev/null   full product: decode, flow tracking,
#                                                        reset classification
#   rstscope analyze --format conn FILE > /dev/null     decode + tracking (+ --no-classify
#                                                        when rstscope has that flag)
#   both again with GOMAXPROCS=1 (the single-core target)
#   tcpdump -nn -r FILE 'tcp[tcpflags] & tcp-rst != 0' > /dev/null
#   tshark -n -r FILE -Y tcp.flags.reset==1 > /dev/null
# Figures: wall s, CPU s (user+sys), packets/s (packets ÷ median wall; packet count from
# capinfos -c, cached in FILE.count), packets per CPU second (less sensitive to other load
# on the machine than wall time), peak RSS (MB, 10^6 bytes). Then the ratios
# rstscope/tcpdump and rstscope/tshark in packets/s and the targets: ≥ 2 M packets/s on
# one core (issue 2), and on two cores the full product at least as fast as tcpdump
# (ratio ≥ 1.0, stretch 1.3) in ≤ 64 MB peak RSS (issue 14). Results are also written to
# bench/out/results.txt.
#
# The commands run interleaved: round 1 runs each once, then round 2, ... so that load
# from others on a shared machine falls on every row alike. RSTSCOPE_OLD=/path/to/binary
# adds rows old-ndjson and old-ndjson-1cpu timed in the same rounds (before and after).
#
# Needs: Go, tcpdump (apt: tcpdump), tshark (apt: tshark), capinfos (apt: wireshark-common),
# GNU time at /usr/bin/time (apt: time — the shell's `time` keyword has no peak RSS).
# SKIP="tshark rstscope-conn" leaves those rows out (tshark alone takes ~2.5 min).
# IDLE=P starts each round only once the machine was at least P % idle over a second (waiting
# at most 120 s, then noting that it did not get there): on a machine shared with other jobs
# that come and go, two-core wall times mean something only when the second core was free.
# RSTSCOPE=/path/to/rstscope times that binary instead of building one (to compare builds).
# If rstscope does not build or `analyze` fails, that is printed and the peers still run.
set -uo pipefail

[[ $# -gt 0 ]] && set -- "$(realpath -m -- "$1")" # FILE is relative to where we were called
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
F=${1:-bench/out/traffic.pcap}
OUTDIR=bench/out
mkdir -p "$OUTDIR"

for t in /usr/bin/time:time tcpdump:tcpdump tshark:tshark capinfos:wireshark-common go:golang; do
	command -v "${t%%:*}" >/dev/null || { echo "run.sh: ${t%%:*} not found (apt: ${t#*:})" >&2; exit 1; }
done
if [[ ! -f $F ]]; then
	if [[ $# -gt 0 ]]; then echo "run.sh: $F: no such file" >&2; exit 1; fi
	echo "run.sh: $F missing, making it with bench/mkcapture.sh" >&2
	bench/mkcapture.sh -o "$F" || { echo "run.sh: making the capture failed" >&2; exit 1; }
fi

# Packet count, cached next to the file and keyed by its size and mtime.
KEY="$(stat -c '%s %Y' "$F")"
if [[ -f $F.count && $(head -1 "$F.count") == "$KEY" ]]; then
	PKTS=$(sed -n 2p "$F.count")
else
	PKTS=$(capinfos -c -M "$F" | awk '/Number of packets/ {print $NF}')
	# RST packets of both families (tcpdump's tcp[] filter alone sees IPv4 only).
	RSTS=$(tcpdump -nn -q -r "$F" 'tcp[tcpflags] & tcp-rst != 0 or (ip6 and ip6[6] == 6 and ip6[53] & 0x04 != 0)' 2>/dev/null | wc -l)
	printf '%s\n%s\n%s\n' "$KEY" "$PKTS" "$RSTS" > "$F.count"
fi
RSTS=$(sed -n 3p "$F.count")

RST=${RSTSCOPE:-$OUTDIR/rstscope}
RST_STATUS=ok
if [[ -n ${RSTSCOPE:-} ]]; then
	[[ -x $RST ]] || RST_STATUS="RSTSCOPE=$RST is not an executable"
elif ! go build -o "$RST" ./cmd/rstscope 2>"$OUTDIR/build.log"; then
	RST_STATUS="rstscope does not build: $(head -3 "$OUTDIR/build.log" | tr '\n' ' ')"
fi
rm -f "$OUTDIR/analyze-help.txt"
if [[ $RST_STATUS == ok ]] && ! "$RST" analyze -h >"$OUTDIR/analyze-help.txt" 2>&1 && ! grep -q -- '-format' "$OUTDIR/analyze-help.txt"; then
	RST_STATUS="rstscope has no working 'analyze' subcommand: $(head -2 "$OUTDIR/analyze-help.txt" | tr '\n' ' ')"
fi
NOCLASSIFY=
grep -q -- '-no-classify' "$OUTDIR/analyze-help.txt" 2>/dev/null && NOCLASSIFY=--no-classify

echo "capture: $F ($(stat -c %s "$F") bytes, $PKTS packets, $RSTS with RST)"
echo "machine: $(uname -r), $(nproc) CPUs, $(go version | cut -d' ' -f3), $(tcpdump --version 2>&1 | head -1), $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3)"
if [[ -z ${RSTSCOPE:-} ]]; then
	echo "rstscope built from: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain -- '*.go' go.mod go.sum ':!bench' 2>/dev/null | grep -q . && echo ' + uncommitted Go changes')"
fi
echo "runs per command: $RUNS (median of each figure); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
	echo "WARNING: the machine is busy (load $LOAD on $(nproc) CPUs): wall times are inflated; compare the per-CPU-second figures"
fi
echo "warming the page cache..."
cat "$F" > /dev/null

# Commands are queued with add NAME CMD... and run by rounds: every round runs each
# queued command once (stdout to /dev/null), so other load on the machine spreads over
# all rows. Each row's figures are the medians over its runs; a row that fails once
# stops there and is marked FAILED.
ROWS=$(mktemp)
CMDS=$(mktemp -d)
trap 'rm -rf "$ROWS" "$CMDS"' EXIT
NAMES=()
declare -A STATUS WALLS CPUS RSSS
add() {
	local name=$1; shift
	if [[ " ${SKIP:-} " == *" $name "* ]]; then echo "$name - - - skipped" >> "$ROWS"; return; fi
	NAMES+=("$name")
	printf '%q ' "$@" > "$CMDS/$name"
	STATUS[$name]=ok WALLS[$name]= CPUS[$name]= RSSS[$name]=
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if [[ $RST_STATUS == ok ]]; then
	# Once, untimed: one finding per reset packet is the contract, so the ndjson line
	# count should equal the RST packets in the file.
	FINDINGS=$("$RST" analyze --format ndjson "$F" 2>/dev/null | wc -l)
	echo "check: rstscope analyze --format ndjson wrote $FINDINGS findings; the file has $RSTS RST packets" \
		"($([[ $FINDINGS == "$RSTS" ]] && echo match || echo MISMATCH))" > "$OUTDIR/check.txt"
	cat "$OUTDIR/check.txt" >&2
	add rstscope-ndjson "$RST" analyze --format ndjson "$F"
	add rstscope-conn "$RST" analyze --format conn $NOCLASSIFY "$F"
	add rstscope-ndjson-1cpu env GOMAXPROCS=1 "$RST" analyze --format ndjson "$F"
	add rstscope-conn-1cpu env GOMAXPROCS=1 "$RST" analyze --format conn $NOCLASSIFY "$F"
	# Decode and flow tracking alone: nothing classified, nothing written.
	[[ -n $NOCLASSIFY ]] && add rstscope-track-1cpu env GOMAXPROCS=1 "$RST" analyze --format ndjson $NOCLASSIFY "$F"
else
	echo "run.sh: NOT TIMING rstscope: $RST_STATUS" >&2
	for n in rstscope-ndjson rstscope-conn rstscope-ndjson-1cpu rstscope-conn-1cpu; do
		echo "$n - - - not-built" >> "$ROWS"
	done
fi
if [[ -n ${RSTSCOPE_OLD:-} ]]; then
	add old-ndjson "$RSTSCOPE_OLD" analyze --format ndjson "$F"
	add old-ndjson-1cpu env GOMAXPROCS=1 "$RSTSCOPE_OLD" analyze --format ndjson "$F"
fi
add tcpdump tcpdump -nn -r "$F" 'tcp[tcpflags] & tcp-rst != 0'
add tshark tshark -n -r "$F" -Y 'tcp.flags.reset==1'

# idle prints the share of CPU time (%) the machine spent idle over the next second.
idle() {
	local a b c d e f g t1 i1
	read -r _ a b c d e f g _ </proc/stat
	t1=$((a + b + c + d + e + f + g)) i1=$d
	sleep 1
	read -r _ a b c d e f g _ </proc/stat
	echo $((100 * (d - i1) / (a + b + c + d + e + f + g - t1)))
}
tf=$(mktemp)
for ((i = 0; i < RUNS; i++)); do
	if [[ -n ${IDLE:-} ]]; then
		for ((w = 0; w < 60; w++)); do (($(idle) >= IDLE)) && break; sleep 1; done
		((w == 60)) && echo "  round $((i + 1)): the machine was not ${IDLE} % idle within 120 s; running anyway" >&2
	fi
	for name in "${NAMES[@]}"; do
		[[ ${STATUS[$name]} == ok ]] || continue
		eval "set -- $(cat "$CMDS/$name")"
		/usr/bin/time -f '%e %U %S %M' -o "$tf" timeout -k 5 "${TIMEOUT:-600}" "$@" >/dev/null 2>"$OUTDIR/run.$name.stderr"
		rc=$?
		if ((rc != 0)); then
			STATUS[$name]="FAILED,exit=$rc"
			((rc == 124)) && STATUS[$name]="FAILED,timeout=${TIMEOUT:-600}s"
			echo "  $name: FAILED: $(grep -v '^Command exited' "$OUTDIR/run.$name.stderr" | head -2 | tr '\n' ' ')" >&2
			continue
		fi
		read -r w u s m < <(tail -1 "$tf")
		WALLS[$name]+=" $w" CPUS[$name]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')" RSSS[$name]+=" $m"
		echo "  $name run $((i + 1)): wall ${w}s user ${u}s sys ${s}s rss ${m}KB" >&2
	done
done
rm -f "$tf"
for name in "${NAMES[@]}"; do
	if [[ ${STATUS[$name]} == ok ]]; then
		echo "$name $(median ${WALLS[$name]}) $(median ${CPUS[$name]}) $(median ${RSSS[$name]}) ok" >> "$ROWS"
	else
		echo "$name - - - ${STATUS[$name]}" >> "$ROWS"
	fi
done
LOADAFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo
	echo "rstscope: $RST_STATUS"
	[[ $RST_STATUS == ok ]] && cat "$OUTDIR/check.txt"
	echo "commands (stdout to /dev/null, F=$F):"
	echo "  rstscope-ndjson       $RST analyze --format ndjson F"
	echo "  rstscope-conn         $RST analyze --format conn ${NOCLASSIFY:+$NOCLASSIFY }F"
	echo "  *-1cpu                the same with GOMAXPROCS=1"
	echo "  rstscope-track-1cpu   GOMAXPROCS=1 $RST analyze --format ndjson --no-classify F (decode + tracking only)"
	echo "  tcpdump               tcpdump -nn -r F 'tcp[tcpflags] & tcp-rst != 0'"
	echo "  tshark                tshark -n -r F -Y tcp.flags.reset==1"
	[[ -n ${RSTSCOPE_OLD:-} ]] && echo "  old-ndjson[-1cpu]     $RSTSCOPE_OLD analyze --format ndjson F (the build before)"
	echo "interleaved, $RUNS rounds${IDLE:+, each started once the machine was ≥ ${IDLE} % idle}; load average after: $LOADAFTER"
	echo
	awk -v pkts="$PKTS" '
	BEGIN { printf "%-22s %8s %8s %12s %14s %8s  %s\n", "command", "wall s", "CPU s", "packets/s", "pkts/CPU-s", "RSS MB", "status" }
	{
		if ($5 == "ok") {
			pps[$1] = pkts / $2
			printf "%-22s %8.2f %8.2f %12.0f %14s %8.1f  %s\n", $1, $2, $3, pps[$1], ($3 > 0 ? sprintf("%.0f", pkts / $3) : "-"), $4 * 1024 / 1e6, $5
			rss[$1] = $4 * 1024 / 1e6
			ppc[$1] = $3 > 0 ? pkts / $3 : pkts / 0.01
		} else {
			printf "%-22s %8s %8s %12s %14s %8s  %s\n", $1, "-", "-", "-", "-", "-", $5
			why[$1] = $5
		}
	}
	END {
		print ""
		n = split("rstscope-ndjson rstscope-conn rstscope-ndjson-1cpu rstscope-conn-1cpu rstscope-track-1cpu old-ndjson old-ndjson-1cpu", rs, " ")
		print "packets/s ratios (by wall time; by CPU time in brackets) and targets:"
		for (i = 1; i <= n; i++) {
			r = rs[i]
			if (!(r in pps)) { if (r in why) printf "%-22s not measured (%s)\n", r, why[r]; continue }
			line = sprintf("%-22s", r)
			if ("tcpdump" in pps) line = line sprintf(" %5.2fx tcpdump (%5.2fx)", pps[r] / pps["tcpdump"], ppc[r] / ppc["tcpdump"])
			if ("tshark" in pps) line = line sprintf(" %6.1fx tshark (%6.1fx)", pps[r] / pps["tshark"], ppc[r] / ppc["tshark"])
			line = line sprintf("  >= 2 M pkt/s: %-3s (%-3s)  RSS <= 100 MB: %s", pps[r] >= 2e6 ? "yes" : "NO", ppc[r] >= 2e6 ? "yes" : "NO", rss[r] <= 100 ? "yes" : "NO")
			print line
		}
		if (("rstscope-ndjson" in pps) && ("tcpdump" in pps))
			printf "issue 14, two cores: rstscope-ndjson %.2fx tcpdump by wall time (target >= 1.0, stretch 1.3): %s; peak RSS %.1f MB (target <= 64): %s\n", pps["rstscope-ndjson"] / pps["tcpdump"], (pps["rstscope-ndjson"] >= pps["tcpdump"] ? "met" : "NOT met"), rss["rstscope-ndjson"], (rss["rstscope-ndjson"] <= 64 ? "met" : "NOT met")
		if (("rstscope-ndjson-1cpu" in ppc) && ("rstscope-track-1cpu" in ppc))
			printf "classification and its output cost %.0f%% over decode + tracking alone (CPU time, one core)\n", 100 * (ppc["rstscope-track-1cpu"] / ppc["rstscope-ndjson-1cpu"] - 1)
	}' "$ROWS"
} | tee "$OUTDIR/results.txt"
