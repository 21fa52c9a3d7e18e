#!/bin/bash
# Builds kube-apiserver from the Go module k8s.io/kubernetes at $K8S_VERSION
# into $K8S_CACHE/bin, and does nothing when that binary is already there.
#
# The module cannot be `go install`ed: its go.mod replaces the k8s.io/*
# staging modules with ./staging paths that the module zip does not hold. A
# copy of the module (outside the repository) drops those replaces and
# requires the published k8s.io/<name> v0.<minor>.<patch> modules instead.
# The build cache is the lane's own ($K8S_CACHE/go-build), so a fresh clone
# on the same machine reuses it and deleting $K8S_CACHE makes the lane cold.
#
# usage: build-apiserver.sh   (prints the binary's path)
set -euo pipefail
GO=${GO:-go}
K8S_VERSION=${K8S_VERSION:-v1.34.2}
K8S_CACHE=${K8S_CACHE:-/var/cache/sriov-rdma-k8s}
out=$K8S_CACHE/bin/kube-apiserver-$K8S_VERSION
if [ -x "$out" ]; then echo "$out"; exit 0; fi

staging=v0.${K8S_VERSION#v1.}
src=$K8S_CACHE/src/kubernetes-$K8S_VERSION
mkdir -p "$K8S_CACHE/bin" "$K8S_CACHE/src"
export GOCACHE=$K8S_CACHE/go-build GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
if [ ! -f "$src/.prepared" ]; then
  rm -rf "$src"
  # Exit status 3: the module cannot be fetched (the lane then skips).
  json=$(cd /tmp && GOFLAGS='' "$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION") ||
    { echo "build-apiserver: cannot download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 3; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<< "$json")
  [ -d "$dir" ] || { echo "build-apiserver: no module directory in: $json" >&2; exit 3; }
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  rm -rf "$src/vendor" "$src/go.work" "$src/go.work.sum"
  # Every replace that points into ./staging becomes a require of the
  # published module at the matching version.
  args=()
  while read -r mod; do
    args+=("-dropreplace=$mod" "-require=$mod@$staging")
  done < <(cd "$src" && "$GO" mod edit -json |
           sed -n '/"Replace"/,$p' | grep -B3 '"Path": "./staging/' |
           sed -n 's/^[[:space:]]*"Path": "\(k8s.io\/[^"]*\)",*$/\1/p')
  [ "${#args[@]}" -gt 0 ] || { echo "build-apiserver: no staging replaces found" >&2; exit 1; }
  (cd "$src" && "$GO" mod edit "${args[@]}")
  touch "$src/.prepared"
fi
(cd "$src" && "$GO" build -trimpath -ldflags '-s -w' -o "$out.tmp" ./cmd/kube-apiserver)
mv "$out.tmp" "$out"
echo "$out"
