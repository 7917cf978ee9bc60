# rstscope's one test command is `make test`: it installs what the tests need
# (as root), vets, runs every test (root-only tests skip with a reason when not
# root), runs each benchmark once so they keep working, and checks that the
# committed eBPF objects match their C source.
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

.PHONY: test build setup vet bench-once bpf-check

build:
	CGO_ENABLED=0 go build -o rstscope ./cmd/rstscope

setup:
	./scripts/setup.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...

test: setup vet
	CGO_ENABLED=0 go build ./...
	for os in darwin windows; do GOOS=$$os CGO_ENABLED=0 go build ./... || exit 1; done
	go test -count=1 -timeout 30m ./...
	go test -count=1 -run '^$$' -bench . -benchtime=1x ./...
	@if [ -x scripts/check-bpf-generated.sh ]; then ./scripts/check-bpf-generated.sh; fi
