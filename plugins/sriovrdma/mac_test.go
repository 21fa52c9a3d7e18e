package sriovrdma

// The VF's admin MAC: a fallback when the driver refuses the original, a
// retry when the error is transient, and a pod MAC on an untrusted VF.

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// macRefusingDriver makes the fake refuse, with EINVAL as drivers do, to set
// the given VF's admin MAC back to its original value.
func macRefusingDriver(n *node, idx int, orig string, errno error) {
	inner := n.vfs.FailAt
	refuse := fmt.Sprintf("set-mac pf0 %d %s", idx, orig)
	n.vfs.FailAt = func(call string) error {
		if call == refuse {
			return errno
		}
		return inner(call)
	}
}

// When the driver refuses the original admin MAC, DEL sets a locally
// administered unicast MAC that no other VF of the PF holds, differs from
// the original and from the pod's MAC, and logs it.
//
// What is asserted, after ADD with mac 02:00:00:00:00:aa and DEL:
//   - DEL exits 0 and drops the journal;
//   - VF 0's admin MAC m parses, has bit 1 of the first octet set (locally
//     administered) and bit 0 clear (unicast);
//   - m differs from the original, from the pod's MAC, and from the admin
//     MAC of every other VF of the PF (one of which is set to the first
//     fallback candidate, vf.LocalMAC(pf0, 0, 0), so uniqueness is tested);
//   - the log file names m;
//   - every other PF-side attribute is back to its original.
func TestMACFallbackWhenDriverRefusesOriginal(t *testing.T) {
	for _, tc := range []struct {
		name string
		orig string // VF 0's admin MAC before ADD
		opts nodeOpts
		hook func(n *node)
	}{
		{"driver refuses the all-zero MAC", "00:00:00:00:00:00",
			nodeOpts{vfs: 4, driver: vftest.Driver{Name: "ice", RejectZeroMAC: true}}, nil},
		{"driver refuses the original MAC with EINVAL", "aa:af:23:88:00:00",
			nodeOpts{vfs: 4}, func(n *node) { macRefusingDriver(n, 0, "aa:af:23:88:00:00", unix.EINVAL) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.opts)
			orig := n.vfs.State("pf0", 0)
			orig.MAC = tc.orig
			n.vfs.Set("pf0", 0, orig)
			taken := n.vfs.State("pf0", 1)
			taken.MAC = vf.LocalMAC("pf0", 0, 0).String()
			n.vfs.Set("pf0", 1, taken)
			if tc.hook != nil {
				tc.hook(n)
			}
			p := n.newPod("pod-a")
			const podMAC = "02:00:00:00:00:aa"
			conf := n.conf(0, map[string]any{"mac": podMAC, "vlan": 12})
			n.mustAdd(p, conf)
			if got := n.vfs.State("pf0", 0).MAC; got != podMAC {
				t.Fatalf("admin MAC in the pod %s, want %s", got, podMAC)
			}
			n.mustDel(p, conf)
			got := n.vfs.State("pf0", 0)
			mac, err := net.ParseMAC(got.MAC)
			if err != nil || len(mac) != 6 {
				t.Fatalf("admin MAC after DEL %q: %v", got.MAC, err)
			}
			if mac[0]&0x02 == 0 || mac[0]&0x01 != 0 {
				t.Errorf("admin MAC after DEL %s is not locally administered unicast", mac)
			}
			if strings.EqualFold(got.MAC, tc.orig) || strings.EqualFold(got.MAC, podMAC) {
				t.Errorf("admin MAC after DEL %s: want neither the original %s nor the pod's %s", got.MAC, tc.orig, podMAC)
			}
			for i := 1; i < 4; i++ {
				if other := n.vfs.State("pf0", i).MAC; strings.EqualFold(other, got.MAC) {
					t.Errorf("admin MAC after DEL %s duplicates VF %d's", got.MAC, i)
				}
			}
			if !strings.Contains(n.logText(), got.MAC) {
				t.Errorf("log does not name the fallback MAC %s:\n%s", got.MAC, n.logText())
			}
			rest := got
			rest.MAC = orig.MAC
			if rest != orig {
				t.Errorf("other PF-side attributes after DEL %+v, want %+v", rest, orig)
			}
			if s := n.snapshot(); len(s.State) != 0 || len(s.IPs) != 0 {
				t.Errorf("after DEL: state %v, addresses %v", s.State, s.IPs)
			}
		})
	}
}

// A transient error restoring the admin MAC is no refusal: DEL fails and
// keeps the journal, and the retried DEL puts the original MAC back. A
// fallback here would lose the original MAC for good.
func TestTransientMACErrorIsRetriedNotReplaced(t *testing.T) {
	for _, errno := range []error{unix.EBUSY, unix.ENOBUFS, unix.EAGAIN, vftest.ErrInjected} {
		t.Run(errno.Error(), func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 2})
			orig := n.vfs.State("pf0", 0)
			p, conf := n.attached("pod-a", 0, map[string]any{"mac": "02:00:00:00:00:aa"})
			once := false
			inner := n.vfs.FailAt
			n.vfs.FailAt = func(call string) error {
				if !once && call == "set-mac pf0 0 "+orig.MAC {
					once = true
					return errno
				}
				return inner(call)
			}
			if err := n.del(p, conf); err == nil {
				t.Errorf("DEL with a transient error restoring the MAC exited 0; admin MAC now %s", n.vfs.State("pf0", 0).MAC)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("retried DEL: %v", err)
			}
			if got := n.vfs.State("pf0", 0); got != orig {
				t.Errorf("VF 0 after the retried DEL %+v, want the original %+v", got, orig)
			}
		})
	}
}

// igbLinks models igb/igbvf's rule for a VF's own MAC: once the PF has set
// an administrative MAC (ndo_set_vf_mac), the VF's request to change its
// MAC is refused, even to the same value, unless the VF is trusted. A change
// the VF may make is registered with the PF, which then reports it as the
// VF's MAC.
type igbLinks struct {
	Links
	vfs     *vftest.Fake
	byIndex map[int]int // netdev ifindex -> VF index on pf0
}

func (l igbLinks) SetMAC(in ns.NetNS, name string, mac net.HardwareAddr) error {
	a, err := l.Get(in, name)
	if err != nil {
		return err
	}
	idx, isVF := l.byIndex[a.Index]
	if isVF {
		st := l.vfs.State("pf0", idx)
		adminSet := slices.ContainsFunc(l.vfs.Calls(), func(c string) bool { return strings.HasPrefix(c, fmt.Sprintf("set-mac pf0 %d ", idx)) })
		if adminSet && !st.Trust {
			return fmt.Errorf("set mac %s on %s: %w", mac, name, unix.EADDRNOTAVAIL)
		}
	}
	if err := l.Links.SetMAC(in, name, mac); err != nil {
		return err
	}
	if isVF {
		st := l.vfs.State("pf0", idx)
		st.MAC = mac.String()
		l.vfs.Set("pf0", idx, st)
	}
	return nil
}

// A pod MAC on an untrusted igb VF: the VF sets its own MAC first, so the PF
// never holds an administrative MAC that would lock the VF out, and DEL puts
// both the netdev's and the PF's view of the MAC back exactly.
func TestPodMACOnAnUntrustedVF(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	byIndex := map[int]int{links(t, n.host)["vf0"].Index: 0}
	n.p.Links = igbLinks{n.p.Links, n.vfs, byIndex}
	// As on igb, the PF reports the VF's own MAC.
	st := n.vfs.State("pf0", 0)
	st.MAC = links(t, n.host)["vf0"].MAC
	n.vfs.Set("pf0", 0, st)
	before := n.snapshot()
	p := n.newPod("pod-a")
	const mac = "02:00:00:00:0f:01"
	conf := n.conf(0, map[string]any{"mac": mac, "vlan": 12})
	res, err := n.add(p, conf)
	if err != nil {
		t.Fatalf("ADD with a MAC on an untrusted VF: %v", err)
	}
	if res.Interfaces[0].Mac != mac || links(t, p.ns)["net1"].MAC != mac {
		t.Errorf("pod MAC %s (result %s), want %s", links(t, p.ns)["net1"].MAC, res.Interfaces[0].Mac, mac)
	}
	if got := n.vfs.State("pf0", 0); got.MAC != mac || got.Trust || got.VLAN != 12 {
		t.Errorf("PF view %+v, want MAC %s, trust off, vlan 12", got, mac)
	}
	n.mustDel(p, conf)
	n.sameAs(before, "node after DEL differs")
}
