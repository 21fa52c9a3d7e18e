#!/usr/bin/env bash
# Tests scripts/deploy/entrypoint.sh the way the image runs it, in a
# scratch directory standing in for the image (/opt/sriov-rdma) and the
# node's CNI bin directory: bash scripts/deploy/entrypoint_test.sh [BINARY]
# BINARY defaults to bin/sriov-rdma (make build). Needs coreutils only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
plugin=${1:-$root/bin/sriov-rdma}
[ -x "$plugin" ] || { echo "entrypoint_test: $plugin missing (make build)" >&2; exit 1; }
# shellcheck source=../shtest.sh
. "$root/scripts/shtest.sh" entrypoint-test

# The image's layout.
home=$work/image
mkdir -p "$home/bin" "$home/scripts" "$work/node-bin"
cp "$plugin" "$home/bin/sriov-rdma"
cp "$root/scripts/install.sh" "$here/entrypoint.sh" "$home/scripts/"
ep() { SRIOV_RDMA_HOME=$home CNI_BIN_DIR=$1 "$home/scripts/entrypoint.sh" "${@:2}"; }

# once: installs, verifies, exits 0.
if out=$(ep "$work/node-bin" once 2>&1) && cmp -s "$plugin" "$work/node-bin/sriov-rdma" &&
  grep -q "verified $work/node-bin/sriov-rdma: sriov-rdma " <<< "$out"; then
  pass "once installs, verifies and exits: $(tail -1 <<< "$out")"
else
  fail "once: $out"
fi
# once again: the same binary, nothing changes, still verified.
ino=$(stat -c %i "$work/node-bin/sriov-rdma")
if ep "$work/node-bin" once > /dev/null 2>&1 && [ "$(stat -c %i "$work/node-bin/sriov-rdma")" = "$ino" ]; then
  pass "once on an installed node changes nothing"
else
  fail "once on an installed node replaced the binary or failed"
fi
# A binary that does not run on the node fails verification.
printf '#!/bin/sh\nexit 3\n' > "$home/bin/sriov-rdma"
if out=$(ep "$work/node-bin" once 2>&1); then
  fail "once succeeded with a binary that does not run"
elif grep -q -- "--version failed" <<< "$out"; then
  pass "once fails when the installed plugin does not run: $(tail -1 <<< "$out")"
else
  fail "once failed without saying why: $out"
fi
cp "$plugin" "$home/bin/sriov-rdma"
# A CNI bin directory that is not mounted.
if out=$(ep "$work/missing" once 2>&1); then
  fail "once succeeded without a CNI bin directory"
elif grep -q "is not mounted" <<< "$out"; then
  pass "once refuses a missing CNI bin directory"
else
  fail "once on a missing directory: $out"
fi
# stay: installs nothing and exits 0 at once on TERM.
rm -f "$work/node-bin/sriov-rdma"
SRIOV_RDMA_HOME=$home CNI_BIN_DIR=$work/node-bin "$home/scripts/entrypoint.sh" stay > "$work/stay.log" 2>&1 &
bg_pid=$!
sleep 0.3
kill -TERM "$bg_pid"
rc=0
wait "$bg_pid" || rc=$?
bg_pid=''
if [ "$rc" = 0 ] && [ ! -e "$work/node-bin/sriov-rdma" ]; then
  pass "stay installs nothing and exits 0 on TERM"
else
  fail "stay: exit $rc, installed: $(ls "$work/node-bin")"
fi
# An unknown mode is refused.
if ep "$work/node-bin" bogus > /dev/null 2>&1; then fail "an unknown mode ran"; else pass "an unknown mode is refused"; fi

shtest_done
