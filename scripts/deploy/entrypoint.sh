#!/bin/sh
# The DaemonSet container's entrypoint: install the plugin into the host's
# CNI bin directory (mounted at $CNI_BIN_DIR), then stay up, so the pod's
# readiness says the node has this image's binary and an operator can run
# `kubectl exec` ... `sriov-rdma inspect` in it. A new image rolled out by the
# DaemonSet installs its binary the same way, atomically.
set -eu

home=${SRIOV_RDMA_HOME:-/opt/sriov-rdma}
dir=${CNI_BIN_DIR:-/host/opt/cni/bin}

"$home/scripts/install.sh" -d "$dir" "$home/bin/sriov-rdma"

# PID 1 gets no default signal handling: exit at once on TERM instead of
# waiting out the grace period.
sleeper=''
trap 'kill "$sleeper" 2> /dev/null; exit 0' TERM INT
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper" || true
done
