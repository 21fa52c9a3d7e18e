package sriovrdma

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// confIPAM records the netconf bytes every IPAM call is given.
type confIPAM struct {
	IPAM
	mu    sync.Mutex
	calls []ipamConfCall
}

type ipamConfCall struct {
	Op, Key string
	Conf    []byte
}

func (c *confIPAM) rec(op string, call ipam.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, ipamConfCall{op, attKey(call), append([]byte(nil), call.Conf...)})
}

func (c *confIPAM) Add(ctx context.Context, call ipam.Call) (types.Result, error) {
	c.rec("ADD", call)
	return c.IPAM.Add(ctx, call)
}

func (c *confIPAM) Del(ctx context.Context, call ipam.Call) error {
	c.rec("DEL", call)
	return c.IPAM.Del(ctx, call)
}

// of returns the calls of one op for one attachment.
func (c *confIPAM) of(op, key string) []ipamConfCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ipamConfCall
	for _, call := range c.calls {
		if call.Op == op && call.Key == key {
			out = append(out, call)
		}
	}
	return out
}

func recordIPAMConf(n *node) *confIPAM {
	c := &confIPAM{IPAM: n.p.IPAM}
	n.p.IPAM = c
	return c
}

// sameJSON: the same JSON document, whitespace aside (the journal stores
// the netconf indented).
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func bootID(id string) func() (string, error) {
	return func() (string, error) { return id, nil }
}

// After a reboot the journal's originals describe a device the reboot
// already reset: DEL releases the address with the IPAM config recorded at
// ADD, leaves the device alone and drops the journal.
func TestDelAfterRebootReleasesAddressOnly(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	ipamLog := recordIPAMConf(n)
	p := n.newPod("pod-a")
	addConf := n.conf(0, map[string]any{"vlan": 7, "mac": "02:00:00:00:00:07", "mtu": 1400,
		"ipam": map[string]any{"type": "fake", "subnet": "10.9.0.0/24"}})
	n.mustAdd(p, addConf)

	n.p.BootID = bootID("boot-2") // the node rebooted
	podLinks, vfState, rdma := links(t, p.ns), n.vfs.State("pf0", 0), n.rdma.dump()
	n.resetCalls()
	// Today's netconf has another IPAM section: the recorded one must win.
	delConf := n.conf(0, map[string]any{"ipam": map[string]any{"type": "fake", "subnet": "10.99.0.0/16"}})
	if err := n.del(p, delConf); err != nil {
		t.Fatalf("DEL after reboot: %v", err)
	}

	adds, dels := ipamLog.of("ADD", "pod-a/net1"), ipamLog.of("DEL", "pod-a/net1")
	if len(adds) != 1 || len(dels) != 1 {
		t.Fatalf("IPAM ADD calls %d, DEL calls %d; want 1 each", len(adds), len(dels))
	}
	if !sameJSON(dels[0].Conf, adds[0].Conf) {
		t.Errorf("IPAM DEL got the netconf\n%s\nwant the one recorded at ADD\n%s", dels[0].Conf, adds[0].Conf)
	}
	if ips := n.ipam.allocated(); len(ips) != 0 {
		t.Errorf("address not released: %v", ips)
	}
	if c := n.changeCalls(); len(c) != 0 {
		t.Errorf("DEL of an earlier boot's attachment touched devices: %v", c)
	}
	if got := links(t, p.ns); !reflect.DeepEqual(got, podLinks) {
		t.Errorf("pod links changed: %v, were %v", got, podLinks)
	}
	if got := n.vfs.State("pf0", 0); got != vfState {
		t.Errorf("VF 0 PF-side changed: %+v, was %+v", got, vfState)
	}
	if got := n.rdma.dump(); got != rdma {
		t.Errorf("RDMA devices changed: %s, were %s", got, rdma)
	}
	if _, err := os.Stat(filepath.Join(n.stateDir, "pod-a-net1.json")); !os.IsNotExist(err) {
		t.Errorf("journal still there after DEL (stat: %v)", err)
	}
	if !strings.Contains(n.logText(), "earlier boot") {
		t.Errorf("log does not say the journal is from an earlier boot")
	}
	// A second DEL has nothing left to do.
	if err := n.del(p, delConf); err != nil {
		t.Fatalf("second DEL: %v", err)
	}
}

// reboot does to the node what a reboot does: the pod netns is gone, VF
// vfIdx (which the pod held) is back on the host under its name, every VF
// has its power-on PF-side state, RDMA devices are on the host, and the
// boot ID changed. wipeLocks: the lock directory is on a tmpfs (the
// default, /run) and the reboot emptied it.
func (n *node) reboot(t *testing.T, wipeLocks bool, p *pod, vfIdx int) {
	t.Helper()
	home := n.pf.VFs[vfIdx].Netdev
	if err := inLink(p.ns, p.ifname, func(l netlink.Link) error { return netlink.LinkSetNsFd(l, int(n.host.Fd())) }); err != nil {
		t.Fatal(err)
	}
	if err := inLink(n.host, p.ifname, func(l netlink.Link) error { return netlink.LinkSetName(l, home) }); err != nil {
		t.Fatal(err)
	}
	rdmaDev := fmt.Sprintf("mlx5_%d", vfIdx)
	if n.rdma.where(rdmaDev, p.ns) == "pod" {
		if err := n.rdma.Move(rdmaDev, p.ns, n.host); err != nil {
			t.Fatal(err)
		}
	}
	deleteNS(t, p.ns)
	fresh := vftest.New()
	fresh.AddPF("pf0", vftest.Full, len(n.pf.VFs))
	for i := range n.pf.VFs {
		n.vfs.Set("pf0", i, fresh.State("pf0", i))
	}
	if wipeLocks {
		if err := os.RemoveAll(n.lockDir); err != nil {
			t.Fatal(err)
		}
	}
	n.p.BootID = bootID("boot-2")
}

// An attachment from before the reboot holds VF 0 in its journal. After
// the reboot a new pod's ADD of VF 0 takes it; the old attachment's DEL
// and a GC then release only the old address and journal, never the new
// owner's VF or address.
func TestRebootNewOwnerKeepsVF(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wipeLocks bool
	}{
		{"lock directory on tmpfs, emptied by the reboot", true},
		{"lock directory survived the reboot", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
			ipamLog := recordIPAMConf(n)
			old, neu := n.newPod("pod-old"), n.newPod("pod-new")
			oldConf := n.conf(0, map[string]any{"vlan": 5, "ipam": map[string]any{"type": "fake", "recorded": "at-add"}})
			n.mustAdd(old, oldConf)
			n.reboot(t, tc.wipeLocks, old, 0)

			newConf := n.conf(0, map[string]any{"vlan": 9, "mtu": 1300})
			res := n.mustAdd(neu, newConf)
			if res.Interfaces[0].PciID != n.vfAddr(0) {
				t.Fatalf("new pod got %s", res.Interfaces[0].PciID)
			}
			liveNew := n.live(neu, 0)
			if newRDMA := n.rdma.where("mlx5_0", neu.ns); liveNew.state.VLAN != 9 || newRDMA != "pod" {
				t.Fatalf("new pod's VF 0: VLAN %d, mlx5_0 in %s", liveNew.state.VLAN, newRDMA)
			}
			if liveNew.ip == "" {
				t.Fatal("new pod has no address")
			}
			unchanged := func(when string) {
				t.Helper()
				liveNew.unchanged(t, when)
				if c := n.changeCalls(); len(c) != 0 {
					t.Errorf("%s touched devices: %v", when, c)
				}
			}

			// The runtime's DEL of the pod that died in the reboot; its
			// netns is gone with the old boot.
			n.resetCalls()
			if err := n.del(old, n.conf(0, nil)); err != nil {
				t.Fatalf("DEL of the pre-reboot attachment: %v", err)
			}
			unchanged("DEL of the pre-reboot attachment")
			if _, ok := n.ipam.allocated()["pod-old/net1"]; ok {
				t.Errorf("pre-reboot address not released")
			}
			// Whoever released it first (the new ADD's claim, when the lock
			// still named the old owner, else the DEL) used the IPAM config
			// recorded at ADD; a later DEL without a journal may repeat it
			// with today's netconf.
			oldAdd, oldDel := ipamLog.of("ADD", "pod-old/net1"), ipamLog.of("DEL", "pod-old/net1")
			if len(oldDel) == 0 {
				t.Errorf("no IPAM DEL for the pre-reboot attachment")
			} else if !sameJSON(oldDel[0].Conf, oldAdd[0].Conf) {
				t.Errorf("pre-reboot address released with\n%s\nwant the config recorded at ADD\n%s", oldDel[0].Conf, oldAdd[0].Conf)
			}
			if _, err := os.Stat(filepath.Join(n.stateDir, "pod-old-net1.json")); !os.IsNotExist(err) {
				t.Errorf("pre-reboot journal still there (stat: %v)", err)
			}

			n.resetCalls()
			if err := n.gc(n.conf(0, nil), neu); err != nil {
				t.Fatalf("GC: %v", err)
			}
			unchanged("GC with the new pod valid")
			if err := n.del(neu, newConf); err != nil {
				t.Fatalf("DEL of the new pod: %v", err)
			}
			if s := n.snapshot(); len(s.State) != 0 || len(s.IPs) != 0 {
				t.Errorf("after the new pod's DEL: state %v, addresses %v", s.State, s.IPs)
			}
		})
	}
}

// GC after a reboot cleans the old boot's journals (address released with
// the recorded config) without touching any device, also when its VF is
// free.
func TestGCAfterRebootCleansOldJournals(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	ipamLog := recordIPAMConf(n)
	n.attached("pod-a", 1, map[string]any{"vlan": 11, "ipam": map[string]any{"type": "fake", "recorded": "at-add"}})
	n.p.BootID = bootID("boot-2")
	n.resetCalls()
	vfState := n.vfs.State("pf0", 1)
	if err := n.gc(n.conf(0, nil)); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if c := n.changeCalls(); len(c) != 0 {
		t.Errorf("GC of an earlier boot's attachment touched devices: %v", c)
	}
	if got := n.vfs.State("pf0", 1); got != vfState {
		t.Errorf("VF 1 PF-side changed: %+v, was %+v", got, vfState)
	}
	dels := ipamLog.of("DEL", "pod-a/net1")
	if len(dels) == 0 {
		t.Errorf("no IPAM DEL for the earlier boot's attachment")
	} else if add := ipamLog.of("ADD", "pod-a/net1")[0].Conf; !sameJSON(dels[0].Conf, add) {
		t.Errorf("IPAM DEL got\n%s\nwant the config recorded at ADD\n%s", dels[0].Conf, add)
	}
	if s := n.snapshot(); len(s.State) != 0 || len(s.IPs) != 0 {
		t.Errorf("after GC: state %v, addresses %v", s.State, s.IPs)
	}
}
