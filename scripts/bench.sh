#!/bin/bash
# make bench: what the plugin costs on pod start-up, measured on
# the e2e lane's test node (real kernel, veth VFs, fixture sysfs; see
# scripts/e2e.sh) and printed as one table with ratios and PASS/FAIL:
#   1 ADD+DEL of sriov-rdma vs host-device (containernetworking/plugins
#     v1.10.0, installed here), same veth kind, same host-local config
#   2 the floor: an exec-only static Go binary, host-local ADD+DEL, netns moves
#   3 ADD latency on a PF with 8 VFs vs 256 VFs (two nodes, runs alternating)
#   4 64 ADDs and DELs on distinct VFs, serial vs parallel
#   5 peak RSS of one ADD, stripped binary size
#   6 per-step timings from the plugin's own log records
# plus the Go micro-benchmarks of ./pkg/... (no root needed for those).
#
# usage: scripts/bench.sh [-runs N]    (make bench; bin/sriov-rdma must exist)
# The tables go to .tools/bench/<time>/ (bench.md, bench.txt, results.json)
# and bench.md is copied to .tools/bench-results.md for README's Performance
# section. Exits 1 when a target is missed. Needs root; takes 1-2 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=e2e/lib.sh
. "$ROOT/scripts/e2e/lib.sh"

HOSTDEVICE_MOD=github.com/containernetworking/plugins/plugins/main/host-device@v1.10.0
SMALL_VFS=8
RUNS=25
BENCHTIME=${BENCHTIME:-1s}
while [ $# -gt 0 ]; do
  case $1 in
    -runs) RUNS=${2:?-runs needs a number}; shift 2 ;;
    *) e2e_die "unknown argument $1 (usage: scripts/bench.sh [-runs N])" ;;
  esac
done

start=$(date +%s)
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l >= 1) }'; then
  echo "bench: warning: load average $load; other work on this machine inflates every figure" >&2
fi
e2e_preflight
e2e_tools
e2e_tool host-device "$HOSTDEVICE_MOD"

out=$ROOT/.tools/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/floor"
echo "bench: results in $out"

# The floor's exec: a static Go binary that does nothing, built like ours.
printf 'package main\n\nfunc main() {}\n' > "$out/floor/main.go"
(cd "$out/floor" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags '-s -w' -o "$out/exec-only" main.go) ||
  e2e_die "cannot build the exec-only binary"

echo "bench: Go micro-benchmarks (go test -bench . -benchtime $BENCHTIME ./pkg/...)"
if ! (cd "$ROOT" && "$GO" test -run '^$' -bench . -benchtime "$BENCHTIME" -count 1 ./pkg/...) > "$out/micro.txt" 2>&1; then
  cat "$out/micro.txt" >&2
  e2e_die "go test -bench failed"
fi

# Two drivers, each building its own node in its own namespaces (e2e_run;
# the subshells let each run's EXIT trap remove its scratch directory): a PF
# with 8 VFs in the background, a PF with 256 VFs in the foreground. Their
# figure 3 runs alternate through $out/pair; then the big one goes on alone.
rc=0 src=0
(SRIOV_RDMA_BENCH_VFS=$SMALL_VFS e2e_run bench vfcount -out "$out" -runs "$RUNS" -pair "$out/pair") &
small=$!
# shellcheck disable=SC2064 # expand now: the background run's pid
trap "kill -TERM $small 2> /dev/null || true" EXIT
(e2e_run bench full -out "$out" -runs "$RUNS" -pair "$out/pair" -ref "$out/vfs$SMALL_VFS.json" \
  -micro "$out/micro.txt" -floor "$out/exec-only" -host-device "$TOOLS/host-device" \
  -copy "$ROOT/.tools/bench-results.md" -since "$start") || rc=$?
wait "$small" || src=$?
trap - EXIT
rm -rf "$out/floor" "$out/exec-only" "$out/pair"
[ "$rc" = 0 ] && rc=$src
exit "$rc"
