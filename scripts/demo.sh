#!/bin/bash
# make demo: what sriov-rdma does, on this machine, in one command. It makes a
# throwaway node (a fake SR-IOV PF with two VFs, mounted over /sys in a private
# mount namespace; the VFs are veth ends) and a pod network namespace, then
# runs ADD, CHECK and DEL with cnitool and shows what changed after each.
# Everything lives in namespaces that vanish when it ends, even on Ctrl-C.
#
# usage: scripts/demo.sh [-v]    (make demo builds bin/sriov-rdma first)
# Needs root. Installs the pinned cnitool and host-local into .tools/bin
# (git-ignored) with go install, and iproute2 with apt-get if ip is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"

e2e_preflight
e2e_tools
e2e_run demo "$@"
