#!/bin/bash
# Guest-side helpers for cases.sh: environment setup (drivers, VFs, RDMA netns
# mode, Soft-RoCE devices), snapshots of everything the plugin must restore,
# and cnitool wrappers. Sourced, never run; runs inside the QEMU guest with the
# base initramfs' real bash/iproute2 (busybox provides the rest).
#
# Every check reads the kernel's own state (ip link, /sys, rdma), never the
# plugin's output alone: the lane exists to catch the plugin believing it did
# something the kernel did not do.

# shellcheck disable=SC2034  # globals are read by cases.sh

P=/payload
export CNI_PATH=$P/cni/bin
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$P/bin:$CNI_PATH
export NETCONFPATH=/run/cni/net.d
STATE_DIR=/var/lib/cni/sriov-rdma
IPAM_DIR=/var/lib/cni/networks
LOGDIR=/var/log/sriov-rdma
R=/run/vm                       # per-boot scratch: case reasons, saved state
NUMVFS=${NUMVFS:-4}
mkdir -p "$NETCONFPATH" "$STATE_DIR" "$IPAM_DIR" "$LOGDIR" "$R"

now() { cut -d' ' -f1 /proc/uptime; }
note() { echo "  note: $*"; }

# --- case outcome plumbing ---------------------------------------------------
# Cases run in a subshell with errexit; fail/skip record the reason in a file
# the runner reads, because a subshell cannot set the parent's variables.
fail() { printf '%s\n' "$*" > "$R/reason"; exit 1; }
skip() { printf '%s\n' "$*" > "$R/reason"; exit 77; }

# --- environment -------------------------------------------------------------
load_modules() {
  local m
  # rxe on 6.1/6.12 allocates the "crc32" shash: the generic module must be
  # there first (7.x uses lib crc32 and has no such module).
  modprobe crc32_generic 2>/dev/null || true
  for m in ib_core igb igbvf rdma_rxe ib_uverbs rdma_ucm veth; do
    modprobe "$m" || { echo "modprobe $m failed"; return 1; }
  done
}

# $1 = exclusive | shared. The mode can only change while init is the only
# netns, so this runs before anything creates one.
set_rdma_mode() {
  local want=$1 have
  if [ "$want" = exclusive ]; then
    rdma system set netns exclusive || { echo "rdma system set netns exclusive failed"; return 1; }
  fi
  have=$(rdma system show)
  grep -q "netns $want" <<<"$have" || { echo "rdma netns mode is not $want: $have"; return 1; }
}

wait_for() { # $1 = seconds, rest = command; polls every 0.1 s
  local n=$(($1 * 10))
  shift
  while ! "$@" 2>/dev/null; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || return 1
    sleep 0.1
  done
}

vf_netdev_present() { [ -n "$(ls "/sys/bus/pci/devices/${VF_PCI[$1]}/net/" 2>/dev/null)" ]; }
pf_carrier() { [ "$(cat "/sys/class/net/$PF/carrier")" = 1 ]; }

# Finds the igb PF, enables NUMVFS VFs, waits for their netdevs and for PF
# link (VF rates are refused with EINVAL while the PF has no link, and writing
# sriov_numvfs drops the PF's link for 1-2 s), then puts an rxe device on
# every VF netdev, as a node with Soft-RoCE would have.
setup_vfs() {
  local d i
  for d in /sys/bus/pci/drivers/igb/0000:*; do PF_PCI=$(basename "$d"); break; done
  [ -n "${PF_PCI:-}" ] || { echo "no igb PF"; return 1; }
  PF=$(ls "/sys/bus/pci/devices/$PF_PCI/net/")
  ip link set "$PF" up
  echo "$NUMVFS" > "/sys/bus/pci/devices/$PF_PCI/sriov_numvfs"
  VF_PCI=() VF_DEV=() VF_RDMA=()
  for ((i = 0; i < NUMVFS; i++)); do
    VF_PCI[i]=$(basename "$(readlink "/sys/bus/pci/devices/$PF_PCI/virtfn$i")")
    wait_for 15 vf_netdev_present "$i" || { echo "VF $i (${VF_PCI[i]}) has no netdev"; return 1; }
    VF_DEV[i]=$(ls "/sys/bus/pci/devices/${VF_PCI[i]}/net/")
  done
  echo "VF netdevs at $(now)s"
  wait_for 15 pf_carrier || { echo "PF $PF has no carrier"; return 1; }
  echo "PF carrier at $(now)s"
  for ((i = 0; i < NUMVFS; i++)); do
    VF_RDMA[i]=rxe$i
    rdma link add "${VF_RDMA[i]}" type rxe netdev "${VF_DEV[i]}" ||
      { echo "rdma link add ${VF_RDMA[i]} on ${VF_DEV[i]} failed"; return 1; }
  done
}

# --- state readers (host side = init netns) -----------------------------------
pf_vf_line() { # $1 = VF index: the PF's view of the VF, as `ip link show` prints it
  ip link show "$PF" | grep -E "^ +vf $1 " | sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//'
}
vf_host_netdev() { ls "/sys/bus/pci/devices/${VF_PCI[$1]}/net/" 2>/dev/null || true; }
rdma_of_netdev() { # $1 = netdev, [$2 = netns]: RDMA devices whose rxe parent is it
  local ns=${2:-} out
  if [ -n "$ns" ]; then
    out=$(ip netns exec "$ns" rdma link show 2>/dev/null || true)
  else
    out=$(rdma link show 2>/dev/null || true)
  fi
  awk -v nd="$1" '{for (i = 1; i < NF; i++) if ($i == "netdev" && $(i+1) == nd) {split($2, a, "/"); print a[1]}}' <<<"$out"
}
rdma_devs() { # [$1 = netns]: RDMA device names visible there
  if [ -n "${1:-}" ]; then ip netns exec "$1" rdma dev show 2>/dev/null; else rdma dev show 2>/dev/null; fi |
    awk '/^[0-9]+:/ {sub(":", "", $2); print $2}'
}

# Everything DEL must put back, one line per item, comparable with diff.
snapshot_vf() { # $1 = VF index
  local i=$1 dev
  dev=$(vf_host_netdev "$i")
  echo "pf-side: $(pf_vf_line "$i")"
  echo "netdev: ${dev:-<not in host netns>}"
  if [ -n "$dev" ]; then
    echo "mac: $(cat "/sys/class/net/$dev/address")"
    echo "mtu: $(cat "/sys/class/net/$dev/mtu")"
    echo "rdma: $(rdma_of_netdev "$dev" | tr '\n' ' ')"
  fi
}
save_orig() { snapshot_vf "$1" > "$R/orig-vf$1"; }
orig_admin_mac() { # $1 = VF index: the MAC the PF reported for it at setup
  awk '/^pf-side/ {for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i+1)}' "$R/orig-vf$1"
}

# Fails the case with a diff when VF $1 is not as setup left it.
expect_restored() {
  local i=$1 what=${2:-VF $1} now
  now=$(snapshot_vf "$i")
  if [ "$now" != "$(cat "$R/orig-vf$i")" ]; then
    echo "--- $what: before"; cat "$R/orig-vf$i"; echo "--- $what: now"; echo "$now"
    fail "$what not restored: $(diff "$R/orig-vf$i" - <<<"$now" | grep -E '^[-+][a-z]' | tr '\n' ';')"
  fi
}

# --- CNI ---------------------------------------------------------------------
nspath() { echo "/var/run/netns/$1"; }
# cnitool's container ID: "cnitool-" + hex of the first 10 bytes of
# sha512(absolute netns path); the plugin's journal is <id>-<ifname>.json.
container_id() { printf 'cnitool-%s' "$(printf '%s' "$(nspath "$1")" | sha512sum | cut -c1-20)"; }
journal() { echo "$STATE_DIR/$(container_id "$1")-${2:-net1}.json"; }

# write_conf NAME VF_INDEX RDMA_MODE [EXTRA_JSON_MEMBERS]
# Each VF gets its own network name and its own slice of 192.0.2.0/24, so
# host-local stores never hand two pods the same address.
write_conf() {
  local name=$1 i=$2 rdma=$3 extra=${4:-} lo=$((10 * ($2 + 1)))
  local dev="\"deviceID\": \"${VF_PCI[$i]}\","
  [ "${NO_DEVICE_ID:-}" = 1 ] && dev='"capabilities": {"deviceID": true},'
  cat > "$NETCONFPATH/$name.conf" <<EOF
{
  "cniVersion": "1.1.0",
  "name": "$name",
  "type": "sriov-rdma",
  $dev
  "rdma": "$rdma",${extra:+
  $extra,}
  "stateDir": "$STATE_DIR",
  "logFile": "$LOGDIR/$name.log",
  "logLevel": "debug",
  "ipam": {
    "type": "host-local",
    "ranges": [[{"subnet": "192.0.2.0/24", "rangeStart": "192.0.2.$lo", "rangeEnd": "192.0.2.$((lo + 9))"}]],
    "dataDir": "$IPAM_DIR"
  }
}
EOF
}

# cni VERB NET NETNS: runs cnitool (plugins from $CNI_BIN when set) with a bounded time (a hung plugin must
# not hang the boot); stdout+stderr land in $R/out, the status is returned.
cni() {
  local verb=$1 net=$2 ns=$3 rc=0
  CNI_PATH=${CNI_BIN:-$CNI_PATH} CNI_IFNAME=${IFNAME:-net1} timeout "${CNI_TIMEOUT:-90}" cnitool "$verb" "$net" "$(nspath "$ns")" > "$R/out" 2>&1 || rc=$?
  return "$rc"
}
cni_out() { cat "$R/out"; }
# must VERB NET NETNS [WHAT]: cnitool VERB must succeed; otherwise the case
# fails showing cnitool's output and the plugin's log, saying WHAT failed.
must() {
  cni "$1" "$2" "$3" || { cni_out; plugin_log "$2"; fail "${4:-$1 $3 failed}: $(cni_err)"; }
}
# must_refuse NET NETNS WHY: ADD must fail; one that succeeds is undone with
# DEL and fails the case with WHY. The error is noted.
must_refuse() {
  if cni add "$1" "$2"; then
    cni del "$1" "$2" || true
    fail "$3"
  fi
  note "error: $(cni_err)"
}
# netns_dies NETNS VF_INDEX: the pod's netns is deleted without DEL; the
# kernel hands the VF netdev back to the host, maybe under another name.
netns_dies() {
  ip netns del "$1"
  wait_for 15 vf_netdev_present "$2" || fail "VF$2 netdev did not come back after netns $1 was deleted"
  note "the kernel returned VF$2 as $(vf_host_netdev "$2") (originally ${VF_DEV[$2]})"
}
# One line of what went wrong, for FAIL reasons: cobra's "Error:" line
# (cnitool follows it with its usage text), else the whole output.
cni_err() {
  local e
  e=$(grep -m1 '^Error: ' "$R/out" || true)
  [ -n "$e" ] || e=$(tr '\n' ' ' < "$R/out")
  printf '%s\n' "${e#Error: }" | cut -c1-500
}
plugin_log() { # $1 = network name: last lines of its debug log, shown on failure
  if [ -f "$LOGDIR/$1.log" ]; then
    echo "--- plugin log $1 (tail)"
    tail -n "${2:-25}" "$LOGDIR/$1.log"
  fi
}

# JSON string member of the result (first occurrence): interfaces come first.
json_str() { grep -oE "\"$1\": *\"[^\"]*\"" "$R/out" | head -1 | sed -E 's/.*: *"([^"]*)"/\1/'; }
json_num() { grep -oE "\"$1\": *[0-9]+" "$R/out" | head -1 | sed -E 's/.*: *//'; }
result_ip() { json_str address | cut -d/ -f1; }

ipam_held() { # $1 = network name: addresses host-local still holds
  local f
  for f in "$IPAM_DIR/$1"/[0-9]*.*; do
    [ -e "$f" ] && basename "$f"
  done
  return 0
}

# Nothing of a failed or deleted attachment may remain anywhere.
expect_nothing_left() { # $1 = VF index, $2 = net, $3 = netns
  local i=$1 net=$2 ns=$3 left
  expect_restored "$i"
  [ ! -e "$(journal "$ns")" ] || fail "journal $(journal "$ns") left behind"
  left=$(ipam_held "$net")
  [ -z "$left" ] || fail "IP $left still allocated in host-local ($net)"
  if [ -e "$(nspath "$ns")" ]; then
    left=$(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | grep -v '^lo$' || true)
    [ -z "$left" ] || fail "netns $ns still holds $left"
    # In shared mode every netns sees every RDMA device: nothing to tell.
    if rdma system show | grep -q 'netns exclusive'; then
      left=$(rdma_devs "$ns" | tr '\n' ' ')
      [ -z "$left" ] || fail "netns $ns still holds RDMA device $left"
    fi
  fi
}

# GID index whose GID is the IPv4-mapped $2 with type "RoCE v2", on RDMA
# device $1 inside netns $3 (sysfs there is that netns' view). The kernel
# fills the entry asynchronously after the address is added.
roce_v2_gid() {
  local dev=$1 ip=$2 ns=$3 a b c d want n=50 f idx
  IFS=. read -r a b c d <<<"$ip"
  want=$(printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' "$a" "$b" "$c" "$d")
  while [ "$n" -gt 0 ]; do
    for f in $(ip netns exec "$ns" sh -c "grep -l '^$want\$' /sys/class/infiniband/$dev/ports/1/gids/* 2>/dev/null"); do
      idx=${f##*/}
      if [ "$(ip netns exec "$ns" cat "/sys/class/infiniband/$dev/ports/1/gid_attrs/types/$idx" 2>/dev/null)" = "RoCE v2" ]; then
        echo "$idx"
        return 0
      fi
    done
    n=$((n - 1))
    sleep 0.1
  done
  return 1
}
