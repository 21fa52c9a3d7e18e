#!/bin/bash
# The unit-level fault sequences (plugins/sriovrdma/
# faultseq_test.go): COUNT seeded random sequences of ADD/DEL/CHECK/GC over
# 3 VFs and 3 pods with netlink, IPAM and crash faults injected through the
# fakes, on real namespaces and veth VFs. Prints one line per sequence
# seed that failed, the test's own figures, and "N passed, N failed".
#
# usage: scripts/faultseq.sh [COUNT]   (default 1000; make faultseq)
# Replay one failure: SRIOV_RDMA_FAULTSEQ_SEED=<seed> go test -run TestFaultSequences ./plugins/sriovrdma/
# Needs root (the tests move veth netdevs between namespaces).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
count=${1:-1000}
GO=${GO:-go}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

cd "$ROOT"
rc=0
SRIOV_RDMA_FAULTSEQ_COUNT=$count CGO_ENABLED=1 "$GO" test -race -count=1 -timeout 60m \
  -run '^TestFaultSequences$' -v ./plugins/sriovrdma/ > "$out" 2>&1 || rc=$?

grep -E 'sequences in|seeds ' "$out" | sed 's/^ *//' || true
grep -E -- '--- FAIL: TestFaultSequences/' "$out" | sed 's/^ *--- //' || true
passed=$(grep -cE -- '--- PASS: TestFaultSequences/seed=' "$out" || true)
failed=$(grep -cE -- '--- FAIL: TestFaultSequences/seed=' "$out" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  tail -30 "$out" # the test binary failed before any sequence did
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
