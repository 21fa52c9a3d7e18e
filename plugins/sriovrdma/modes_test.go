package sriovrdma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// A VF bound to vfio-pci (DPDK) has no netdev: ADD applies and journals the
// PF-side settings, reports IPAM's addresses without setting them, and the
// result names the VF by PCI address with its admin MAC; DEL restores the
// PF side and releases the address.
func TestUserspaceVF(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, userspace: []int{1}})
	before := n.snapshot()
	p := n.newPod("dpdk")
	conf := n.conf(1, map[string]any{"mac": "02:00:00:00:00:d1", "vlan": 42, "mtu": 9000})
	res := n.mustAdd(p, conf)
	if len(res.Interfaces) != 1 || res.Interfaces[0].PciID != n.vfAddr(1) || res.Interfaces[0].Mac != "02:00:00:00:00:d1" ||
		res.Interfaces[0].Sandbox != p.ns.Path() {
		t.Errorf("result interfaces = %+v", res.Interfaces[0])
	}
	if len(res.IPs) != 1 || res.IPs[0].Address.String() != "10.9.0.2/24" {
		t.Errorf("result IPs = %+v", res.IPs)
	}
	if l := links(t, p.ns); len(l) != 1 {
		t.Errorf("the pod got links: %v", l)
	}
	if s := n.vfs.State("pf0", 1); s.VLAN != 42 || s.MAC != "02:00:00:00:00:d1" {
		t.Errorf("VF 1 PF-side = %+v", s)
	}
	if !strings.Contains(n.logText(), `"mode":"userspace"`) {
		t.Errorf("log does not record the userspace mode")
	}
	if err := n.check(p, conf, res); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	n.mustDel(p, conf)
	n.sameAs(before, "DEL did not restore the node")
	if err := n.del(p, conf); err != nil {
		t.Errorf("second DEL: %v", err)
	}
}

func TestUserspaceVFRefusals(t *testing.T) {
	refusals(t, nodeOpts{userspace: []int{0}}, "dpdk", []refusal{
		{"rdma required", vftest.Full, map[string]any{"rdma": "required"}, CodeRDMAUnavailable, []string{"no kernel RDMA device"}},
		{"mac without PF support", vftest.Driver{Name: "veth", NoVFInfo: true}, map[string]any{"mac": "02:00:00:00:00:d1"}, types.ErrUnsupportedField, []string{"nothing can set its MAC"}},
		{"guid", vftest.Full, map[string]any{"guid": "02:00:00:00:00:00:00:01"}, types.ErrUnsupportedField, []string{"vfio-pci"}},
	})
}

// An InfiniBand VF takes a GUID through the PF, applied by rebinding the
// VF; DEL writes back the original (the all-F "unset" value when it had
// none) and rebinds again.
func TestInfiniBandGUID(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, ib: true, hwRDMA: true})
	p, conf := n.attached("ib-pod", 0, map[string]any{"runtimeConfig": map[string]any{"infinibandGUID": "02:00:00:00:00:00:00:07"}, "link_state": "enable"})
	if got := n.vfs.GUID("pf0", 0); got != "02:00:00:00:00:00:00:07" {
		t.Errorf("VF GUID = %q", got)
	}
	drv := filepath.Join(n.sys, "bus/pci/drivers/mlx5_core")
	for _, f := range []string{"unbind", "bind"} {
		if b, err := os.ReadFile(filepath.Join(drv, f)); err != nil || string(b) != n.vfAddr(0) {
			t.Errorf("rebind wrote %s = %q, %v", f, b, err)
		}
	}
	if got := n.rdma.where("mlx5_0", p.ns); got != "pod" {
		t.Errorf("mlx5_0 in %s, want pod", got)
	}
	if err := os.Remove(filepath.Join(drv, "bind")); err != nil {
		t.Fatal(err)
	}
	n.mustDel(p, conf)
	if got := n.vfs.GUID("pf0", 0); got != vf.UnsetGUID().String() {
		t.Errorf("VF GUID after DEL = %q, want the unset value", got)
	}
	if _, err := os.Stat(filepath.Join(drv, "bind")); err != nil {
		t.Errorf("DEL did not rebind the VF: %v", err)
	}
	if _, ok := links(t, n.host)["vf0"]; !ok {
		t.Errorf("vf0 not home")
	}
}

func TestInfiniBandRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"pkey", map[string]any{"pkey": "0x8001"}, "no interface to set a VF's partition key"},
		{"mac", map[string]any{"mac": "02:00:00:00:00:01"}, "set guid instead"},
		{"vlan", map[string]any{"vlan": 10}, "only link_state and guid apply"},
		// link_state is the one setting InfiniBand takes: the error must
		// blame the rate, not it.
		{"link_state and a rate", map[string]any{"link_state": "enable", "max_tx_rate": 100}, "max_tx_rate 100: VF 0000:01:10.0 is InfiniBand; only link_state and guid apply"},
		// "vlan": 0 alone is untagged, which an InfiniBand VF already is.
		{"vlan 0 and trust", map[string]any{"vlan": 0, "trust": "on"}, "trust on: VF 0000:01:10.0 is InfiniBand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, ib: true})
			n.refusedAdd(n.newPod("ib-pod"), n.conf(0, tc.extra), types.ErrUnsupportedField, tc.want)
		})
	}
	// A GUID on an Ethernet VF is a mistake too.
	n := newNode(t, nodeOpts{vfs: 1})
	if _, err := n.add(n.newPod("eth-pod"), n.conf(0, map[string]any{"guid": "02:00:00:00:00:00:00:01"})); err == nil || !strings.Contains(err.Error(), "not InfiniBand") {
		t.Errorf("guid on an Ethernet VF = %v", err)
	}
}
