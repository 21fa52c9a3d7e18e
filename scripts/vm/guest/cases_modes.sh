# shellcheck shell=bash
# Shared RDMA netns mode (7.x) and the old kernel (6.1). Sourced by cases.sh, inside the guest.

# ---------------------------------------------------------------------------
# shared mode, 7.x: case 7
# ---------------------------------------------------------------------------
case_required_shared() {
  need_plugin
  write_conf vf0 0 required "\"vlan\": 100, \"trust\": \"on\", \"mac\": \"$MAC_A\""
  ip netns add podA
  must_refuse vf0 podA "rdma: required ADD succeeded in shared netns mode"
  grep -qi rdma "$R/out" || fail "error does not name RDMA: $(cni_err)"
  grep -q exclusive "$R/out" || fail "error does not say how to switch to exclusive mode: $(cni_err)"
  grep -qE 'rdma system set netns exclusive|netns_mode' "$R/out" ||
    fail "error names exclusive mode but not the command (rdma system set netns exclusive / ib_core netns_mode=0): $(cni_err)"
  expect_nothing_left 0 vf0 podA
  ip netns del podA
}

case_auto_shared() {
  need_plugin
  write_conf vf1 1 auto "\"vlan\": 100, \"trust\": \"on\""
  ip netns add podB
  must add vf1 podB "rdma: auto ADD failed in shared mode"
  ip -n podB link show net1 > /dev/null 2>&1 || fail "no net1 in podB"
  grep -qi shared "$LOGDIR/vf1.log" || { plugin_log vf1; fail "log does not say why RDMA was left out (no mention of shared mode)"; }
  note "log: $(grep -i -m1 shared "$LOGDIR/vf1.log" | cut -c1-200)"
  must del vf1 podB "DEL failed"
  expect_nothing_left 1 vf1 podB
  ip netns del podB
}

# ---------------------------------------------------------------------------
# old kernel (6.1): rxe cannot change netns
# ---------------------------------------------------------------------------
case_old_required() {
  need_plugin
  write_conf vf0 0 required "\"vlan\": 100, \"trust\": \"on\", \"mac\": \"$MAC_A\", \"mtu\": 1400"
  ip netns add podA
  must_refuse vf0 podA "rdma: required ADD succeeded on $(uname -r), where rxe cannot change netns"
  grep -qi rdma "$R/out" || fail "error does not name RDMA: $(cni_err)"
  expect_nothing_left 0 vf0 podA
  ip netns del podA
}

case_old_auto() {
  need_plugin
  write_conf vf1 1 auto "\"vlan\": 100, \"trust\": \"on\", \"mac\": \"$MAC_C\", \"mtu\": 1400"
  ip netns add podB
  must add vf1 podB "rdma: auto ADD failed on $(uname -r)"
  local l
  l=$(ip -n podB link show net1 2>&1) || fail "no net1 in podB: $l"
  grep -qF "link/ether $MAC_C" <<<"$l" || fail "net1 in podB has not MAC $MAC_C: $l"
  [ -z "$(rdma_devs podB)" ] || fail "podB holds RDMA device $(rdma_devs podB | tr '\n' ' ')on a kernel that cannot move it"
  note "log: $(grep -iE -m1 'rdma|EOPNOTSUPP|not supported' "$LOGDIR/vf1.log" 2>/dev/null | cut -c1-200)"
  must del vf1 podB "DEL failed"
  expect_nothing_left 1 vf1 podB
  ip netns del podB
}
