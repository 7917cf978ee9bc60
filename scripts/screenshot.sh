#!/usr/bin/env bash
# screenshot.sh — photograph an rstscope HTML report with headless Chromium,
# at a desktop width and a narrow one, and measure how long it takes to load.
#
#   scripts/screenshot.sh [-w "1400 480"] [-H HEIGHT] PAGE.html OUT-PREFIX
#
# Writes OUT-PREFIX-<width>.png for each width and prints one line per width:
# "PAGE width W: loaded in N ms (DOMContentLoaded M ms), B bytes". The load
# time comes from a copy of the page with one line of script added that
# writes performance.now() at the load event into the title, read back with
# --dump-dom; the screenshots are of the page itself.
# Needs chromium (scripts/setup.sh installs it as root). No network: the page
# is self-contained and Chromium runs with its background traffic off.
set -euo pipefail

WIDTHS="1400 480"
HEIGHT=2400
while getopts "w:H:h" opt; do
	case $opt in
	w) WIDTHS=$OPTARG ;;
	H) HEIGHT=$OPTARG ;;
	*) sed -n '2,12p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { sed -n '2,12p' "$0"; exit 2; }
PAGE=$(realpath -- "$1") OUT=$2
[ -f "$PAGE" ] || { echo "screenshot: $1: no such file" >&2; exit 1; }
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || { echo "screenshot: chromium not found (apt: chromium; scripts/setup.sh installs it)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
chrome() {
	"$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$(mktemp -d -p "$TMP")" "$@" 2>/dev/null
}

sed 's|</body>|<script>addEventListener("load",function(){var n=performance.getEntriesByType("navigation")[0];document.title="rstscope-load "+Math.round(performance.now())+" "+Math.round(n?n.domContentLoadedEventEnd:0)})</script></body>|' \
	"$PAGE" >"$TMP/timed.html"
for w in $WIDTHS; do
	chrome --window-size="$w,$HEIGHT" --screenshot="$OUT-$w.png" "file://$PAGE" >/dev/null
	t=$(chrome --window-size="$w,$HEIGHT" --dump-dom "file://$TMP/timed.html" | grep -o 'rstscope-load [0-9]* [0-9]*' || true)
	read -r _ load dcl <<<"$t" || true
	[ -s "$OUT-$w.png" ] || { echo "screenshot: chromium wrote no $OUT-$w.png" >&2; exit 1; }
	echo "$PAGE width $w: loaded in ${load:-?} ms (DOMContentLoaded ${dcl:-?} ms), $(stat -c %s "$PAGE") bytes -> $OUT-$w.png"
done
