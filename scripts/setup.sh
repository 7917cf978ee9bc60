#!/usr/bin/env bash
# Installs what rstscope's tests need on a fresh Debian machine: the kernel
# tools the root tests drive (iproute2, nftables, iptables), the peers the
# benchmark compares with (tcpdump, tshark) and the eBPF toolchain the
# generated-object check rebuilds with (clang, llvm, bpftool, libbpf-dev), and
# man-db with groff for the test that renders the man page (man -l), and the
# headless browser the HTML report's test and screenshots use (chromium), and
# the real software whose logs analyze --logs joins to resets (nginx-light,
# haproxy; their root test runs them in a namespace of its own), and, for the
# truth harness's real-software test set (bench/realtruth), redis-server
# (with redis-cli) and curl, and the wider set's apache2, memcached,
# postgresql, pgbouncer and varnish (only mkrealtruth.sh's full run or -k
# starts them; apache2, memcached and pgbouncer took 15 s to install here,
# varnish 12 s), and Prometheus, which watch's end-to-end test
# runs to scrape it. The log store that test pushes findings to (VictoriaLogs:
# Loki's push API and OTLP; Debian's package named loki is an unrelated
# genetics program) is not packaged: it is built from the Go module proxy at a
# pinned version into ~/go/bin.
# Without root it only says what is missing; the tests that need it skip.
set -euo pipefail

want=(iproute2 procps nftables iptables tcpdump tshark clang llvm libbpf-dev bpftool time man-db groff-base chromium nginx-light haproxy redis-server redis-tools curl apache2 memcached postgresql pgbouncer varnish prometheus)
# bench/realtruth's client-software kinds (mkrealtruth.sh -k; not the root test): wget, ab,
# h2load, python3 and openssl (a self-signed certificate) beside chromium.
want+=(wget apache2-utils nghttp2-client python3 openssl)
# Pinned: keep equal to victoriaLogsVersion in cmd/rstscope/watch_fleet_linux_test.go.
vlogs=github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1
gobin="${GOBIN:-$HOME/go/bin}"
if ! command -v victoria-logs >/dev/null && [ ! -x "$gobin/victoria-logs" ]; then
	gocmd=$(command -v go || echo /usr/local/go/bin/go)
	echo "setup: building victoria-logs (a few minutes, once)" >&2
	GOBIN="$gobin" nice "$gocmd" install "$vlogs" >&2 ||
		echo "setup: could not build victoria-logs; TestWatchLogStore will skip" >&2
fi

missing=()
for p in "${want[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "setup: not installing ${missing[*]} (needs root and apt-get); tests that need them will skip" >&2
	exit 0
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A registry hiccup should not fail the run: try twice.
for try in 1 2; do
	apt-get update -qq >/dev/null || { sleep 5; continue; }
	# bpftool is packaged as bpftool on Debian 12+ and linux-bpftool before it.
	if apt-get install -y -qq "${missing[@]}" >/dev/null ||
		apt-get install -y -qq "${missing[@]/bpftool/linux-bpftool}" >/dev/null; then
		exit 0
	fi
	sleep 5
done
echo "setup: could not install ${missing[*]}; the tests that need them will fail or skip" >&2
