#!/bin/bash
# The QEMU guest lane, end to end: host packages, guest kernels,
# base initramfs, the static plugin plus cnitool and host-local, then one boot
# per RDMA netns mode and kernel, each running guest/cases.sh.
#
# The recipe (nested QEMU/TCG, emulated igb with real igbvf VFs, Debian
# kernels unpacked not installed, busybox initramfs, isa-debug-exit) comes
# from shared/vmlab/ and its FINDINGS.md; this lane is the project's own copy.
#
# usage: lane.sh [--smoke] [--only PHASE...]
#   (default)  boots: exclusive (7.x), shared (7.x), old (6.1)
#   --smoke    environment only (no plugin needed): smoke (7.x), smoke-old (6.1)
#   --only     run just the named phases (exclusive shared old smoke smoke-old)
# env: GO (go), VM_CACHE (/var/cache/sriov-rdma-vm), TIMEOUT per boot (480 s),
#      FAULTINJECT_BIN (a prebuilt fault-injection binary; default: built
#      from ./cmd/sriov-rdma with -tags faultinject when the source has it),
#      FAULT_POINTS (space-separated SRIOV_RDMA_FAULT values for crash-mid-add)
#
# Ends with "N passed, N failed" over all boots and exits 1 on any failure.
# When the host packages or a kernel cannot be fetched it prints "SKIPPED:
# <reason>" and exits 0: no fetch, no verdict.
set -euo pipefail
trap 'echo "lane: line $LINENO: exit $?" >&2' ERR

HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}
export VM_CACHE=${VM_CACHE:-/var/cache/sriov-rdma-vm}
WORK=$ROOT/.cache/vm          # git-ignored: payload, console logs
TOOLS=$ROOT/.tools/bin        # git-ignored: cnitool, host-local
CNITOOL_MOD=github.com/containernetworking/cni/cnitool@v1.3.1
HOSTLOCAL_MOD=github.com/containernetworking/plugins/plugins/ipam/host-local@v1.10.0

phases=(exclusive shared old)
smoke=0
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1; phases=(smoke smoke-old); shift ;;
    --only) shift; phases=("$@"); break ;;
    *) echo "usage: lane.sh [--smoke] [--only PHASE...]" >&2; exit 2 ;;
  esac
done
for p in "${phases[@]}"; do case $p in smoke*) smoke=1 ;; esac; done

ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }
T0=$(ms)

# --- host ---------------------------------------------------------------------
# First, before anything is written: without root or packages there is
# nothing to judge, only a reason to give.
setup_out=$("$HERE/setup-host.sh" 2>&1) || { echo "$setup_out"; echo "lane: setup-host.sh failed" >&2; exit 1; }
if grep -q '^SKIPPED:' <<<"$setup_out"; then
  echo "$setup_out" | grep -v '^SKIPPED:' >&2 || true
  grep -m1 '^SKIPPED:' <<<"$setup_out"
  exit 0
fi
echo "$setup_out" >&2
T_SETUP=$(ms)
mkdir -p "$VM_CACHE" "$WORK/logs"
# One lane at a time per cache: kernel unpacking and initramfs builds are not
# safe to run twice at once.
exec 9> "$VM_CACHE/.lock"
flock 9

# --- tools: pinned versions, static (the guest's libc is whatever the copied
# host tools brought along; a static binary does not depend on it) -------------
tool() { # $1 = binary name, $2 = module@version
  local bin=$TOOLS/$1 want=${2##*@} info=''
  [ -x "$bin" ] && info=$("$GO" version -m "$bin" 2>/dev/null || true)
  # Reuse only a binary built from the pinned version.
  grep -qE "^[[:space:]]+mod[[:space:]].*[[:space:]]${want}[[:space:]]" <<<"$info" && return 0
  mkdir -p "$TOOLS"
  GOBIN=$TOOLS CGO_ENABLED=0 "$GO" install "$2" > "$WORK/logs/go-install-$1.log" 2>&1 || {
    tail -3 "$WORK/logs/go-install-$1.log" >&2
    echo "SKIPPED: cannot fetch $2 through the Go module proxy"
    exit 0
  }
}
tool cnitool "$CNITOOL_MOD"
tool host-local "$HOSTLOCAL_MOD"

# --- payload ----------------------------------------------------------------------
PL=$WORK/payload
rm -rf "$PL"
mkdir -p "$PL/bin" "$PL/cni/bin"
cp "$HERE"/guest/*.sh "$PL/"
cp "$TOOLS/cnitool" "$PL/bin/"
cp "$TOOLS/host-local" "$PL/cni/bin/"
# The guest build is made here, static, whatever `make build` does: the
# initramfs has a libc, but not necessarily the one a cgo build expects.
build_log=$WORK/logs/build.log
# Stamped as `make build` stamps it, so the guest's log records name the
# version and commit under test.
ldflags="-s -w -X main.buildVersion=$(make -s -C "$ROOT" print-version) -X main.buildCommit=$(make -s -C "$ROOT" print-commit)"
if (cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$PL/cni/bin/sriov-rdma" ./cmd/sriov-rdma) > "$build_log" 2>&1; then
  plugin="sriov-rdma $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo '?')"
elif [ "$smoke" = 1 ]; then
  plugin="none (does not build yet: $(head -1 "$build_log"))"
else
  cat "$build_log" >&2
  echo "FAIL build: CGO_ENABLED=0 go build ./cmd/sriov-rdma failed"
  echo "0 passed, 1 failed"
  exit 1
fi
# The fault-injection build (case crash-mid-add) is the same source with the
# faultinject tag; built here only when the source has that variant, because
# without it the tag silently builds a binary that never crashes.
if [ "$smoke" = 1 ]; then
  :   # the smoke boots run no plugin case
elif [ -n "${FAULTINJECT_BIN:-}" ]; then
  cp "$FAULTINJECT_BIN" "$PL/bin/sriov-rdma-faultinject"
elif [ -e "$PL/cni/bin/sriov-rdma" ] && grep -qlx '//go:build faultinject' "$ROOT"/cmd/sriov-rdma/*.go 2>/dev/null; then
  (cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -tags faultinject \
      -o "$PL/bin/sriov-rdma-faultinject" ./cmd/sriov-rdma) >> "$build_log" 2>&1 || {
    cat "$build_log" >&2
    echo "FAIL build: CGO_ENABLED=0 go build -tags faultinject ./cmd/sriov-rdma failed"
    echo "0 passed, 1 failed"
    exit 1
  }
fi
# Fault points are read from the source, so a renamed step is followed, and a
# point the build never reaches fails the case instead of going untested.
# plugins/sriovrdma/faultpoints.go lists them (a unit test holds it equal to
# the code); without that file, the fault("add:x") / fault("del:x") literals
# and every undo step("x") (which fires "add:x") are collected instead.
# add:before-rollback is only reached on a failing ADD, so it is left out.
source_fault_points() {
  local list=$ROOT/plugins/sriovrdma/faultpoints.go
  if [ -f "$list" ]; then
    grep -oE '"(add|del):[a-z0-9-]+"' "$list" | tr -d '"'
  else
    find "$ROOT/plugins" "$ROOT/cmd" -name '*.go' ! -name '*_test.go' -exec cat {} + |
      grep -oE 'fault\("(add|del):[a-z0-9-]+"\)|\.step\("[a-z0-9-]+"' |
      sed -E 's/fault\("([^"]+)"\)/\1/; s/\.step\("([^"]+)"/add:\1/'
  fi | grep -vx 'add:before-rollback' | awk '!seen[$0]++' | tr '\n' ' '
}
if [ -e "$PL/bin/sriov-rdma-faultinject" ]; then
  points=${FAULT_POINTS:-$(source_fault_points || true)}
  printf '%s\n' "$points" > "$PL/fault-points"
  echo "lane: fault points: $points"
fi
"$HERE/mkpayload.sh" "$PL" "$WORK/payload.cpio.gz"
T_PAYLOAD=$(ms)

# --- boots --------------------------------------------------------------------------
suite_of() {
  case $1 in
    old|smoke-old) echo bookworm ;;          # 6.1: rxe cannot change netns
    *) echo trixie-backports ;;              # 7.x: rxe moves between netns
  esac
}
# The base initramfs is rebuilt when its builder or the host tools it copies change.
ikey=$({ cat "$HERE/mkinitramfs.sh"
         dpkg-query -W busybox-static iproute2 ibverbs-utils ibverbs-providers bash 2>/dev/null || true
       } | sha256sum | cut -c1-12)

total_pass=0 total_fail=0 total_skip=0
summary=()
for phase in "${phases[@]}"; do
  tb=$(ms)
  suite=$(suite_of "$phase")
  if ! kv=$("$HERE/fetch-kernel.sh" "$suite" 2> "$WORK/logs/fetch-$suite.log"); then
    reason=$(tail -1 "$WORK/logs/fetch-$suite.log")
    echo "SKIPPED: $phase: no $suite kernel: $reason"
    summary+=("$phase: SKIPPED (no $suite kernel: $reason)")
    continue
  fi
  KVER='' KROOT='' VMLINUX=''
  eval "$kv"
  base=$VM_CACHE/initramfs/$KVER-$ikey.cpio.gz
  if [ ! -f "$base" ]; then
    rm -f "$VM_CACHE/initramfs/$KVER"-*.cpio.gz
    "$HERE/mkinitramfs.sh" "$KROOT" "$KVER" "$base"
  fi
  tk=$(ms)
  echo "=== lane: boot $phase on $KVER (prep $(secs $((tk - tb))))"
  log=$WORK/logs/console-$phase.log
  rc=0
  KAPPEND="vmphase=$phase" VM_LOG=$log TIMEOUT=${TIMEOUT:-480} \
    "$HERE/run-guest.sh" "$VMLINUX" "$base" "$WORK/payload.cpio.gz" || rc=$?
  te=$(ms)
  # Counted from the console, not trusted from the exit status alone: a guest
  # that died mid-way has printed fewer cases than it should have.
  np=$(grep -c '^PASS ' "$log" || true)
  nf=$(grep -c '^FAIL ' "$log" || true)
  ns=$(grep -c '^SKIP ' "$log" || true)
  closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
  if [ "$rc" = 125 ] || [ -z "$closing" ]; then
    echo "FAIL boot-$phase: the guest did not finish (run-guest rc $rc); console: $log"
    nf=$((nf + 1))
  elif [ "$rc" != 0 ] && [ "$nf" = 0 ]; then
    echo "FAIL boot-$phase: payload exited $rc without a failed case"
    nf=$((nf + 1))
  fi
  total_pass=$((total_pass + np)) total_fail=$((total_fail + nf)) total_skip=$((total_skip + ns))
  summary+=("$phase ($KVER): $np passed, $nf failed, $ns skipped; boot+cases $(secs $((te - tk)))")
done

T_END=$(ms)
echo "=== lane summary (plugin: $plugin)"
printf '  %s\n' "${summary[@]}"
echo "  timings: setup-host $(secs $((T_SETUP - T0))), tools+build+payload $(secs $((T_PAYLOAD - T_SETUP))), total $(secs $((T_END - T0)))"
[ "$total_skip" = 0 ] || echo "skipped: $total_skip"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
