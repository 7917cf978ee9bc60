#!/usr/bin/env bash
# check-bpf-generated.sh proves that kernel/'s committed bpf2go output is
# what its C source produces today.
#
# It copies kernel/*.c, kernel/*.h (including the committed vmlinux.h) and
# kernel/gen.go into a temporary directory, runs every //go:generate line of
# gen.go there (bpf2go, the version pinned in go.mod), and compares:
#   - kernel/*_bpfel.o byte for byte: bpf2go strips DWARF (llvm-strip -g);
#     the BTF and CO-RE relocations that remain name source files relative
#     to "." because gen.go passes -fdebug-prefix-map=$PWD=. and
#     -fdebug-compilation-dir=., so the directory it is built in does not
#     matter;
#   - kernel/*_bpfel.go byte for byte.
# vmlinux.h is not regenerated: it is bpftool's dump of the BTF of the
# kernel it was made on (Linux 6.18), committed so the objects do not depend
# on the build host's kernel. Regenerate it deliberately with
#   bpftool btf dump file /sys/kernel/btf/vmlinux format c > kernel/vmlinux.h
#
# Objects are only byte-identical with the same clang major version as the
# committed ones (Debian clang 14); the script says so when it differs.
# Needs: go, clang, llvm-strip (llvm), libbpf headers (libbpf-dev).
# Exit status: 0 current, 1 mismatch, 2 cannot run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
want_clang=14

for tool in go clang llvm-strip; do
	command -v "$tool" >/dev/null || { echo "check-bpf-generated: $tool not found (apt-get install clang llvm libbpf-dev)" >&2; exit 2; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "check-bpf-generated: libbpf headers not found (apt-get install libbpf-dev)" >&2; exit 2; }
have_clang=$(clang -dumpversion | cut -d. -f1)
if [ "$have_clang" != "$want_clang" ]; then
	echo "check-bpf-generated: note: clang $have_clang here, objects were generated with clang $want_clang; a byte mismatch may be the compiler, not the source" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/kernel"
cp "$repo"/kernel/*.c "$repo"/kernel/*.h "$repo"/kernel/gen.go "$tmp/kernel/"
(cd "$repo" && go build -o "$tmp/bpf2go" github.com/cilium/ebpf/cmd/bpf2go)

# Run gen.go's directives as go generate would: in the package directory,
# with GOPACKAGE, GOFILE and PWD set, quotes and $VARS expanded by the shell.
(
	cd "$tmp/kernel"
	export GOPACKAGE=kernel GOFILE=gen.go PWD="$tmp/kernel"
	grep '^//go:generate ' gen.go | sed 's|^//go:generate go run github.com/cilium/ebpf/cmd/bpf2go|"$BPF2GO"|' |
		while IFS= read -r line; do
			BPF2GO="$tmp/bpf2go" eval "$line" >/dev/null
		done
)

status=0
shopt -s nullglob
for f in "$tmp"/kernel/*_bpfel.o "$tmp"/kernel/*_bpfel.go; do
	name=$(basename "$f")
	if ! cmp -s "$f" "$repo/kernel/$name"; then
		echo "check-bpf-generated: kernel/$name differs from what its source produces; run: go generate ./kernel" >&2
		status=1
	fi
done
for f in "$repo"/kernel/*_bpfel.o "$repo"/kernel/*_bpfel.go; do
	[ -e "$tmp/kernel/$(basename "$f")" ] || { echo "check-bpf-generated: kernel/$(basename "$f") is no longer generated" >&2; status=1; }
done
[ "$status" = 0 ] && echo "check-bpf-generated: kernel/ eBPF objects and Go bindings are current"
exit "$status"
