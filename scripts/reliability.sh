#!/bin/bash
# The reliability harnesses (README: Guarantees), in the real-kernel e2e lane (the
# same throwaway mount + network namespace, fixture sysfs and veth VFs as
# scripts/e2e.sh; see scripts/e2e/main.go):
#
#   crash     every fault point of ADD and DEL: the fault-injection build
#             (bin/sriov-rdma-faultinject) SIGKILLed there, then DEL, GC or
#             a retried ADD must restore everything    (scripts/e2e/crash.go)
#   stress    64 concurrent ADDs then DELs over 64 VFs, N rounds; same-VF
#             races of two pods                        (scripts/e2e/stress.go)
#   hostile   malformed invocations of the plugin, each refused with its
#             CNI error code, the host unchanged       (scripts/e2e/hostile.go)
#   all       the three in turn, then a grand total
#
# usage: scripts/reliability.sh [-v] crash|stress|hostile|all [HARNESS ARGS...]
#   crash   [-points P1,P2]          only these fault points
#   stress  [-rounds N] [-races N]   default 20 and 20
#   all     [-rounds N] [-races N]   passed to stress
# Each harness prints PASS/FAIL per case, its figures and "N passed, N
# failed"; the exit status is 1 on any failure. Needs root (make crash,
# make stress, make hostile, make reliability, make reliability-ci).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"

usage() { sed -n '15,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

verbose=()
while [ $# -gt 0 ] && [ "$1" = -v ]; do verbose=(-v); shift; done
[ $# -gt 0 ] || usage
harness=$1
shift

e2e_preflight
case $harness in
  crash | all)
    [ -x "$ROOT/bin/sriov-rdma-faultinject" ] ||
      e2e_die "bin/sriov-rdma-faultinject is missing: run 'make build-faultinject' (make crash builds it)"
    ;;
  stress | hostile) ;;
  *) usage ;;
esac
e2e_tools

# One harness: the driver's own flags first, the harness's after "--".
one() {
  local h=$1
  shift
  e2e_run "$h" "${verbose[@]}" -- "$@"
}

if [ "$harness" != all ]; then
  one "$harness" "$@"
  exit
fi

# all: each harness on a node of its own; the grand total sums their
# summary lines.
passed=0 failed=0 rc=0 start=$SECONDS
for h in crash stress hostile; do
  printf '\n=== %s\n' "$h"
  out=$(mktemp)
  args=()
  [ "$h" != stress ] || args=("$@")
  # An explicit subshell: e2e_run's EXIT trap (it removes the scratch
  # directory) must fire when each harness ends.
  set +e
  (one "$h" "${args[@]}") | tee "$out"
  r=${PIPESTATUS[0]}
  set -e
  [ "$r" = 0 ] || rc=1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 || true)
  rm -f "$out"
  if [ -z "$line" ]; then
    echo "$h: no summary line (exit $r)"
    failed=$((failed + 1))
    continue
  fi
  read -r p _ f _ <<< "$line"
  passed=$((passed + p)) failed=$((failed + ${f%,}))
done
printf '\n=== reliability: crash, stress, hostile (%ss)\n' $((SECONDS - start))
echo "$passed passed, $failed failed"
[ "$rc" = 0 ] && [ "$failed" = 0 ]
