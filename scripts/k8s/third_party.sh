# shellcheck shell=bash
# Builds or fetches the k8s lane's third-party components into the cache
# ($K8S_CACHE, outside the clone, so a fresh clone on the same machine
# reuses them) and never into the repository. Sourced by lane.sh, which sets
# GO, ROOT, HERE, K8S_CACHE and LOGS. Each function sets a variable to the
# path of what it made (they run in the lane's shell, so that a skip ends
# the lane); a component that cannot be fetched ends the lane with
# "SKIPPED: <reason>" (exit 0), a component that fails to build fails it.

K8S_VERSION=v1.34.2
MULTUS_VERSION=4.3.0
MULTUS_COMMIT=db30741512795c258b3ba383a571a66850e8baac
MULTUS_SHA256=43a3912505ce8464587e923ba432be759f2d0ec56c2975f780599a4f0b99161d
WHEREABOUTS_VERSION=v0.9.2
PLUGINS_VERSION=v1.10.0 # containernetworking/plugins, as the e2e lane's host-local

skip() { echo "SKIPPED: $*"; exit 0; }

# Third-party builds share one build cache, so the PodResources stand-in
# reuses the client-go and gRPC packages Multus compiled.
third_party_env() {
  export GOCACHE=$K8S_CACHE/go-build GOWORK=off CGO_ENABLED=0
}

# etcd from Debian's etcd-server package, unpacked, not installed: no
# service starts on the machine, no system file changes.
fetch_etcd() {
  local dir=$K8S_CACHE/etcd deb
  if [ ! -x "$dir/usr/bin/etcd" ]; then
    rm -rf "$dir" && mkdir -p "$dir/deb"
    (cd "$dir/deb" && apt-get download etcd-server > "$LOGS/apt-etcd.log" 2>&1) ||
      { apt-get update -q > /dev/null 2>&1 && (cd "$dir/deb" && apt-get download etcd-server >> "$LOGS/apt-etcd.log" 2>&1); } ||
      skip "cannot fetch Debian's etcd-server package with apt-get ($(tail -1 "$LOGS/apt-etcd.log"))"
    deb=$(ls "$dir"/deb/etcd-server_*.deb)
    dpkg-deb -x "$deb" "$dir"
  fi
  ETCD_BIN=$dir/usr/bin/etcd
}

# The Multus source tarball: MULTUS_TARBALL, else shared/third_party in or
# beside the clone. Its checksum is verified before anything is built.
multus_tarball() {
  local t
  for t in "${MULTUS_TARBALL:-}" "$ROOT/shared/third_party" "$ROOT/../shared/third_party" /work/shared/third_party; do
    [ -n "$t" ] || continue
    [ -d "$t" ] && t=$t/multus-cni-$MULTUS_VERSION-src.tar.gz
    [ -f "$t" ] && { echo "$t"; return 0; }
  done
  return 1
}

# Multus thin plugin, daemon and shim, built from the verified tarball.
build_multus() {
  local out=$K8S_CACHE/bin/multus-$MULTUS_VERSION src tarball sum
  if [ ! -x "$out/multus" ] || [ ! -x "$out/multus-daemon" ] || [ ! -x "$out/multus-shim" ]; then
    tarball=$(multus_tarball) || skip "no Multus $MULTUS_VERSION source tarball (set MULTUS_TARBALL, or put shared/third_party beside the clone)"
    sum=$(sha256sum "$tarball" | cut -d' ' -f1)
    [ "$sum" = "$MULTUS_SHA256" ] || { echo "lane: $tarball has sha256 $sum, want $MULTUS_SHA256" >&2; exit 1; }
    src=$K8S_CACHE/src
    rm -rf "$src/multus-cni-$MULTUS_VERSION" && mkdir -p "$src" "$out"
    tar -xzf "$tarball" -C "$src"
    local pkg=gopkg.in/k8snetworkplumbingwg/multus-cni.v4/pkg/multus
    (cd "$src/multus-cni-$MULTUS_VERSION" && third_party_env &&
      GOFLAGS=-mod=mod "$GO" build -trimpath \
        -ldflags "-s -w -X $pkg.version=$MULTUS_VERSION -X $pkg.commit=$MULTUS_COMMIT" \
        -o "$out/" ./cmd/multus ./cmd/multus-daemon ./cmd/multus-shim) > "$LOGS/build-multus.log" 2>&1 ||
      build_failed multus "$LOGS/build-multus.log"
  fi
  MULTUS_DIR=$out
}

# whereabouts from its Go module, built in a scratch module that repeats
# its one replace directive (the module's own go.mod is not used by a
# dependent). WHEREABOUTS_MOD is the module's directory: its CRDs live there.
build_whereabouts() {
  local out=$K8S_CACHE/bin/whereabouts-$WHEREABOUTS_VERSION mod=$K8S_CACHE/src/whereabouts-build
  if [ ! -x "$out/whereabouts" ]; then
    rm -rf "$mod" && mkdir -p "$mod" "$out"
    (cd "$mod" && third_party_env && export GOFLAGS=-mod=mod &&
      "$GO" mod init sriov-rdma.k8s-lane/whereabouts-build &&
      "$GO" mod edit -require=github.com/k8snetworkplumbingwg/whereabouts@$WHEREABOUTS_VERSION \
        -replace=github.com/gogo/protobuf=github.com/gogo/protobuf@v1.3.2 &&
      printf 'package main\n\nimport _ "github.com/k8snetworkplumbingwg/whereabouts/cmd"\n' > tools.go &&
      "$GO" mod tidy &&
      "$GO" build -trimpath -ldflags '-s -w' -o "$out/whereabouts" github.com/k8snetworkplumbingwg/whereabouts/cmd) \
      > "$LOGS/build-whereabouts.log" 2>&1 || {
      grep -qiE 'dial|lookup|connection|proxy|timeout' "$LOGS/build-whereabouts.log" &&
        skip "cannot fetch whereabouts $WHEREABOUTS_VERSION through the Go module proxy"
      build_failed whereabouts "$LOGS/build-whereabouts.log"
    }
  fi
  WHEREABOUTS_BIN=$out/whereabouts
  WHEREABOUTS_MOD=$(cd /tmp && GOFLAGS='' "$GO" mod download -json "github.com/k8snetworkplumbingwg/whereabouts@$WHEREABOUTS_VERSION" 2> /dev/null |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [ -d "$WHEREABOUTS_MOD/doc/crds" ] ||
    skip "cannot fetch whereabouts $WHEREABOUTS_VERSION's module (its CRDs) through the Go module proxy"
}

# macvlan, the cluster network's plugin.
build_macvlan() {
  local out=$K8S_CACHE/bin/plugins-$PLUGINS_VERSION
  if [ ! -x "$out/macvlan" ]; then
    mkdir -p "$out"
    (third_party_env && GOBIN=$out "$GO" install "github.com/containernetworking/plugins/plugins/main/macvlan@$PLUGINS_VERSION") \
      > "$LOGS/build-macvlan.log" 2>&1 ||
      skip "cannot fetch containernetworking/plugins $PLUGINS_VERSION through the Go module proxy"
  fi
  MACVLAN_BIN=$out/macvlan
}

# kube-apiserver: the long pole (about 11 minutes cold on 2 cores), so it
# builds in the background while the other components build or download:
# start_apiserver starts it, wait_apiserver collects it.
start_apiserver() {
  (
    third_party_env
    rc=0
    K8S_VERSION=$K8S_VERSION K8S_CACHE=$K8S_CACHE GO=$GO "$HERE/build-apiserver.sh" \
      > "$LOGS/kube-apiserver.path" 2> "$LOGS/build-kube-apiserver.log" || rc=$?
    echo "$rc" > "$LOGS/kube-apiserver.rc"
  ) &
  APISERVER_PID=$!
}

wait_apiserver() {
  local rc
  wait "$APISERVER_PID" || true
  rc=$(cat "$LOGS/kube-apiserver.rc" 2> /dev/null || echo 1)
  [ "$rc" = 3 ] && skip "cannot fetch k8s.io/kubernetes@$K8S_VERSION through the Go module proxy"
  [ "$rc" = 0 ] || build_failed kube-apiserver "$LOGS/build-kube-apiserver.log"
  APISERVER_BIN=$(cat "$LOGS/kube-apiserver.path")
}

# The lane's own Go module (scripts/k8s): vetted and tested, then the
# PodResources stand-in built. Its tests include the measurement of which
# device-info fields Multus keeps.
build_lane_module() {
  local out=$K8S_CACHE/lane-bin
  mkdir -p "$out"
  # -trimpath as in the Multus build: the same action IDs, so the packages
  # both use (client-go, gRPC) compile once.
  (cd "$HERE" && third_party_env && export GOFLAGS="-mod=readonly -trimpath" &&
    "$GO" vet ./... && "$GO" test -count=1 -v ./... &&
    "$GO" build -o "$out/sriov-rdma-podresources" ./podresources) > "$LOGS/build-lane.log" 2>&1 ||
    build_failed "the lane's module (scripts/k8s: vet, test, build)" "$LOGS/build-lane.log"
  sed -n 's/^ok[[:space:]]*/  go test: ok /p; s/^[[:space:]]*fields_test.go:[0-9]*: measured: /  measured: /p' "$LOGS/build-lane.log"
  STANDIN_BIN=$out/sriov-rdma-podresources
}

build_failed() {
  tail -20 "$2" >&2
  echo "FAIL build: $1 (log: $2)"
  echo "0 passed, 1 failed"
  exit 1
}
