package sriovrdma

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
)

// CHECK after a later plugin in the chain (tuning, say) changed the VF:
// prevResult is the expectation where it speaks, config only where it
// does not, and an MTU no later plugin reported is not held to config.
func TestCheckAllowsALaterPlugin(t *testing.T) {
	const ourMAC, laterMAC, handMAC = "02:00:00:00:00:01", "02:00:00:00:00:42", "02:00:00:00:00:99"
	setMTU := func(mtu int) func(*pod) error {
		return func(p *pod) error {
			return inLink(p.ns, "net1", func(l netlink.Link) error { return netlink.LinkSetMTU(l, mtu) })
		}
	}
	setMAC := func(mac string) func(*pod) error {
		return func(p *pod) error {
			hw, _ := net.ParseMAC(mac)
			return inLink(p.ns, "net1", func(l netlink.Link) error { return netlink.LinkSetHardwareAddr(l, hw) })
		}
	}
	for _, tc := range []struct {
		name    string
		version string
		later   func(*pod) error         // what the later plugin (or a hand) did
		report  func(*current.Interface) // what the later plugin reported
		pf      func(*node)              // a change on the PF side
		want    string                   // "" = CHECK passes
		logs    string
	}{
		{"later plugin set MTU 1300 and reported it", "1.1.0", setMTU(1300),
			func(i *current.Interface) { i.Mtu = 1300 }, nil, "", ""},
		{"later plugin set MTU 1300 and did not report it (tuning v1.10.0)", "1.1.0", setMTU(1300),
			nil, nil, "", "MTU differs from the one ADD set"},
		{"result version without MTU, later plugin set 1300", "1.0.0", setMTU(1300),
			nil, nil, "", "MTU differs from the one ADD set"},
		{"reported MTU 1300 undone by hand", "1.1.0", nil,
			func(i *current.Interface) { i.Mtu = 1300 }, nil, "MTU of net1 is 1400, expected 1300 (prevResult)", ""},
		{"later plugin set the MAC and reported it", "1.1.0", setMAC(laterMAC),
			func(i *current.Interface) { i.Mac = laterMAC }, nil, "", ""},
		{"MAC changed by hand", "1.1.0", setMAC(handMAC),
			nil, nil, "MAC of net1 is " + handMAC + ", expected " + ourMAC + " (prevResult)", ""},
		{"prevResult without a MAC: config's", "1.1.0", setMAC(handMAC),
			func(i *current.Interface) { i.Mac = "" }, nil, "MAC of net1 is " + handMAC + ", expected " + ourMAC + " (config)", ""},
		{"a later plugin's MTU reported, the PF side changed: checked against the journal", "1.1.0", setMTU(1300),
			func(i *current.Interface) { i.Mtu = 1300 }, func(n *node) {
				s := n.vfs.State("pf0", 0)
				s.VLAN = 7
				n.vfs.Set("pf0", 0, s)
			}, "VLAN is 7 qos 0 proto 802.1q, expected 100", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1})
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"cniVersion": tc.version, "mtu": 1400, "mac": ourMAC, "vlan": 100})
			res := n.mustAdd(p, conf)
			if tc.later != nil {
				if err := tc.later(p); err != nil {
					t.Fatal(err)
				}
			}
			if tc.report != nil {
				tc.report(res.Interfaces[0])
			}
			if tc.pf != nil {
				tc.pf(n)
			}
			prev := any(res)
			if tc.version != "1.1.0" {
				// The runtime hands back the result at the netconf's version.
				out, err := res.GetAsVersion(tc.version)
				if err != nil {
					t.Fatal(err)
				}
				prev = out
			}
			err := checkWith(n, p, conf, prev)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CHECK: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CHECK = %v, want it to say %q", err, tc.want)
			}
			if tc.logs != "" && !strings.Contains(n.logText(), tc.logs) {
				t.Errorf("log does not say %q:\n%s", tc.logs, n.logText())
			}
		})
	}
}

// checkWith runs CHECK with prev, a result of any version, as prevResult.
func checkWith(n *node, p *pod, conf []byte, prev any) error {
	var c map[string]any
	if err := json.Unmarshal(conf, &c); err != nil {
		n.t.Fatal(err)
	}
	c["prevResult"] = prev
	b, err := json.Marshal(c)
	if err != nil {
		n.t.Fatal(err)
	}
	return n.inHost(func() error { return n.p.Check(n.args(p, b)) })
}

// CHECK of a pod whose netns is gone: the container does not exist (3).
func TestCheckOfAGonePod(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	p := n.newPod("pod-a")
	conf := n.conf(0, nil)
	res := n.mustAdd(p, conf)
	args := n.args(p, conf)
	deleteNS(t, p.ns)
	var c map[string]any
	if err := json.Unmarshal(conf, &c); err != nil {
		t.Fatal(err)
	}
	c["prevResult"] = res
	args.StdinData, _ = json.Marshal(c)
	err := n.inHost(func() error { return n.p.Check(args) })
	if err == nil || cniCode(t, err) != CodeNoContainer {
		t.Fatalf("CHECK of a pod whose netns is gone = %v, want code 3", err)
	}
	n.mustDel(p, conf)
}
