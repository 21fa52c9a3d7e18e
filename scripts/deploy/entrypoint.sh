#!/bin/sh
# The image's entrypoint: install the plugin into the node's CNI bin
# directory (mounted at $CNI_BIN_DIR) and check it, in one of three modes:
#
#   once    install atomically (scripts/install.sh), verify, exit: for an
#           init container, or a Job. Exit 0 only when the node's plugin is
#           byte for byte this image's and runs (--version answers).
#   stay    install nothing: wait for TERM, so `kubectl exec` ...
#           `sriov-rdma inspect` has a container to run in, and readiness
#           can compare the node's binary with this image's.
#   serve   once, then stay (the default: a single-container DaemonSet).
#
# usage: entrypoint.sh [once|stay|serve]     (or SRIOV_RDMA_MODE)
# env:   CNI_BIN_DIR   the node's CNI bin directory as mounted in the
#                      container (default /host/cni/bin). The host side is
#                      the DaemonSet's hostPath: /opt/cni/bin on most
#                      distributions, /var/lib/cni/bin on OpenShift.
#        SRIOV_RDMA_HOME  where the image keeps bin/ and scripts/
set -eu

home=${SRIOV_RDMA_HOME:-/opt/sriov-rdma}
dir=${CNI_BIN_DIR:-/host/cni/bin}
mode=${1:-${SRIOV_RDMA_MODE:-serve}}
bin=$home/bin/sriov-rdma

die() {
  echo "entrypoint: $*" >&2
  exit 1
}

# verify: the node's plugin is this image's binary, and it runs there.
verify() {
  cmp -s "$bin" "$dir/sriov-rdma" || die "$dir/sriov-rdma differs from $bin after the install"
  want=$("$bin" --version) || die "$bin --version failed"
  got=$("$dir/sriov-rdma" --version) || die "$dir/sriov-rdma does not run (--version failed)"
  [ "$got" = "$want" ] || die "$dir/sriov-rdma --version says \"$got\", want \"$want\""
  echo "verified $dir/sriov-rdma: $got"
}

once() {
  [ -d "$dir" ] || die "CNI bin directory $dir is not mounted (set CNI_BIN_DIR to its mount path)"
  "$home/scripts/install.sh" -d "$dir" "$bin"
  verify
}

# PID 1 gets no default signal handling: exit at once on TERM instead of
# waiting out the grace period.
stay() {
  sleeper=''
  trap 'kill "$sleeper" 2> /dev/null; exit 0' TERM INT
  while :; do
    sleep 3600 &
    sleeper=$!
    wait "$sleeper" || true
  done
}

case $mode in
  once) once ;;
  stay) stay ;;
  serve)
    once
    stay
    ;;
  *) die "unknown mode \"$mode\": once, stay or serve" ;;
esac
