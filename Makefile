# sriov-rdma — see README.md. Every target runs on a fresh Debian machine as root.
GO      ?= go
BIN     := bin/sriov-rdma
# VERSION: the semver of the latest vX.Y.Z tag, else 0.0.0-<commit>. COMMIT:
# the full commit, -dirty when the tree has changes. Both reach --version and
# every log record. Set both where there is no .git (an image build).
VERSION ?= $(shell git describe --tags --abbrev=0 --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || echo "0.0.0-$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)")
COMMIT  ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo "$$c" || echo "$$c-dirty"; } || echo unknown)
LDFLAGS := -s -w -X main.buildVersion=$(VERSION) -X main.buildCommit=$(COMMIT)
TOOLS   := $(CURDIR)/.tools
GOLANGCI_LINT_VERSION := v2.15.0

export CGO_ENABLED := 0

.PHONY: all build build-faultinject test unit e2e demo lint bench vm-e2e clean print-version print-commit

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

# What `make build` stamps into the binary, for image builds without .git.
print-version:
	@echo $(VERSION)

print-commit:
	@echo $(COMMIT)

# Harness fragments (VM lane, reliability, bench) live beside their scripts.
-include $(wildcard scripts/*/*.mk)
