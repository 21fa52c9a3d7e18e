#!/usr/bin/env bash
# Tests scripts/install.sh in a scratch directory: bash scripts/install_test.sh
# Needs nothing but coreutils; as root it also checks that a non-root user is
# refused (with setpriv from util-linux).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
install=$here/install.sh
# shellcheck source=shtest.sh
. "$here/shtest.sh" install-test
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
refused() { # refused DESCRIPTION PATTERN COMMAND...: fails, and says PATTERN
  local what=$1 pattern=$2 err
  shift 2
  if err=$("$@" 2>&1); then
    fail "$what: it succeeded"
  elif grep -q -- "$pattern" <<< "$err"; then
    pass "$what: $err"
  else
    fail "$what: the message lacks \"$pattern\": $err"
  fi
}
quiet() { "$@" > /dev/null; }
inode() { stat -c %i "$1"; }
mode() { stat -c %a "$1"; }
no_temp_left() { [ -z "$(find "$1" -name '.sriov-rdma.*' -print -quit)" ]; }

dir=$work/opt/cni/bin
v1=$work/v1
v2=$work/v2
cp /bin/sleep "$v1" # v1 can run for a while: the "ADD in progress"
cp /bin/true "$v2"
chmod 0600 "$v1" "$v2" # install.sh sets the mode, whatever the source's

# 1. Fresh install into a directory that does not exist yet.
out=$("$install" -d "$dir" "$v1")
check "fresh install reports it: $out" grep -q "installed $v1 as $dir/sriov-rdma" <<< "$out"
check "fresh install copies the bytes" cmp -s "$v1" "$dir/sriov-rdma"
check "fresh install is mode 0755" [ "$(mode "$dir/sriov-rdma")" = 755 ]
check "fresh install leaves no temp file" no_temp_left "$dir"

# 2. Idempotent: the same binary again changes nothing, not even the inode.
before=$(inode "$dir/sriov-rdma")
out=$("$install" -d "$dir" "$v1")
check "second install says unchanged: $out" grep -q "unchanged" <<< "$out"
check "second install keeps the inode" [ "$(inode "$dir/sriov-rdma")" = "$before" ]
chmod 0700 "$dir/sriov-rdma"
"$install" -d "$dir" "$v1" > /dev/null
check "second install repairs the mode" [ "$(mode "$dir/sriov-rdma")" = 755 ]

# 3. Upgrade while the old binary runs: a copy in place would fail with
#    ETXTBSY; the rename swaps the name and the running process keeps its inode.
"$dir/sriov-rdma" 30 &
bg_pid=$!
sleep 0.2
if cp "$v2" "$dir/sriov-rdma" 2> /dev/null; then
  fail "copying over a running binary should fail (ETXTBSY); the test setup is wrong"
else
  pass "copying over a running binary in place fails (ETXTBSY)"
fi
old=$(inode "$dir/sriov-rdma")
check "upgrade over a running binary succeeds" quiet "$install" -d "$dir" "$v2"
check "upgrade installs the new bytes" cmp -s "$v2" "$dir/sriov-rdma"
check "upgrade is a rename (new inode)" [ "$(inode "$dir/sriov-rdma")" != "$old" ]
check "the running process was not disturbed" kill -0 "$bg_pid"
check "the running process still runs the old inode" [ "$(stat -L -c %i "/proc/$bg_pid/exe")" = "$old" ]
kill "$bg_pid" 2> /dev/null || true
wait "$bg_pid" 2> /dev/null || true
bg_pid=''
check "upgrade leaves no temp file" no_temp_left "$dir"

# 4. Errors are refused with a clear message and change nothing.
refused "a missing binary is refused" "no such binary" "$install" -d "$dir" "$work/missing"
: > "$work/empty"
refused "an empty binary is refused" "empty file" "$install" -d "$dir" "$work/empty"
rc=0
"$install" -x > /dev/null 2>&1 || rc=$?
check "a bad flag is a usage error (exit 2)" [ "$rc" = 2 ]
rc=0
"$install" -d "$dir" "$v1" "$v2" > /dev/null 2>&1 || rc=$?
check "two binaries are a usage error (exit 2)" [ "$rc" = 2 ]
check "failed runs left the installed binary alone" cmp -s "$v2" "$dir/sriov-rdma"

# 5. Default binary: bin/sriov-rdma next to the script's parent directory.
mkdir -p "$work/tree/scripts" "$work/tree/bin"
cp "$install" "$work/tree/scripts/install.sh"
cp "$v1" "$work/tree/bin/sriov-rdma"
(cd / && "$work/tree/scripts/install.sh" -d "$work/default-dir" > /dev/null)
check "without BINARY it installs ../bin/sriov-rdma, from any cwd" cmp -s "$v1" "$work/default-dir/sriov-rdma"

# 6. Non-root against a root-owned directory is refused.
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
  chmod 0755 "$work" "$work/opt" "$work/opt/cni" "$dir" "$v2"
  refused "non-root is told to run as root" "run as root" \
    setpriv --reuid=65534 --regid=65534 --clear-groups "$install" -d "$dir" "$v2"
else
  echo "skip non-root refusal (needs root and setpriv)"
fi

shtest_done
