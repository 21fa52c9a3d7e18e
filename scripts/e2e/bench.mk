# The measurement harness (README: Performance): included by the top-level Makefile.
# `make bench` builds the shipped binary, then scripts/bench.sh measures it
# on the e2e lane's test node against host-device and the floor of the work,
# and prints the table (also .tools/bench-results.md). Needs root.
# `make bench-micro` is only the Go micro-benchmarks: no root, no kernel.
GO ?= go

.PHONY: bench bench-micro

bench: build
	GO="$(GO)" bash scripts/bench.sh

bench-micro:
	$(GO) test -run '^$$' -bench . -benchtime 1s ./pkg/...
