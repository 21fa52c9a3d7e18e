# shellcheck shell=bash
# Shared by scripts/e2e.sh and scripts/demo.sh: pinned tools, the lane's Go
# driver, and running it inside a throwaway mount + network namespace.
#
# Sourced with ROOT set to the repository root. Needs root (mounts, netns),
# Go, and the Go module proxy the first time (the tools are cached after).

GO=${GO:-go}
TOOLS=$ROOT/.tools/bin # git-ignored; the VM lane installs the same pins here
DRIVER=$ROOT/.tools/sriov-rdma-e2e
CNITOOL_MOD=github.com/containernetworking/cni/cnitool@v1.3.1
HOSTLOCAL_MOD=github.com/containernetworking/plugins/plugins/ipam/host-local@v1.10.0
# The chain case puts the plugin between two real ones: loopback before it
# (a prevResult with an interface and addresses), tuning after it.
LOOPBACK_MOD=github.com/containernetworking/plugins/plugins/main/loopback@v1.10.0
TUNING_MOD=github.com/containernetworking/plugins/plugins/meta/tuning@v1.10.0

e2e_die() { echo "$(basename "$0"): $*" >&2; exit 1; }

e2e_preflight() {
  [ "$(id -u)" = 0 ] || e2e_die "needs root: it mounts a fixture sysfs and makes network namespaces (run it with sudo)"
  [ -x "$ROOT/bin/sriov-rdma" ] || e2e_die "bin/sriov-rdma is missing: run 'make build' (or 'make e2e' / 'make demo', which build first)"
  command -v unshare > /dev/null || e2e_die "unshare (util-linux) is missing"
  if ! command -v ip > /dev/null; then
    echo "installing iproute2 (ip is missing)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 > /dev/null ||
      { apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 > /dev/null; } ||
      e2e_die "cannot install iproute2 with apt-get"
  fi
}

# e2e_tool NAME MODULE@VERSION: go install into $TOOLS unless a binary built
# from exactly that version is already there.
e2e_tool() {
  local bin=$TOOLS/$1 want=${2##*@} info='' log
  [ -x "$bin" ] && info=$("$GO" version -m "$bin" 2> /dev/null || true)
  grep -qE "^[[:space:]]+mod[[:space:]].*[[:space:]]${want}[[:space:]]" <<< "$info" && return 0
  echo "installing $1 ($2)" >&2
  mkdir -p "$TOOLS"
  log=$(GOBIN=$TOOLS CGO_ENABLED=0 "$GO" install "$2" 2>&1) || { echo "$log" >&2; e2e_die "go install $2 failed"; }
}

e2e_tools() {
  e2e_tool cnitool "$CNITOOL_MOD"
  e2e_tool host-local "$HOSTLOCAL_MOD"
  e2e_tool loopback "$LOOPBACK_MOD"
  e2e_tool tuning "$TUNING_MOD"
  local log
  log=$(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -o "$DRIVER" ./scripts/e2e 2>&1) || { echo "$log" >&2; e2e_die "cannot build the e2e driver"; }
}

# e2e_run ARGS...: runs the driver in a new mount namespace (the fixture sysfs
# and every mount it makes are invisible to the host and vanish with it) and
# a new network namespace (the lane's "host": every veth, bridge and pod netns
# it makes dies with it, even on SIGKILL). The scratch directory is removed on
# any exit; INT and TERM are passed to the driver, which cleans up and exits.
e2e_run() {
  local work pid rc=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/sriov-rdma-e2e.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap must remove this directory
  trap "rm -rf '$work'" EXIT
  unshare --mount --net --propagation private -- \
    "$DRIVER" -root "$ROOT" -work "$work" "$@" &
  pid=$!
  # shellcheck disable=SC2064 # expand now: the driver's pid
  trap "kill -TERM $pid 2> /dev/null" INT TERM
  # wait returns early (>128) when a trapped signal arrives; wait again for
  # the driver's own exit status once it has cleaned up.
  while :; do
    wait "$pid" && rc=0 || rc=$?
    kill -0 "$pid" 2> /dev/null || break
  done
  trap - INT TERM
  return "$rc"
}
