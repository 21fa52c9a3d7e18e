# shellcheck shell=bash
# Crashes at every fault point of ADD and DEL, with the fault-injection build. Sourced by cases.sh, inside the guest.

# SIGKILL mid-ADD or mid-DEL, then a plain DEL restores all. The
# fault-injection build (go build -tags faultinject) SIGKILLs itself when
# $SRIOV_RDMA_FAULT names the point it reaches; "add:<step>" fires just
# before that step's change, "del:<point>" where FaultPoints() says. The lane
# lists every point of the source in /payload/fault-points; the defaults are
# for a payload made without it: each leaves one more change made (PF
# settings; netdev in the pod with its rxe destroyed by the kernel; rxe
# re-created in the pod; the IP allocated; all but the commit).
FAULT_ENV=SRIOV_RDMA_FAULT
FAULT_POINTS_DEFAULT="add:rdma-to-pod add:soft-rdma-in-pod add:mac-mtu add:addresses add:commit"
fault_points() { # $1 = add | del
  local all=$FAULT_POINTS_DEFAULT
  [ -s "$P/fault-points" ] && all=$(cat "$P/fault-points")
  tr ' ' '\n' <<<"$all" | grep "^$1:" || true
}
faultinject_bin() {
  local fi=$P/bin/sriov-rdma-faultinject
  [ -x "$fi" ] || skip "no fault-injection build yet"
  mkdir -p "$R/fi-bin"
  ln -sf "$fi" "$R/fi-bin/sriov-rdma"
  ln -sf "$CNI_PATH/host-local" "$R/fi-bin/host-local"
}

# crash_loop VERB: for every VERB fault point, kill VERB there (a DEL is
# killed on an attachment a plain ADD made first), then a plain DEL must
# restore everything.
crash_loop() {
  local verb=$1 pt points
  faultinject_bin
  need_plugin
  points=$(fault_points "$verb")
  [ -n "$points" ] || skip "the fault-injection build has no $verb: fault points"
  write_conf vf3 3 required "\"vlan\": 400, \"trust\": \"on\", \"spoofchk\": \"off\", \"mac\": \"02:00:00:00:0e:01\", \"mtu\": 1400"
  for pt in $points; do
    ip netns add podE
    if [ "$verb" = del ]; then
      must add vf3 podE "ADD before the DEL crash at $pt failed"
    fi
    export "$FAULT_ENV=$pt"
    if CNI_BIN=$R/fi-bin cni "$verb" vf3 podE; then
      fail "fault point $pt not reached: $verb succeeded (does the build read $FAULT_ENV?)"
    fi
    unset "$FAULT_ENV"
    note "$pt: $verb died$([ "$verb" = add ] && echo ": $(cni_err | cut -c1-120)"); journal left: $([ -e "$(journal podE)" ] && echo yes || echo no)"
    must del vf3 podE "DEL after a crash at $pt failed"
    expect_nothing_left 3 vf3 podE
    ip netns del podE
  done
}
case_crash_mid_add() { crash_loop add; }
case_crash_mid_del() { crash_loop del; }
