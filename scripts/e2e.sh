#!/bin/bash
# The real-kernel e2e lane: the shipped bin/sriov-rdma, unchanged,
# driven by cnitool and libcni the way Multus and runtimes drive it, against
# a real kernel. A fixture sysfs (a PF with VFs, RDMA entries) is mounted over
# /sys in a private mount namespace; the VF netdevs are veth ends whose peers
# meet on a bridge in a "fabric" namespace, so pods really talk over them.
#
# usage: scripts/e2e.sh [-v] [CASE...]    (make e2e; part of make test)
#   CASE   run only these cases (names or numbers: add, 2, gc, ...)
#   -v     print every command the lane runs
#   -list  list the cases
# Prints PASS/FAIL per case and "N passed, N failed"; exits 1 on any failure.
# Needs root. Installs the pinned cnitool, host-local, loopback and tuning into .tools/bin
# (git-ignored) with go install, and iproute2 with apt-get if ip is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"

e2e_preflight
e2e_tools
e2e_run "$@"
