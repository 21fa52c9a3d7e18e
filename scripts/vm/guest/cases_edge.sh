# shellcheck shell=bash
# Exclusive mode, 7.x: the edges a real cluster hits (untrusted MAC, the operator's config, a VF in limbo, reclaim, a renamed PF, destroyed VFs). Sourced by cases.sh, inside the guest.

# ---------------------------------------------------------------------------
# exclusive mode, 7.x: what a real cluster hits at the edges
# ---------------------------------------------------------------------------

# A pod MAC on an untrusted VF. igb refuses a VF's own MAC change once the
# PF has set an administrative MAC, even to the same value, unless the VF is
# trusted: the plugin must get the pod its MAC without trust, and DEL must
# put the MAC back exactly, on the netdev and in the PF's view.
case_untrusted_mac() {
  need_plugin
  local mac=02:00:00:00:0f:01 l
  write_conf vf0 0 required "\"mac\": \"$mac\", \"vlan\": 100, \"mtu\": 1400"
  ip netns add podM
  must add vf0 podM "ADD with mac and without trust failed"
  l=$(ip -n podM link show net1 2>&1) || fail "no net1 in podM: $l"
  grep -qF "link/ether $mac" <<<"$l" || fail "net1 in podM has not MAC $mac: $l"
  l=$(pf_vf_line 0)
  note "PF: $l"
  grep -qF "link/ether $mac" <<<"$l" || fail "the PF does not report $mac for VF 0: $l"
  grep -qF "trust off" <<<"$l" || fail "VF 0 was made trusted: $l"
  must del vf0 podM "DEL failed"
  expect_nothing_left 0 vf0 podM
  ip netns del podM
}

# What sriov-network-operator renders (its NAD template, "type" sriov-rdma):
# "vlan":0 and "vlanQoS":0 always, capabilities, its logLevel words, "ipam":{}
# for a network without IPAM, a "plugins" list when meta plugins are set.
write_operator_conf() { # $1 = name, $2 = VF index, $3 = list|single, $4 = ipam|noipam
  local name=$1 i=$2 lo=$((10 * ($2 + 1))) ipam='"ipam": {}' body
  [ "$4" = ipam ] && ipam="\"ipam\": {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"192.0.2.0/24\", \"rangeStart\": \"192.0.2.$lo\", \"rangeEnd\": \"192.0.2.$((lo + 9))\"}]], \"dataDir\": \"$IPAM_DIR\"}"
  body="\"type\": \"sriov-rdma\", \"vlan\": 0, \"vlanQoS\": 0, \"capabilities\": {\"mac\": true, \"ips\": true}, \"logLevel\": \"info\", \"logFile\": \"$LOGDIR/$name.log\", \"deviceID\": \"${VF_PCI[$i]}\", $ipam"
  rm -f "$NETCONFPATH/$name.conf" "$NETCONFPATH/$name.conflist"
  if [ "$3" = list ]; then
    echo "{\"cniVersion\": \"1.0.0\", \"name\": \"$name\", \"plugins\": [{$body}]}" > "$NETCONFPATH/$name.conflist"
  else
    echo "{\"cniVersion\": \"1.0.0\", \"name\": \"$name\", $body}" > "$NETCONFPATH/$name.conf"
  fi
}
case_operator_rendered() {
  need_plugin
  local shape list ipam net
  for shape in single:ipam single:noipam list:ipam list:noipam; do
    list=${shape%:*} ipam=${shape#*:} net=op-$list-$ipam
    write_operator_conf "$net" 1 "$list" "$ipam"
    ip netns add podO
    must add "$net" podO "$shape: ADD failed"
    if [ "$ipam" = ipam ]; then
      [ -n "$(result_ip)" ] || fail "$shape: no address in the result"
    else
      [ -z "$(result_ip)" ] || fail "$shape: an address without IPAM: $(result_ip)"
    fi
    ip -n podO link show net1 | grep -q 'state UP\|,UP' || fail "$shape: net1 is not up in podO"
    must check "$net" podO "$shape: CHECK failed"
    must del "$net" podO "$shape: DEL failed"
    expect_nothing_left 1 "$net" podO
    ip netns del podO
    note "$shape: ADD, CHECK, DEL"
  done
}

# sriov-rdma run directly, as a runtime runs it: $1 = verb, $2 = netns name,
# $3 = network; stdout (the result or the error JSON) lands in $R/direct.
direct() {
  local conf=$NETCONFPATH/$3.conf rc=0
  CNI_COMMAND=$1 CNI_CONTAINERID=$(container_id "$2") CNI_NETNS=$(nspath "$2") CNI_IFNAME=net1 \
    CNI_PATH=$CNI_PATH timeout 60 "$CNI_PATH/sriov-rdma" < "$conf" > "$R/direct" 2>&1 || rc=$?
  return "$rc"
}

# A VF in limbo: the pod netns's path is gone while a process still holds
# the namespace, so the VF is neither home nor reachable. DEL must answer
# "try again later" (code 11) and keep the journal, and no other pod may
# take the VF; once the namespace dies and the kernel returns the VF, the
# retried DEL restores name, MAC, MTU, PF settings and the rxe device.
case_limbo_del_retry() {
  need_plugin
  local holder
  write_conf vf2 2 required "\"vlan\": 200, \"mac\": \"$MAC_C\", \"mtu\": 1400"
  ip netns add podL
  must add vf2 podL "ADD podL failed"
  ip netns exec podL sleep 600 &
  holder=$!
  sleep 0.3
  ip netns del podL
  if direct DEL podL vf2; then
    kill "$holder"
    fail "DEL succeeded while the VF is still in the held namespace"
  fi
  note "DEL in limbo: $(tr -d '\n' < "$R/direct" | cut -c1-240)"
  grep -qE '"code": *11' "$R/direct" || { kill "$holder"; fail "DEL in limbo did not answer code 11: $(cat "$R/direct")"; }
  [ -e "$(journal podL)" ] || { kill "$holder"; fail "DEL in limbo dropped the journal"; }
  [ -z "$(vf_host_netdev 2)" ] || { kill "$holder"; fail "VF2 is on the host while its namespace is held"; }
  ip netns add podL2
  if direct ADD podL2 vf2; then
    kill "$holder"
    fail "another pod got the VF while it was in limbo"
  fi
  grep -qE '"code": *11' "$R/direct" || { kill "$holder"; fail "ADD of a VF in limbo did not answer code 11: $(cat "$R/direct")"; }
  ip netns del podL2
  kill "$holder"
  wait "$holder" 2>/dev/null || true
  wait_for 15 vf_netdev_present 2 || fail "VF2 netdev did not come back after its namespace died"
  note "the kernel returned VF2 as $(vf_host_netdev 2)"
  must del vf2 podL "retried DEL failed"
  expect_nothing_left 2 vf2 podL
}

# The pod died without DEL and the kernel returned its VF under another
# name: the next ADD for that VF reclaims it and succeeds on its first try.
case_reclaim_then_proceed() {
  need_plugin
  write_conf vf2 2 required "\"vlan\": 200, \"mtu\": 1400"
  ip netns add podR1
  must add vf2 podR1 "ADD podR1 failed"
  netns_dies podR1 2
  ip netns add podR2
  must add vf2 podR2 "ADD of the VF the vanished pod held failed on its first try"
  [ ! -e "$(journal podR1)" ] || fail "the vanished pod's journal is still there"
  must del vf2 podR2 "DEL podR2 failed"
  expect_nothing_left 2 vf2 podR2
  ip netns del podR2
}

# The PF was renamed while a pod held its VF: DEL finds it by its PCI
# address and puts the VF's PF-side settings back through the new name.
case_pf_renamed_del() {
  need_plugin
  local orig=$PF
  # rdma off: the PF goes down and up under the pod, and only the PF-side
  # restore is at stake here; the rxe paths have cases of their own.
  write_conf vf3 3 off "\"vlan\": 300, \"trust\": \"on\", \"mtu\": 1400"
  ip netns add podP
  must add vf3 podP "ADD podP failed"
  ip link set "$PF" down
  ip link set "$PF" name pfrenamed
  ip link set pfrenamed up
  PF=pfrenamed
  wait_for 15 pf_carrier || true
  local rc=0
  cni del vf3 podP || rc=$?
  ip link set "$PF" down
  ip link set "$PF" name "$orig"
  ip link set "$orig" up
  PF=$orig
  wait_for 15 pf_carrier || fail "PF $PF has no carrier after the rename back"
  [ "$rc" = 0 ] || { cni_out; plugin_log vf3; fail "DEL after the PF was renamed failed: $(cni_err)"; }
  expect_nothing_left 3 vf3 podP
  ip netns del podP
}

# sriov_numvfs lowered while a pod holds a VF: the VF is gone, so DEL has
# nothing left to restore; it must release the address, drop the journal and
# exit 0 rather than fail until the pod is force-deleted. Runs last: the
# boot's VFs are gone after it.
case_vf_destroyed_del() {
  need_plugin
  write_conf vf3 3 required "\"vlan\": 300, \"trust\": \"on\""
  ip netns add podV
  must add vf3 podV "ADD podV failed"
  echo 0 > "/sys/bus/pci/devices/$PF_PCI/sriov_numvfs"
  must del vf3 podV "DEL after the VFs were removed failed"
  [ ! -e "$(journal podV)" ] || fail "journal $(journal podV) left behind"
  [ -z "$(ipam_held vf3)" ] || fail "address $(ipam_held vf3) still held"
  grep -q "VF no longer exists" "$LOGDIR/vf3.log" || { plugin_log vf3; fail "the log does not say the VF was gone"; }
  cni del vf3 podV || fail "second DEL failed: $(cni_err)"
  ip netns del podV
}
