package sriovrdma

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

func TestCheckDetectsDrift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drift func(n *node, p *pod) error
		want  string
	}{
		{"mac changed", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", func(l netlink.Link) error {
				return netlink.LinkSetHardwareAddr(l, net.HardwareAddr{2, 0, 0, 0, 0, 0x99})
			})
		}, "MAC of net1 is 02:00:00:00:00:99, expected 02:00:00:00:00:01"},
		{"address removed", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", func(l netlink.Link) error {
				a, _ := netlink.ParseAddr("10.9.0.2/24")
				return netlink.AddrDel(l, a)
			})
		}, "address 10.9.0.2/24 is missing from net1"},
		{"rdma device gone", func(n *node, p *pod) error {
			return n.rdma.Move("mlx5_0", p.ns, n.host)
		}, "RDMA device mlx5_0 is missing from the pod netns"},
		{"vlan changed on the PF", func(n *node, p *pod) error {
			s := n.vfs.State("pf0", 0)
			s.VLAN = 0
			n.vfs.Set("pf0", 0, s)
			return nil
		}, "VLAN is 0 qos 0 proto 802.1q, expected 100 qos 0 proto 802.1q"},
		{"interface down", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", netlink.LinkSetDown)
		}, "net1 is down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"mac": "02:00:00:00:00:01", "vlan": 100})
			res := n.mustAdd(p, conf)
			if err := n.check(p, conf, res); err != nil {
				t.Fatalf("CHECK right after ADD: %v", err)
			}
			if err := tc.drift(n, p); err != nil {
				t.Fatal(err)
			}
			err := n.check(p, conf, res)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CHECK after drift = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestPFSettingsRefused(t *testing.T) {
	refusals(t, nodeOpts{}, "pod-a", []refusal{
		{"no VF info, vlan asked", vftest.Driver{Name: "veth", NoVFInfo: true}, map[string]any{"vlan": 100},
			types.ErrUnsupportedField, []string{"vlan 100", "driver veth", "reports no VF settings"}},
		{"igb link_state", vftest.IGB, map[string]any{"vlan": 100, "link_state": "enable"},
			types.ErrUnsupportedField, []string{"link_state enable", "driver igb", "operation not supported"}},
		{"igb 802.1ad", vftest.IGB, map[string]any{"vlan": 100, "vlanProto": "802.1ad"},
			types.ErrUnsupportedField, []string{"vlan", "802.1ad", "driver igb"}},
		{"igb min_tx_rate", vftest.IGB, map[string]any{"min_tx_rate": 10, "max_tx_rate": 100},
			types.ErrInternal, []string{"max_tx_rate/min_tx_rate", "driver igb", "invalid argument"}},
	})
}

// A PF without VF support still takes a pod-side MAC: it goes on the netdev.
func TestMACWithoutPFSupport(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, driver: vftest.Driver{Name: "veth", NoVFInfo: true}})
	p := n.newPod("pod-a")
	res := n.mustAdd(p, n.conf(0, map[string]any{"mac": "02:00:00:00:00:42"}))
	if res.Interfaces[0].Mac != "02:00:00:00:00:42" {
		t.Errorf("MAC in result = %s", res.Interfaces[0].Mac)
	}
	if !strings.Contains(n.logText(), "PF-side work skipped") {
		t.Errorf("log does not say PF-side work was skipped")
	}
}

// Spoof checking on and trust off unless the config asks: a pod never
// inherits what the VF's previous user (or an operator) left.
func TestSecureDefaults(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	s := n.vfs.State("pf0", 0)
	s.SpoofChk, s.Trust = false, true
	n.vfs.Set("pf0", 0, s)
	p, conf := n.attached("pod-a", 0, nil)
	if got := n.vfs.State("pf0", 0); !got.SpoofChk || got.Trust {
		t.Errorf("VF in the pod has spoofchk %t trust %t, want on/off", got.SpoofChk, got.Trust)
	}
	n.mustDel(p, conf)
	if got := n.vfs.State("pf0", 0); got != s {
		t.Errorf("DEL left %+v, want the original %+v", got, s)
	}
}

// A killed ADD leaves its journal; the runtime's retry of the same ADD
// restores what the first try did and succeeds.
func TestRetriedAddAfterCrash(t *testing.T) {
	for _, point := range []string{"add:after-journal", "add:pf-settings", "add:rdma-to-pod", "add:netdev-to-pod",
		"add:mac-mtu", "add:addresses", "add:commit"} {
		t.Run(point, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
			before := n.snapshot()
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"vlan": 4, "mac": "02:00:00:00:00:04"})
			n.crashAt(point, func() {
				if _, err := n.add(p, conf); !errors.Is(err, errCrashed) {
					t.Fatalf("ADD did not crash at %s: %v", point, err)
				}
			})
			if s := n.snapshot(); len(s.State) == 0 {
				t.Fatalf("crash at %s left no journal", point)
			}
			n.p.Fault = nil
			res := n.mustAdd(p, conf)
			if res.Interfaces[0].Mac != "02:00:00:00:00:04" {
				t.Errorf("retried ADD result %+v", res.Interfaces[0])
			}
			n.mustDel(p, conf)
			n.sameAs(before, "node not restored")
		})
	}
}

// STATUS is asked per network, before any pod exists: no deviceID.
func TestStatusWithoutDeviceID(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	conf := n.conf(0, map[string]any{"deviceID": nil})
	if err := n.inHost(func() error { return n.p.Status(&skel.CmdArgs{StdinData: conf, Path: "/nonexistent"}) }); err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if got := n.ipam.callLog(); len(got) == 0 || got[len(got)-1] != "STATUS /" {
		t.Errorf("IPAM calls %v, want a STATUS forwarded", got)
	}
	n.rdma.noRDMA = true
	err := n.inHost(func() error {
		return n.p.Status(&skel.CmdArgs{StdinData: n.conf(0, map[string]any{"rdma": "required"}), Path: "/nonexistent"})
	})
	if err == nil || cniCode(t, err) != types.ErrPluginNotAvailable || !strings.Contains(err.Error(), "no RDMA subsystem") {
		t.Fatalf("STATUS with rdma required on a node without RDMA = %v, want code 50", err)
	}
}

// CNI_NETNS must be a network namespace other than the node's: a path
// that does not exist is a container that does not exist (3), anything
// else is an invalid variable (4); both are refused before the host
// changes.
func TestAddRefusesBadNetns(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	before := n.snapshot()
	for _, tc := range []struct {
		path string
		code uint
	}{
		{"/proc/version", CodeInvalidEnv},
		{"/etc/hostname", CodeInvalidEnv},
		{"netns/relative", CodeInvalidEnv},
		{"/nonexistent/netns", CodeNoContainer},
		{n.host.Path(), CodeInvalidEnv},
	} {
		p := &pod{ns: n.newPod("x").ns, id: "pod-a", ifname: "net1"}
		args := n.args(p, n.conf(0, nil))
		args.Netns = tc.path
		err := n.inHost(func() error { return n.p.Add(args) })
		if err == nil {
			t.Fatalf("ADD into %s succeeded", tc.path)
		}
		if code := cniCode(t, err); code != tc.code {
			t.Errorf("ADD into %s: code %d (%v), want %d", tc.path, code, err, tc.code)
		}
	}
	n.sameAs(before, "refused ADDs changed the node")
}
