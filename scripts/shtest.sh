# shellcheck shell=bash
# What the shell tests of the installer and the image's entrypoint share:
# a scratch directory, removed on exit with whatever background process the
# test left in $bg_pid; pass/fail lines; and the closing "N passed, N
# failed" line, with the exit status. Sourced: . scripts/shtest.sh NAME

work=$(mktemp -d "${TMPDIR:-/tmp}/sriov-rdma-$1.XXXXXX")
bg_pid=''
shtest_cleanup() {
  if [ -n "$bg_pid" ]; then kill "$bg_pid" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap shtest_cleanup EXIT

passes=0 fails=0
pass() { echo "ok   $*"; passes=$((passes + 1)); }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# shtest_done prints the tally and fails when a check failed.
shtest_done() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}
