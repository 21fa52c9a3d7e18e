package sriovrdma

// A VF, its pod or its PF that went away or changed under an attachment:
// the pod netns gone while the namespace lives on (limbo), the kernel
// returning the VF under another name, the VF destroyed, the PF renamed, and
// the reclaim of vanished pods' attachments by the next ADD.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
)

// hold removes the pod netns's path, as `ip netns del` or a runtime does,
// while something keeps the namespace alive: the VF stays inside it,
// unreachable by path. It returns the holding handle.
func (n *node) hold(p *pod) ns.NetNS {
	n.t.Helper()
	held, err := ns.GetNS(p.ns.Path())
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { _ = held.Close() })
	deleteNS(n.t, p.ns)
	return held
}

// kernelReturns does what the kernel does when the held namespace finally
// dies: the VF netdev comes back to the host as "dev<ifindex>", its RDMA
// device to the initial namespace.
func (n *node) kernelReturns(held ns.NetNS, ifname string) string {
	n.t.Helper()
	n.rdma.nsDied(held)
	var name string
	err := inLink(held, ifname, func(l netlink.Link) error {
		name = "dev" + strconv.Itoa(l.Attrs().Index)
		_, err := (netdev.Kernel{}).MoveRename(held, ifname, n.host, name)
		return err
	})
	if err != nil {
		n.t.Fatalf("return %s to the host: %v", ifname, err)
	}
	return name
}

// A VF whose pod netns path is gone while the namespace lives on is in
// limbo: DEL must neither give it up nor hang. It answers "try again later"
// and keeps the journal; the DEL the runtime retries once the kernel has
// returned the VF restores everything.
func TestDelWaitsOutAVFInLimbo(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	n.physical()
	before := n.snapshot()
	p, conf := n.attached("pod-a", 0, map[string]any{"mac": "02:00:00:00:00:aa", "mtu": 1300, "vlan": 7})
	held := n.hold(p)

	start := time.Now()
	err := n.del(p, conf)
	if code(err) != types.ErrTryAgainLater || !strings.Contains(err.Error(), "journal kept") {
		t.Fatalf("DEL of a VF in limbo: %v (code %d), want code 11 saying the journal is kept", err, code(err))
	}
	if waited := time.Since(start); waited < n.p.LimboWait {
		t.Errorf("DEL answered after %s, before the %s it waits for the VF", waited, n.p.LimboWait)
	}
	if !n.journalExists(p) {
		t.Fatalf("journal dropped while the VF is still away")
	}
	if _, ok := links(t, n.host)["vf0"]; ok {
		t.Fatalf("vf0 on the host while it is in the held namespace")
	}

	// Another pod cannot have the VF meanwhile: it is told to try again.
	q := n.newPod("pod-b")
	if _, err := n.add(q, n.conf(0, nil)); code(err) != types.ErrTryAgainLater {
		t.Errorf("ADD of the VF in limbo: %v, want code 11", err)
	}

	n.kernelReturns(held, "net1")
	if err := n.del(p, conf); err != nil {
		t.Fatalf("retried DEL: %v", err)
	}
	n.sameAs(before, "node after the retried DEL differs")
}

// The common case on a loaded node: the kernel returns the VF while DEL is
// waiting for it, and the first DEL restores it.
func TestDelRestoresAVFReturningDuringItsWait(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.physical()
	n.p.LimboWait = 5 * time.Second
	before := n.snapshot()
	p, conf := n.attached("pod-a", 0, map[string]any{"mac": "02:00:00:00:00:ab", "mtu": 1400})
	held := n.hold(p)
	returned := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		n.rdma.nsDied(held)
		_, err := (netdev.Kernel{}).MoveRename(held, "net1", n.host, "dev42")
		returned <- err
	}()
	err := n.del(p, conf)
	if rerr := <-returned; rerr != nil {
		t.Fatalf("return the VF to the host: %v", rerr)
	}
	if err != nil {
		t.Fatalf("DEL: %v", err)
	}
	n.sameAs(before, "node after DEL differs")
}

// A VF the kernel returned to the host under another name is reclaimed by
// the ADD that wants it, which then succeeds on its first try.
func TestAddReclaimsThenProceeds(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.physical()
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 6, "mtu": 1300}))
	held := n.hold(a)
	returned := n.kernelReturns(held, "net1")
	if _, ok := links(t, n.host)[returned]; !ok {
		t.Fatalf("the VF is not on the host as %s", returned)
	}
	res, err := n.add(b, n.conf(0, nil))
	if err != nil {
		t.Fatalf("ADD of a VF a vanished pod held failed on its first try: %v", err)
	}
	if res.Interfaces[0].Mtu != 1500 || n.vfs.State("pf0", 0).VLAN != 0 {
		t.Errorf("pod-b got MTU %d VLAN %d: pod-a's settings were not undone", res.Interfaces[0].Mtu, n.vfs.State("pf0", 0).VLAN)
	}
	if _, ok := n.ipam.allocated()["pod-a/net1"]; ok || n.journalExists(a) {
		t.Errorf("pod-a's address or journal left behind")
	}
	if err := n.del(b, n.conf(0, nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok := links(t, n.host)["vf0"]; !ok {
		t.Errorf("vf0 not home under its original name: %v", links(t, n.host))
	}
}

// The VF itself is gone (its PF's VFs removed or the PF's driver reloaded):
// nothing is left to restore, so DEL releases the address, drops the
// journal and succeeds instead of failing until the pod is force-deleted.
func TestDelCompletesWhenTheVFIsGone(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.physical()
	p, conf := n.attached("pod-a", 0, map[string]any{"vlan": 9})
	// sriov_numvfs lowered to 0: the VF's PCI function, its netdev and its
	// entry in the PF's VF list vanish.
	if err := os.Remove(filepath.Join(n.sys, "bus/pci/devices", n.vfAddr(0))); err != nil {
		t.Fatal(err)
	}
	if err := inLink(p.ns, "net1", func(l netlink.Link) error { return netlink.LinkDel(l) }); err != nil {
		t.Fatal(err)
	}
	n.vfs.AddPF("pf0", n.driver, 0)
	if err := n.del(p, conf); err != nil {
		t.Fatalf("DEL after the VF was destroyed: %v", err)
	}
	if n.journalExists(p) || len(n.ipam.allocated()) != 0 {
		t.Errorf("journal or address left: journal %v, addresses %v", n.journalExists(p), n.ipam.allocated())
	}
	if !strings.Contains(n.logText(), "VF no longer exists") {
		t.Errorf("the log does not say why nothing was restored:\n%s", n.logText())
	}
}

// The PF was renamed after ADD: DEL finds it by its PCI address and puts the
// VF's PF-side settings back through the new name.
func TestDelFollowsARenamedPF(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	orig := n.vfs.State("pf0", 0)
	p, conf := n.attached("pod-a", 0, map[string]any{"vlan": 9, "trust": "on"})
	netDir := filepath.Join(n.sys, "bus/pci/devices", pfAddrOf(t, n), "net")
	if err := os.Rename(filepath.Join(netDir, "pf0"), filepath.Join(netDir, "ens9f0")); err != nil {
		t.Fatal(err)
	}
	n.vfs.AddPF("ens9f0", n.driver, 1)
	n.vfs.Set("ens9f0", 0, n.vfs.State("pf0", 0))
	n.vfs.AddPF("pf0", n.driver, 0)
	if err := n.del(p, conf); err != nil {
		t.Fatalf("DEL after the PF was renamed: %v", err)
	}
	if got := n.vfs.State("ens9f0", 0); got != orig {
		t.Errorf("VF settings on the renamed PF: %+v, want %+v", got, orig)
	}
}

func pfAddrOf(t *testing.T, n *node) string {
	t.Helper()
	dev, err := (pci.Sysfs{Root: n.sys}).Resolve(n.vfAddr(0))
	if err != nil {
		t.Fatal(err)
	}
	return dev.PFAddr
}

// A pod that died without DEL: its netns is gone. The next ADD on the node
// reclaims its VF and address.
func TestAddReclaimsVanishedAttachments(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 6}))
	deleteNS(t, a.ns)
	n.mustAdd(b, n.conf(1, nil))
	ips := n.ipam.allocated()
	if _, ok := ips["pod-a/net1"]; ok || len(ips) != 1 {
		t.Errorf("addresses after reclaim = %v, want only pod-b's", ips)
	}
	if got := n.vfs.State("pf0", 0).VLAN; got != 0 {
		t.Errorf("vanished pod's VLAN still on VF 0: %d", got)
	}
	s := n.snapshot()
	for _, f := range s.State {
		if strings.HasPrefix(f, "state/pod-a") {
			t.Errorf("vanished pod's journal %s still there", f)
		}
	}
}

// A VF whose owner's pod netns is gone is taken over: the old attachment
// is restored first.
func TestAddTakesVFFromVanishedPod(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 6, "mtu": 1300}))
	// The kernel returns a real VF to the host when the netns dies.
	if err := inLink(a.ns, "net1", func(l netlink.Link) error { return netlink.LinkSetNsFd(l, int(n.host.Fd())) }); err != nil {
		t.Fatal(err)
	}
	if err := inLink(n.host, "net1", func(l netlink.Link) error { return netlink.LinkSetName(l, "vf0") }); err != nil {
		t.Fatal(err)
	}
	deleteNS(t, a.ns)
	res := n.mustAdd(b, n.conf(0, nil))
	if res.Interfaces[0].Mtu != 1500 {
		t.Errorf("pod-b got MTU %d: pod-a's setting was not undone", res.Interfaces[0].Mtu)
	}
	if got := n.vfs.State("pf0", 0).VLAN; got != 0 {
		t.Errorf("pod-a's VLAN %d still on the VF", got)
	}
	if _, ok := n.ipam.allocated()["pod-a/net1"]; ok {
		t.Errorf("pod-a's address not released")
	}
}

// The sweep for vanished pods runs at most once per ReclaimEvery, so a
// burst of ADDs does not read every journal N times.
func TestReclaimIsRateLimited(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 3})
	n.p.ReclaimEvery = time.Hour
	a, b, c := n.newPod("pod-a"), n.newPod("pod-b"), n.newPod("pod-c")
	n.mustAdd(a, n.conf(0, nil)) // sweeps, and stamps
	deleteNS(t, a.ns)
	n.mustAdd(b, n.conf(1, nil)) // within the hour: no sweep
	if _, ok := n.ipam.allocated()["pod-a/net1"]; !ok {
		t.Fatalf("the vanished pod was reclaimed within the rate limit")
	}
	n.p.ReclaimEvery = time.Nanosecond
	n.mustAdd(c, n.conf(2, nil))
	if _, ok := n.ipam.allocated()["pod-a/net1"]; ok {
		t.Errorf("the vanished pod's address survived a due sweep")
	}
}
