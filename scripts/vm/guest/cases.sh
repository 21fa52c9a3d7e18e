#!/bin/bash
# Guest-side case runner of the QEMU lane. Runs inside the guest,
# against the real kernel's SR-IOV (emulated igb/igbvf) and Soft-RoCE paths,
# with the real sriov-rdma binary driven by cnitool and host-local.
#
# usage: cases.sh PHASE
#   smoke     environment only: drivers, VFs, RDMA netns mode, rxe devices,
#             tools present, plus the kernel paths the plugin relies on done
#             by hand with ip/rdma (no plugin needed); smoke-old: the same
#             on 6.1, where the rxe netns move is expected to fail
#   exclusive 7.x kernel, exclusive RDMA netns mode: cases 1-6, 8 (crash
#             mid-ADD) and crash mid-DEL
#   shared    7.x kernel, shared mode: case 7 (rdma required/auto)
#   old       6.1 kernel (rxe cannot change netns: EOPNOTSUPP), exclusive
#             mode: rdma required refused, auto netdev-only
# One RDMA netns mode per boot, because the mode can only change while init
# is the only netns.
#
# Prints "PASS <name>", "FAIL <name>: <reason>" (followed by the case's own
# output and the plugin's log), "SKIP <name>: <reason>", and finally
# "N passed, N failed"; exits 1 when any case failed.
set -euo pipefail
PHASE=${1:?usage: cases.sh smoke|exclusive|shared|old}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PASSED=0 FAILED=0 SKIPPED=0

# Runs one case in a subshell with errexit and errtrace, so an unexpected
# command failure ends just that case and names the line; fail/skip leave
# their reason in $R/reason. (A function called from an `if` would run with
# errexit silently off, hence the explicit status handling.)
run_case() {
  local name=$1 fn=$2 rc t0 t1
  : > "$R/reason"
  t0=$(now)
  set +e
  (
    set -Eeuo pipefail
    trap 'rc=$?; [ -s "$R/reason" ] || echo "line $LINENO: \`$BASH_COMMAND\` exited $rc" > "$R/reason"' ERR
    "$fn"
  ) > "$R/case.log" 2>&1
  rc=$?
  set -e
  t1=$(now)
  local took
  took=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1fs", b - a}')
  case $rc in
    0)
      PASSED=$((PASSED + 1))
      echo "PASS $name ($took)"
      grep '^  note:' "$R/case.log" || true
      ;;
    77)
      SKIPPED=$((SKIPPED + 1))
      echo "SKIP $name: $(cat "$R/reason")"
      ;;
    *)
      FAILED=$((FAILED + 1))
      echo "FAIL $name: $(cat "$R/reason" 2>/dev/null || echo "exit $rc") ($took)"
      sed 's/^/    | /' "$R/case.log"
      ;;
  esac
}

# Setup failure means no case can say anything: report it as one failure.
setup_or_die() {
  local mode=$1 out
  local t0
  t0=$(now)
  if ! out=$({ load_modules && set_rdma_mode "$mode"; } 2>&1); then
    echo "FAIL setup: $out"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "setup: modules loaded in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1fs", b - a}')"
  # setup_vfs sets globals (PF, VF_PCI, ...): not in a subshell.
  if ! setup_vfs > "$R/setup.log" 2>&1; then
    echo "FAIL setup: $(tr '\n' ' ' < "$R/setup.log")"
    dmesg | tail -20
    echo "0 passed, 1 failed"
    exit 1
  fi
  local i
  for ((i = 0; i < NUMVFS; i++)); do save_orig "$i"; done
  echo "setup: kernel $(uname -r), rdma $(rdma system show | head -1), PF $PF ($PF_PCI), done at $(now)s ($(grep ' at ' "$R/setup.log" | tr '\n' ' '))"
  for ((i = 0; i < NUMVFS; i++)); do
    echo "  VF$i ${VF_PCI[i]} ${VF_DEV[i]} $(cat "/sys/class/net/${VF_DEV[i]}/address") ${VF_RDMA[i]}"
  done
}

need_plugin() {
  [ -x "$CNI_PATH/sriov-rdma" ] || skip "no sriov-rdma binary in the payload"
}

# The cases, one file per group.
for f in smoke cases_core cases_crash cases_edge cases_modes; do
  # shellcheck source=/dev/null
  . "$(dirname "$0")/$f.sh"
done

# ---------------------------------------------------------------------------
case $PHASE in
  smoke)
    setup_or_die exclusive
    run_case env smoke_env
    run_case tools smoke_tools
    run_case pf-side-settings smoke_pf_settings
    run_case manual-cni-path smoke_manual_path
    run_case netns-gone-returns-vf smoke_netns_gone
    ;;
  smoke-old)
    setup_or_die exclusive
    run_case env smoke_env
    run_case tools smoke_tools
    run_case pf-side-settings smoke_pf_settings
    run_case manual-cni-path smoke_manual_path
    ;;
  exclusive)
    setup_or_die exclusive
    run_case add-settings case_add_settings
    run_case two-pods-traffic case_two_pods
    run_case check-detects-vlan-drift case_check_vlan_drift
    run_case del-restores case_del_restores
    run_case netns-gone-del case_netns_gone
    run_case unsupported-link_state case_unsupported_link_state
    run_case unsupported-min_tx_rate case_unsupported_min_tx_rate
    run_case unsupported-802.1ad case_unsupported_8021ad
    run_case crash-mid-add case_crash_mid_add
    run_case crash-mid-del case_crash_mid_del
    run_case untrusted-mac case_untrusted_mac
    run_case operator-rendered case_operator_rendered
    run_case limbo-del-retry case_limbo_del_retry
    run_case reclaim-then-proceed case_reclaim_then_proceed
    run_case pf-renamed-del case_pf_renamed_del
    run_case vf-destroyed-del case_vf_destroyed_del
    ;;
  shared)
    setup_or_die shared
    run_case rdma-required-shared-refused case_required_shared
    run_case rdma-auto-shared-proceeds case_auto_shared
    ;;
  old)
    setup_or_die exclusive
    run_case old-kernel-rdma-required-refused case_old_required
    run_case old-kernel-rdma-auto-netdev-only case_old_auto
    ;;
  *)
    echo "cases.sh: unknown phase $PHASE" >&2
    exit 2
    ;;
esac
# Skips are neither passes nor failures; the closing line stays the plain
# "N passed, N failed" the lane and CI read.
[ "$SKIPPED" -eq 0 ] || echo "skipped: $SKIPPED"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
