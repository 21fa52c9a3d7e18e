#!/bin/bash
# The Kubernetes lane: the shipped bin/sriov-rdma as the delegate of real
# Multus (v4.3.0: the thin plugin, then multus-daemon with multus-shim), with
# real whereabouts (v0.9.2) and host-local as IPAM, against a real
# kube-apiserver (v1.34.2) and etcd
# (Debian's 3.4), on the e2e lane's fixture node (veth VFs, fixture sysfs,
# private mount and network namespaces: no QEMU). The only stand-in is the
# kubelet's PodResources API; the lane plays the kubelet (admits pods, gives
# them VFs, runs CNI through libcni as containerd does).
#
# usage: scripts/k8s/lane.sh [-v] [CASE...]      (make k8s-e2e; run by .ci/run)
# env:   GO (go), K8S_CACHE (/var/cache/sriov-rdma-k8s: third-party builds,
#        reused by every clone on the machine), MULTUS_TARBALL (the Multus
#        source tarball; default shared/third_party beside the clone),
#        MULTUS_FLAVOURS ("thin thick": the Multus flavours to run)
#
# Prints PASS/FAIL per case, what it measured, "N passed, N failed" and the
# time of each phase; exits 1 on any failure. When a component cannot be
# fetched (apt, the Go module proxy, the Multus tarball) it prints
# "SKIPPED: <reason>" and exits 0: no fetch, no verdict. Needs root.
set -euo pipefail
trap 'echo "lane: line $LINENO: exit $?" >&2' ERR

HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}
K8S_CACHE=${K8S_CACHE:-/var/cache/sriov-rdma-k8s}
WORK=$ROOT/.cache/k8s # git-ignored: the component links, the logs
LOGS=$WORK/logs

verbose=()
while [ $# -gt 0 ] && [ "$1" = -v ]; do verbose=(-v); shift; done

ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }
T0=$(ms)

# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=third_party.sh
. "$HERE/third_party.sh"

e2e_preflight
rm -rf "$LOGS" && mkdir -p "$LOGS" "$K8S_CACHE"
# One build at a time per cache: two lanes unpacking the same tarball or
# writing the same binary would race.
exec 9> "$K8S_CACHE/.lock"
flock 9

# When another component cannot be fetched the lane ends with SKIPPED and
# the background build runs on to fill the cache (holding its lock).
start_apiserver
fetch_etcd
T_ETCD=$(ms)
build_multus
T_MULTUS=$(ms)
build_whereabouts
build_macvlan
T_WB=$(ms)
build_lane_module
T_LANEMOD=$(ms)
wait_apiserver
T_API=$(ms)
flock -u 9

# The driver finds each component by a fixed name under $WORK.
rm -rf "$WORK/bin" "$WORK/manifests"
mkdir -p "$WORK/bin" "$WORK/manifests"
ln -s "$ETCD_BIN" "$WORK/bin/etcd"
ln -s "$APISERVER_BIN" "$WORK/bin/kube-apiserver"
for b in multus multus-daemon multus-shim; do ln -s "$MULTUS_DIR/$b" "$WORK/bin/$b"; done
ln -s "$WHEREABOUTS_BIN" "$WORK/bin/whereabouts"
ln -s "$MACVLAN_BIN" "$WORK/bin/macvlan"
ln -s "$STANDIN_BIN" "$WORK/bin/sriov-rdma-podresources"
for f in multus-daemonset.yml multus-daemonset-thick.yml; do
  ln -s "$K8S_CACHE/src/multus-cni-$MULTUS_VERSION/deployments/$f" "$WORK/manifests/$f"
done
ln -s "$WHEREABOUTS_MOD/doc/crds/daemonset-install.yaml" "$WORK/manifests/whereabouts-install.yaml"
for f in ippools overlappingrangeipreservations nodeslicepools; do
  ln -s "$WHEREABOUTS_MOD/doc/crds/whereabouts.cni.cncf.io_$f.yaml" "$WORK/manifests/whereabouts.cni.cncf.io_$f.yaml"
done
[ -f "$WORK/manifests/multus-daemonset-thick.yml" ] || { echo "lane: Multus's source has no deployments/multus-daemonset*.yml" >&2; exit 1; }

e2e_tools
T_TOOLS=$(ms)

plugin_version=$(cd "$ROOT" && git describe --always --dirty 2> /dev/null || echo '?')
etcd_version=$("$ETCD_BIN" --version | sed -n 's/^etcd Version: //p')
# The cases under thin Multus, then under thick Multus (multus-daemon as a
# host process, multus-shim as the CNI binary). Each run prints its own
# "N passed, N failed"; the lane adds them up.
rc=0 total_pass=0 total_fail=0 summary=()
for flavour in ${MULTUS_FLAVOURS:-thin thick}; do
  echo "=== k8s lane, Multus $MULTUS_VERSION $flavour: kube-apiserver $K8S_VERSION, etcd $etcd_version, whereabouts $WHEREABOUTS_VERSION, plugin $plugin_version"
  out=$LOGS/cases-$flavour.out
  t=$(ms)
  e2e_run k8s "${verbose[@]}" -- -k8s "$WORK" -logs "$LOGS" -multus "$flavour" "$@" | tee "$out" || rc=1
  closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 || true)
  if [ -z "$closing" ]; then
    echo "FAIL $flavour: the driver did not finish (see $out)"
    total_fail=$((total_fail + 1))
    continue
  fi
  np=${closing%% passed*} nf=${closing#*, } nf=${nf%% failed*}
  total_pass=$((total_pass + np)) total_fail=$((total_fail + nf))
  summary+=("$flavour $(secs $(($(ms) - t)))")
done
T_END=$(ms)
echo "=== k8s lane timings: etcd $(secs $((T_ETCD - T0))), multus $(secs $((T_MULTUS - T_ETCD))), whereabouts+macvlan $(secs $((T_WB - T_MULTUS))), lane module $(secs $((T_LANEMOD - T_WB))), then waiting for kube-apiserver (built alongside since the start) $(secs $((T_API - T_LANEMOD))), e2e tools $(secs $((T_TOOLS - T_API))), ${summary[*]}, total $(secs $((T_END - T0)))"
echo "$total_pass passed, $total_fail failed"
[ "$rc" = 0 ] && [ "$total_fail" = 0 ]
