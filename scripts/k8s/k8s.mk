# The Kubernetes lane: included by the top-level Makefile. The shipped
# plugin under real Multus (thin), whereabouts and kube-apiserver, on the
# e2e lane's fixture node; the only stand-in is the kubelet's PodResources
# API. Needs root, apt and the Go module proxy the first time: third-party
# builds are cached in K8S_CACHE (default /var/cache/sriov-rdma-k8s) for
# every clone on the machine. Prints "SKIPPED: <reason>" and succeeds when
# a component cannot be fetched. See scripts/k8s/lane.sh.
GO ?= go
K8S_LANE := scripts/k8s/lane.sh
K8S_CACHE ?= /var/cache/sriov-rdma-k8s

.PHONY: k8s-e2e k8s-lint

k8s-e2e: build
	GO="$(GO)" K8S_CACHE="$(K8S_CACHE)" bash $(K8S_LANE)

# The lane's own module (scripts/k8s) is not under the plugin's ./...:
# `make lint` runs the same linter over it. It compiles client-go and gRPC
# to type-check; with the lane's build cache and flags (when the cache is
# writable) those compiled packages are the ones the lane's Multus build
# then reuses, so a cold CI machine compiles them once.
lint: k8s-lint

k8s-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	cd scripts/k8s && if mkdir -p "$(K8S_CACHE)" 2>/dev/null && [ -w "$(K8S_CACHE)" ]; then \
	  export GOCACHE="$(K8S_CACHE)/go-build" GOFLAGS=-trimpath; fi; $(TOOLS)/golangci-lint run ./...
