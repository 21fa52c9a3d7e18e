# sriov-rdma — see README.md. Every target runs on a fresh Debian machine as root.
GO      ?= go
BIN     := bin/sriov-rdma
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.buildVersion=$(VERSION)
TOOLS   := $(CURDIR)/.tools
GOLANGCI_LINT_VERSION := v2.15.0

export CGO_ENABLED := 0

.PHONY: all build build-faultinject test unit e2e demo lint bench vm-e2e clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sriov-rdma

build-faultinject:
	$(GO) build -trimpath -tags faultinject -ldflags '$(LDFLAGS)' -o bin/sriov-rdma-faultinject ./cmd/sriov-rdma

# The README's test command: unit tests (race detector on), then the
# real-kernel e2e lane with the shipped binary.
test: unit e2e

unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

e2e: build
	bash scripts/e2e.sh

demo: build
	bash scripts/demo.sh

lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(TOOLS)/golangci-lint run --allow-serial-runners ./...

clean:
	rm -rf bin

# Harness fragments (VM lane, reliability, bench) live beside their scripts.
-include $(wildcard scripts/*/*.mk)
