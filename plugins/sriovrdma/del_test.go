package sriovrdma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

func TestDelIsIdempotent(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	before := n.snapshot()
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"vlan": 5})

	// DEL of an attachment that never existed: nothing to undo, success.
	if err := n.del(p, conf); err != nil {
		t.Fatalf("DEL with no journal: %v", err)
	}
	n.mustAdd(p, conf)
	if err := n.del(p, conf); err != nil {
		t.Fatalf("first DEL: %v", err)
	}
	if err := n.del(p, conf); err != nil {
		t.Fatalf("second DEL: %v", err)
	}
	n.sameAs(before, "node changed after ADD, DEL, DEL")
	// A DEL whose netconf no longer validates still works from the journal.
	n.mustAdd(p, conf)
	if err := n.del(p, []byte(`{"cniVersion":"1.1.0","name":"rdma-net","type":"sriov-rdma","vlan":9999,"stateDir":"`+n.stateDir+`"}`)); err != nil {
		t.Fatalf("DEL with an invalid netconf: %v", err)
	}
	n.sameAs(before, "DEL with an invalid netconf left the node changed")
	// Nor does a DEL without a netns (the runtime lost it).
	n.mustAdd(p, conf)
	noNetns := *n.args(p, conf)
	noNetns.Netns = ""
	if err := n.inHost(func() error { return n.p.Del(&noNetns) }); err != nil {
		t.Fatalf("DEL without CNI_NETNS: %v", err)
	}
	n.sameAs(before, "DEL without CNI_NETNS left the node changed")
}

func TestDelAfterPodNetnsDeleted(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	origVF := n.vfs.State("pf0", 0)
	p, conf := n.attached("pod-a", 0, map[string]any{"vlan": 5, "trust": "on"})
	// Deleting the namespace destroys a veth stand-in (a real VF would be
	// returned to the host instead: see TestDelFindsNetdevReturnedByKernel).
	deleteNS(t, p.ns)
	if err := n.del(p, conf); err != nil {
		t.Fatalf("DEL after netns deletion: %v", err)
	}
	if got := n.ipam.allocated(); len(got) != 0 {
		t.Errorf("addresses still allocated: %v", got)
	}
	if got := n.vfs.State("pf0", 0); got != origVF {
		t.Errorf("VF 0 PF-side = %+v, want %+v", got, origVF)
	}
	if s := n.snapshot(); len(s.State) != 0 {
		t.Errorf("state dir not empty: %v", s.State)
	}
	if err := n.del(p, conf); err != nil {
		t.Fatalf("second DEL after netns deletion: %v", err)
	}
}

// The kernel returns a physical VF netdev to the host when its pod netns
// dies, renamed when its name is taken. DEL finds it by PCI address.
func TestDelFindsNetdevReturnedByKernel(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	before := links(t, n.host)["vf0"]
	p, conf := n.attached("pod-a", 0, map[string]any{"mac": "02:00:00:00:00:aa", "mtu": 1300})
	// What the kernel does: the netdev lands on the host as eth9.
	if err := (p.ns).Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName("net1")
		if err != nil {
			return err
		}
		return netlink.LinkSetNsFd(l, int(n.host.Fd()))
	}); err != nil {
		t.Fatal(err)
	}
	if err := n.host.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName("net1")
		if err != nil {
			return err
		}
		return netlink.LinkSetName(l, "eth9")
	}); err != nil {
		t.Fatal(err)
	}
	// sysfs lists it under the VF's PCI function.
	netDir := filepath.Join(n.sys, "bus/pci/devices", n.vfAddr(0), "net")
	if err := os.Rename(filepath.Join(netDir, "vf0"), filepath.Join(netDir, "eth9")); err != nil {
		t.Fatal(err)
	}
	deleteNS(t, p.ns)
	n.mustDel(p, conf)
	got, ok := links(t, n.host)["vf0"]
	if !ok {
		t.Fatalf("vf0 not back under its name: %v", links(t, n.host))
	}
	if got.MAC != before.MAC || got.MTU != before.MTU || got.Index != before.Index {
		t.Errorf("vf0 back as %+v, want %+v", got, before)
	}
}

func TestDelUsesFallbackNameWhenOriginalIsTaken(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	p, conf := n.attached("pod-a", 0, nil)
	n.addVeth("vf0", "squatter")
	n.mustDel(p, conf)
	want := "vf" + strings.NewReplacer(":", "", ".", "").Replace(n.vfAddr(0))
	if _, ok := links(t, n.host)[want]; !ok {
		t.Errorf("VF netdev not home as %s: %v", want, links(t, n.host))
	}
	if !strings.Contains(n.logText(), want) {
		t.Errorf("log does not mention the fallback name %s", want)
	}
}

// DEL first releases the address, even when the netconf changed.
func TestDelReleasesAddressWithJournalledConfig(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	p := n.newPod("pod-a")
	n.mustAdd(p, n.conf(0, nil))
	if err := n.del(p, n.conf(0, map[string]any{"ipam": nil})); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	if got := n.ipam.allocated(); len(got) != 0 {
		t.Errorf("address leaked when DEL's netconf lost its ipam section: %v", got)
	}
	calls := n.ipam.callLog()
	if len(calls) < 2 || calls[len(calls)-1] != "DEL pod-a/net1" {
		t.Errorf("IPAM calls = %v, want a DEL for pod-a/net1", calls)
	}
}

// A failing step of DEL keeps the journal, so the retried DEL finishes.
func TestDelFailureKeepsJournalForRetry(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	before := n.snapshot()
	p, conf := n.attached("pod-a", 0, map[string]any{"vlan": 3})
	n.inj.reset("link-move net1 vf0")
	if err := n.del(p, conf); err == nil || !strings.Contains(err.Error(), "journal kept") {
		t.Fatalf("DEL with a failing move = %v, want an error saying the journal is kept", err)
	}
	if err := n.del(p, conf); err != nil {
		t.Fatalf("retried DEL: %v", err)
	}
	n.sameAs(before, "node not restored by the retried DEL")
}

// ("a-b","c") and ("a","b-c") share a journal file name: neither may act
// on the other's attachment.
func TestCollidingKeysNeverTouchEachOther(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	owner := n.newPod("a-b")
	owner.ifname = "c"
	conf := n.conf(0, nil)
	n.mustAdd(owner, conf)
	other := &pod{ns: n.newPod("x").ns, id: "a", ifname: "b-c"}
	if err := n.del(other, conf); err != nil {
		t.Fatalf("DEL of the colliding attachment: %v", err)
	}
	if _, ok := links(t, owner.ns)["c"]; !ok {
		t.Fatal("DEL of (a, b-c) took the VF of (a-b, c)")
	}
	if _, err := n.add(other, n.conf(1, nil)); err == nil || !strings.Contains(err.Error(), "belongs to another attachment") {
		t.Fatalf("ADD of the colliding attachment = %v, want a refusal", err)
	}
}

// A torn journal never fails DEL: the VF leaves the pod (found by PCI
// address, or as CNI_IFNAME of this attachment), under its original name
// when the torn journal still holds it, and the address is released.
func TestDelWithTornJournal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tear     func([]byte) []byte
		wantHome string
	}{
		{"half a journal", func(b []byte) []byte { return b[:len(b)/2] }, "vf0"},
		{"garbage", func([]byte) []byte { return []byte("\x00\x01not json") }, "vf" + strings.NewReplacer(":", "", ".", "").Replace("0000:01:10.0")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1})
			p, conf := n.attached("pod-a", 0, nil)
			path := filepath.Join(n.stateDir, "pod-a-net1.json")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.tear(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("DEL with a torn journal: %v", err)
			}
			if _, ok := links(t, p.ns)["net1"]; ok {
				t.Errorf("the VF stayed in the pod")
			}
			if _, ok := links(t, n.host)[tc.wantHome]; !ok {
				t.Errorf("the VF is not home as %s: %v", tc.wantHome, links(t, n.host))
			}
			if ips := n.ipam.allocated(); len(ips) != 0 {
				t.Errorf("address leaked: %v", ips)
			}
			if s := n.snapshot(); len(s.State) != 0 {
				t.Errorf("state left: %v", s.State)
			}
		})
	}
}
