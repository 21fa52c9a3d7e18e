# The Kubernetes lane: included by the top-level Makefile. The shipped
# plugin under real Multus (thin), whereabouts and kube-apiserver, on the
# e2e lane's fixture node; the only stand-in is the kubelet's PodResources
# API. Needs root, apt and the Go module proxy the first time: third-party
# builds are cached in K8S_CACHE (default /var/cache/sriov-rdma-k8s) for
# every clone on the machine. Prints "SKIPPED: <reason>" and succeeds when
# a component cannot be fetched. See scripts/k8s/lane.sh.
GO ?= go
K8S_LANE := scripts/k8s/lane.sh

.PHONY: k8s-e2e k8s-lint

k8s-e2e: build
	GO="$(GO)" bash $(K8S_LANE)

# The lane's own module (scripts/k8s) is not under the plugin's ./...:
# `make lint` runs the same linter over it.
lint: k8s-lint

k8s-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	cd scripts/k8s && $(TOOLS)/golangci-lint run ./...
