# shellcheck shell=bash
# The smoke phases: the environment and the kernel paths, by hand, no plugin needed. Sourced by cases.sh, inside the guest.

# ---------------------------------------------------------------------------
# smoke: the environment and the kernel paths, by hand
# ---------------------------------------------------------------------------
smoke_env() {
  local m
  for m in igb igbvf rdma_rxe ib_uverbs; do
    grep -q "^$m " /proc/modules || fail "module $m not loaded"
  done
  [ "$(cat "/sys/bus/pci/devices/$PF_PCI/sriov_numvfs")" = "$NUMVFS" ] || fail "sriov_numvfs != $NUMVFS"
  note "sriov_totalvfs=$(cat "/sys/bus/pci/devices/$PF_PCI/sriov_totalvfs") offset=$(cat "/sys/bus/pci/devices/$PF_PCI/sriov_offset") stride=$(cat "/sys/bus/pci/devices/$PF_PCI/sriov_stride")"
  note "driver of VF0: $(basename "$(readlink "/sys/bus/pci/devices/${VF_PCI[0]}/driver")")"
  note "PF carrier=$(cat "/sys/class/net/$PF/carrier") speed=$(cat "/sys/class/net/$PF/speed" 2>/dev/null)"
  rdma link show | sed 's/^/  note: /'
  ip link show "$PF" | sed 's/^/  note: /'
}

smoke_tools() {
  local t
  for t in "$P/bin/cnitool" "$CNI_PATH/host-local"; do
    [ -x "$t" ] || fail "$t missing"
  done
  note "cnitool: $(cnitool --help 2>&1 | head -1)"
  note "host-local: $(CNI_COMMAND=VERSION host-local < /dev/null 2>&1 | head -c 200)"
  note "busybox $(busybox | head -1 | cut -d' ' -f2), $(ip -V)"
  if [ -x "$CNI_PATH/sriov-rdma" ]; then
    note "sriov-rdma: $(CNI_COMMAND=VERSION sriov-rdma < /dev/null 2>&1 | head -c 200)"
  else
    note "sriov-rdma: not in this payload"
  fi
  [ -x "$P/bin/sriov-rdma-faultinject" ] && note "sriov-rdma-faultinject present"
  ibv_devices | sed 's/^/  note: /'
}

# PF-side settings the plugin applies, set and read back by hand; proves
# which ones this NIC supports on this kernel.
smoke_pf_settings() {
  ip link set "$PF" vf 2 mac 02:00:00:00:99:02 vlan 100 qos 3 spoofchk off trust on
  ip link set "$PF" vf 2 max_tx_rate 100
  local l
  l=$(pf_vf_line 2)
  note "vf 2 after set: $l"
  local want
  for want in "link/ether 02:00:00:00:99:02" "vlan 100" "qos 3" "spoof checking off" "trust on" "max_tx_rate 100Mbps"; do
    grep -qF "$want" <<<"$l" || fail "PF line lacks '$want': $l"
  done
  local r
  r=$(ip link set "$PF" vf 2 state enable 2>&1) && fail "link state unexpectedly supported"
  note "state enable: $r"
  r=$(ip link set "$PF" vf 2 min_tx_rate 10 2>&1) && fail "min_tx_rate unexpectedly supported"
  note "min_tx_rate 10: $r"
  r=$(ip link set "$PF" vf 2 vlan 100 proto 802.1ad 2>&1) && fail "802.1ad unexpectedly supported"
  note "vlan proto 802.1ad: $r"
  # back to what setup saw
  ip link set "$PF" vf 2 vlan 0 spoofchk on trust off max_tx_rate 0
  ip link set "$PF" vf 2 mac "$(orig_admin_mac 2)"
  expect_restored 2
}

# The CNI path done by hand on VF0/VF1: VLAN'd VFs, move+rename in one
# request, rxe re-created in the pod and moved in, ping, verbs traffic,
# then home again. Tells apart "the plugin is wrong" from "this kernel or
# QEMU cannot".
smoke_manual_path() {
  local i ns ip gA gB rdmadev out
  ip netns add smA
  ip netns add smB
  for i in 0 1; do
    ns=$([ "$i" = 0 ] && echo smA || echo smB)
    ip=192.0.2.$((200 + i))
    ip link set "$PF" vf "$i" vlan 100 qos 3
    ip link set "${VF_DEV[i]}" netns "$ns" name net1
    [ -z "$(rdma_of_netdev "${VF_DEV[i]}")" ] || fail "rxe on ${VF_DEV[i]} survived the netns move"
    ip -n "$ns" addr add "$ip/24" dev net1
    ip -n "$ns" link set net1 mtu 1400 up
    ip netns exec "$ns" rdma link add "${VF_RDMA[i]}" type rxe netdev net1
    if ! out=$(rdma dev set "${VF_RDMA[i]}" netns "$ns" 2>&1); then
      note "rdma dev set ${VF_RDMA[i]} netns $ns: $out"
      case $PHASE in
        *old) note "(expected: rxe cannot change netns before 7.x)" ;;
        *) fail "rdma dev set netns failed: $out" ;;
      esac
    fi
  done
  ip -n smA link show net1 | sed 's/^/  note: smA: /'
  ip netns exec smA ping -c 3 -W 3 192.0.2.201 | tail -2 | sed 's/^/  note: ping: /'
  ip netns exec smA ping -c 1 -W 3 192.0.2.201 > /dev/null || fail "ping VF0->VF1 over vlan 100 failed"
  rdmadev=$(rdma_devs smA | head -1)
  if [ -n "$rdmadev" ]; then
    note "smA sees RDMA devices: $(rdma_devs smA | tr '\n' ' '); host sees: $(rdma_devs | tr '\n' ' ')"
    gB=$(roce_v2_gid "${VF_RDMA[1]}" 192.0.2.201 smB) || fail "no RoCE v2 GID for 192.0.2.201 in smB"
    gA=$(roce_v2_gid "${VF_RDMA[0]}" 192.0.2.200 smA) || fail "no RoCE v2 GID for 192.0.2.200 in smA"
    ip netns exec smB timeout 40 ibv_rc_pingpong -d "${VF_RDMA[1]}" -g "$gB" -n 20 > "$R/srv.log" 2>&1 &
    sleep 1
    ip netns exec smA timeout 30 ibv_rc_pingpong -d "${VF_RDMA[0]}" -g "$gA" -n 20 192.0.2.201 > "$R/cli.log" 2>&1 ||
      { cat "$R/cli.log" "$R/srv.log"; fail "ibv_rc_pingpong over moved rxe failed"; }
    wait
    note "pingpong (gid $gA -> $gB): $(grep -m1 'bytes in' "$R/cli.log")"
  fi
  # home again: the rxe dies with the netdev move, so it is re-created
  for i in 0 1; do
    ns=$([ "$i" = 0 ] && echo smA || echo smB)
    ip -n "$ns" link set net1 down
    ip -n "$ns" link set net1 netns 1 name "${VF_DEV[i]}"
    ip link set "${VF_DEV[i]}" mtu 1500
    ip link set "$PF" vf "$i" vlan 0
    # The VF driver reports its own MAC to the PF when it comes up (the PF
    # view changes from 00:00:00:00:00:00 on 6.1): put the admin MAC back.
    ip link set "$PF" vf "$i" mac "$(orig_admin_mac "$i")"
    rdma link add "${VF_RDMA[i]}" type rxe netdev "${VF_DEV[i]}"
  done
  ip netns del smA
  ip netns del smB
  expect_restored 0
  expect_restored 1
}

# A VF netdev in a netns that is deleted comes back to init_net by itself.
smoke_netns_gone() {
  ip netns add smC
  ip link set "${VF_DEV[3]}" netns smC name net1
  ip netns del smC
  wait_for 10 vf_netdev_present 3 || fail "VF3 netdev did not come back after netns deletion"
  note "VF3 netdev came back as $(vf_host_netdev 3) (was ${VF_DEV[3]})"
  [ "$(vf_host_netdev 3)" = "${VF_DEV[3]}" ] || ip link set "$(vf_host_netdev 3)" name "${VF_DEV[3]}"
  rdma link add "${VF_RDMA[3]}" type rxe netdev "${VF_DEV[3]}"
  expect_restored 3
}
