# shellcheck shell=bash
# Exclusive mode, 7.x: ADD with PF settings, traffic, CHECK, DEL, a gone netns, igb's refusals. Sourced by cases.sh, inside the guest.

# ---------------------------------------------------------------------------
# exclusive mode, 7.x: cases 1-6, 8
# ---------------------------------------------------------------------------
MAC_A=02:00:00:00:0a:01
MAC_C=02:00:00:00:0c:01

# 1. ADD with vlan, vlanQoS, spoofchk off, trust on, mac, max_tx_rate.
case_add_settings() {
  need_plugin
  write_conf vf0 0 required "\"vlan\": 100, \"vlanQoS\": 3, \"spoofchk\": \"off\", \"trust\": \"on\", \"mac\": \"$MAC_A\", \"max_tx_rate\": 100, \"mtu\": 1400"
  ip netns add podA
  must add vf0 podA "ADD failed"
  cni_out > "$R/podA.result"
  local v l got dev
  v=$(json_str name); [ "$v" = net1 ] || fail "result interface name '$v', want net1"
  v=$(json_str mac); [ "$v" = "$MAC_A" ] || fail "result mac '$v', want $MAC_A"
  v=$(json_str sandbox); [ "$v" = "$(nspath podA)" ] || fail "result sandbox '$v'"
  v=$(json_str pciID); [ "$v" = "${VF_PCI[0]}" ] || fail "result pciID '$v', want ${VF_PCI[0]}"
  v=$(json_num mtu); [ -z "$v" ] || [ "$v" = 1400 ] || fail "result mtu $v, want 1400"
  result_ip > "$R/podA.ip"
  note "podA: $(cat "$R/podA.ip") on ${VF_PCI[0]}"
  # PF side, from the kernel
  l=$(pf_vf_line 0)
  note "PF: $l"
  for v in "link/ether $MAC_A" "vlan 100" "qos 3" "spoof checking off" "trust on" "max_tx_rate 100Mbps"; do
    grep -qF "$v" <<<"$l" || fail "ip link show $PF: vf 0 lacks '$v': $l"
  done
  # the VF netdev, in the pod
  l=$(ip -n podA link show net1 2>&1) || fail "no net1 in podA: $l"
  grep -qF "link/ether $MAC_A" <<<"$l" || fail "net1 in podA has not MAC $MAC_A: $l"
  grep -qF "mtu 1400" <<<"$l" || fail "net1 in podA has not mtu 1400: $l"
  [ -z "$(vf_host_netdev 0)" ] || fail "VF0 netdev $(vf_host_netdev 0) still in the host netns"
  got=$(ip -n podA addr show net1)
  grep -qF "inet $(cat "$R/podA.ip")/24" <<<"$got" || fail "net1 lacks $(cat "$R/podA.ip"): $got"
  # the RDMA device: in the pod, bound to net1, seen nowhere else
  dev=$(rdma_of_netdev net1 podA)
  [ -n "$dev" ] || fail "no RDMA device on net1 in podA (pod sees: $(rdma_devs podA | tr '\n' ' '))"
  echo "$dev" > "$R/podA.rdma"
  ! rdma_devs | grep -qx "$dev" || fail "RDMA device $dev is also visible in the host netns (not exclusive)"
  ip netns add probe
  ! rdma_devs probe | grep -qx "$dev" || fail "RDMA device $dev is visible from an unrelated netns"
  ip netns del probe
  note "podA RDMA device $dev on net1; host sees: $(rdma_devs | tr '\n' ' ')"
  [ -e "$(journal podA)" ] || fail "no journal $(journal podA)"
}

# 2. Two pods on two VFs: IP ping, then verbs traffic on the RoCE v2 GID of
# each pod's IP. podB's device comes through runtimeConfig (CAP_ARGS), the
# way Multus passes it.
case_two_pods() {
  need_plugin
  [ -s "$R/podA.ip" ] || fail "podA not attached (add-settings failed)"
  NO_DEVICE_ID=1 write_conf vf1 1 required '"vlan": 100, "vlanQoS": 3'
  ip netns add podB
  CAP_ARGS="{\"deviceID\": \"${VF_PCI[1]}\"}" cni add vf1 podB ||
    { cni_out; plugin_log vf1; fail "ADD podB (deviceID from runtimeConfig) failed: $(cni_err)"; }
  local ipA ipB devA devB gA gB
  ipA=$(cat "$R/podA.ip")
  ipB=$(result_ip)
  echo "$ipB" > "$R/podB.ip"
  [ "$(json_str pciID)" = "${VF_PCI[1]}" ] || fail "podB result pciID '$(json_str pciID)', want ${VF_PCI[1]}"
  ip netns exec podA ping -c 3 -W 3 "$ipB" > "$R/ping.log" 2>&1 || { cat "$R/ping.log"; fail "ping $ipA -> $ipB failed"; }
  note "ping: $(tail -1 "$R/ping.log")"
  devA=$(cat "$R/podA.rdma")
  devB=$(rdma_of_netdev net1 podB)
  [ -n "$devB" ] || fail "no RDMA device on net1 in podB"
  gA=$(roce_v2_gid "$devA" "$ipA" podA) || fail "no RoCE v2 GID for $ipA on $devA in podA"
  gB=$(roce_v2_gid "$devB" "$ipB" podB) || fail "no RoCE v2 GID for $ipB on $devB in podB"
  ip netns exec podB timeout 40 ibv_rc_pingpong -d "$devB" -g "$gB" -n 50 > "$R/srv.log" 2>&1 &
  local srv=$!
  sleep 1
  if ! ip netns exec podA timeout 30 ibv_rc_pingpong -d "$devA" -g "$gA" -n 50 "$ipB" > "$R/cli.log" 2>&1; then
    cat "$R/cli.log" "$R/srv.log"
    fail "ibv_rc_pingpong $devA/gid $gA -> $devB/gid $gB failed"
  fi
  wait "$srv" || { cat "$R/srv.log"; fail "ibv_rc_pingpong server on $devB failed"; }
  note "verbs: $devA gid $gA -> $devB gid $gB: $(grep -m1 'bytes in' "$R/cli.log")"
}

# 3. CHECK passes; a PF-side VLAN changed by hand makes it fail naming VLAN.
case_check_vlan_drift() {
  need_plugin
  [ -s "$R/podA.ip" ] || fail "podA not attached (add-settings failed)"
  cni check vf0 podA || {
    cni_out; plugin_log vf0
    echo "--- libcni cache (prevResult source):"; ls -l /var/lib/cni/results/ 2>&1
    fail "CHECK on an intact attachment failed: $(cni_err)"
  }
  ip link set "$PF" vf 0 vlan 0
  if cni check vf0 podA; then
    ip link set "$PF" vf 0 vlan 100 qos 3
    fail "CHECK passed after 'ip link set $PF vf 0 vlan 0'"
  fi
  note "CHECK after drift: $(cni_err)"
  grep -qi vlan "$R/out" || { ip link set "$PF" vf 0 vlan 100 qos 3; fail "CHECK error does not name VLAN: $(cni_err)"; }
  ip link set "$PF" vf 0 vlan 100 qos 3
  cni check vf0 podA || fail "CHECK still fails after the drift was undone: $(cni_err)"
}

# 4. DEL puts everything back: PF side, netdev name/MAC/MTU, rxe on the host,
# IP released, journal gone; a second DEL is a no-op that succeeds.
case_del_restores() {
  need_plugin
  [ -s "$R/podA.ip" ] || fail "podA not attached (add-settings failed)"
  must del vf0 podA "DEL podA failed"
  expect_nothing_left 0 vf0 podA
  if [ -e "$(nspath podB)" ]; then
    must del vf1 podB "DEL podB failed"
    expect_nothing_left 1 vf1 podB
  fi
  cni del vf0 podA || fail "second DEL of podA failed: $(cni_err)"
  ip netns del podA
  ip netns del podB 2>/dev/null || true
  note "VF0 after DEL: $(pf_vf_line 0)"
}

# 5. The pod netns is deleted before DEL: the kernel hands the VF netdev back
# (maybe renamed); DEL finds it by PCI address and restores it.
case_netns_gone() {
  need_plugin
  write_conf vf2 2 required "\"vlan\": 200, \"spoofchk\": \"off\", \"trust\": \"on\", \"mac\": \"$MAC_C\", \"mtu\": 1400"
  ip netns add podC
  must add vf2 podC "ADD podC failed"
  netns_dies podC 2
  must del vf2 podC "DEL with the netns gone failed"
  expect_nothing_left 2 vf2 podC
}

# 6. A setting igb cannot do: ADD fails naming the setting and the driver and
# leaves the VF as it was, even though other settings in the same netconf
# (vlan, trust, mac) were applicable.
unsupported() { # $1 = name in the error, $2 = netconf members
  need_plugin
  write_conf vf3 3 required "$2"
  ip netns add podD
  must_refuse vf3 podD "ADD with $1 on igb succeeded"
  grep -qF -- "$1" "$R/out" || fail "error does not name $1: $(cni_err)"
  grep -q igb "$R/out" || fail "error does not name the driver (igb/igbvf): $(cni_err)"
  expect_nothing_left 3 vf3 podD
  ip netns del podD
}
case_unsupported_link_state() {
  unsupported link_state '"link_state": "enable", "vlan": 300, "trust": "on", "mac": "02:00:00:00:0d:01"'
}
case_unsupported_min_tx_rate() {
  unsupported min_tx_rate '"min_tx_rate": 10, "max_tx_rate": 100, "vlan": 300, "trust": "on"'
}
case_unsupported_8021ad() {
  unsupported 802.1ad '"vlan": 300, "vlanProto": "802.1ad", "vlanQoS": 1, "trust": "on"'
}
