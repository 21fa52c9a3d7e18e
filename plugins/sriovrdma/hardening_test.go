package sriovrdma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// physical makes the node's VF netdevs behave as real VF netdevs do where
// veth cannot: netlink reports their PCI function as parent device, and
// sysfs lists each under its function by its current name, wherever a
// rename or a return from a dead namespace left it. Both follow the
// netdev's ifindex, which a move keeps.
func (n *node) physical() {
	n.t.Helper()
	byIndex := map[int]string{}
	byAddr := map[string]int{}
	host := links(n.t, n.host)
	for i := range n.pf.VFs {
		l, ok := host[n.pf.VFs[i].Netdev]
		if !ok {
			continue
		}
		byIndex[l.Index] = n.vfAddr(i)
		byAddr[n.vfAddr(i)] = l.Index
	}
	n.p.Links = parentLinks{n.p.Links, byIndex}
	n.p.Devices = liveSysfs{n.p.Devices, n.host, byAddr}
}

type parentLinks struct {
	Links
	byIndex map[int]string
}

func (l parentLinks) withParent(a netdev.Attrs) netdev.Attrs {
	if p, ok := l.byIndex[a.Index]; ok {
		a.ParentDev = p
	}
	return a
}

func (l parentLinks) Get(in ns.NetNS, name string) (netdev.Attrs, error) {
	a, err := l.Links.Get(in, name)
	return l.withParent(a), err
}

func (l parentLinks) List(in ns.NetNS) ([]netdev.Attrs, error) {
	all, err := l.Links.List(in)
	for i := range all {
		all[i] = l.withParent(all[i])
	}
	return all, err
}

func (l parentLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	a, err := l.Links.MoveRename(from, name, to, newName)
	return l.withParent(a), err
}

type liveSysfs struct {
	Devices
	host   ns.NetNS
	byAddr map[string]int
}

// current is the name the VF's netdev has on the host now; "" when it is
// not on the host (a sysfs mounted there lists nothing then).
func (s liveSysfs) current(addr string) string {
	all, err := (netdev.Kernel{}).List(s.host)
	if err != nil {
		return ""
	}
	for _, a := range all {
		if a.Index == s.byAddr[addr] {
			return a.Name
		}
	}
	return ""
}

func (s liveSysfs) Resolve(addr string) (*pci.Device, error) {
	dev, err := s.Devices.Resolve(addr)
	if err == nil {
		if _, ok := s.byAddr[addr]; ok {
			dev.Netdev = s.current(addr)
		}
	}
	return dev, err
}

func (s liveSysfs) NetdevsOf(addr string) ([]string, error) {
	if _, ok := s.byAddr[addr]; !ok {
		return s.Devices.NetdevsOf(addr)
	}
	if name := s.current(addr); name != "" {
		return []string{name}, nil
	}
	return nil, nil
}

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

func code(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func (n *node) journalExists(p *pod) bool {
	_, err := os.Stat(filepath.Join(n.stateDir, p.id+"-"+p.ifname+".json"))
	return err == nil
}

// A VF whose pod netns path is gone while the namespace lives on is in
// limbo: DEL must neither give it up nor hang. It answers "try again later"
// and keeps the journal; the DEL the runtime retries once the kernel has
// returned the VF restores everything.
func TestDelWaitsOutAVFInLimbo(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	n.physical()
	before := n.snapshot()
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"mac": "02:00:00:00:00:aa", "mtu": 1300, "vlan": 7})
	n.mustAdd(p, conf)
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
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node after the retried DEL differs:\n%s", d)
	}
}

// The common case on a loaded node: the kernel returns the VF while DEL is
// waiting for it, and the first DEL restores it.
func TestDelRestoresAVFReturningDuringItsWait(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.physical()
	n.p.LimboWait = 5 * time.Second
	before := n.snapshot()
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"mac": "02:00:00:00:00:ab", "mtu": 1400})
	n.mustAdd(p, conf)
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
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node after DEL differs:\n%s", d)
	}
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
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"vlan": 9})
	n.mustAdd(p, conf)
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
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"vlan": 9, "trust": "on"})
	orig := n.vfs.State("pf0", 0)
	n.mustAdd(p, conf)
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

// renamingLinks stands in for a kernel that names the moved netdev
// otherwise than asked ("net%d" becomes "net0").
type renamingLinks struct {
	Links
	as string
}

func (l renamingLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	if newName == "net1" {
		newName = l.as
	}
	return l.Links.MoveRename(from, name, to, newName)
}

// ADD knows the moved VF by the index the kernel reports, not by the name
// it asked for: a name the kernel did not keep fails ADD, and the rollback
// finds the VF by its index and brings it home.
func TestRollbackFindsAVFTheKernelNamedOtherwise(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.p.Links = renamingLinks{n.p.Links, "net0"}
	before := n.snapshot()
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"mtu": 1400}))
	if err == nil || !strings.Contains(err.Error(), `"net0"`) {
		t.Fatalf("ADD: %v, want a failure naming the name the kernel chose", err)
	}
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node after the rollback differs:\n%s", d)
	}
	if got := links(t, p.ns); len(got) != 1 {
		t.Errorf("pod netns still has %v", got)
	}
}

// vanishingLinks loses the VF in the pod while ADD configures it.
type vanishingLinks struct{ Links }

func (l vanishingLinks) SetMTU(in ns.NetNS, name string, mtu int) error {
	if err := inLink(in, name, func(k netlink.Link) error { return netlink.LinkDel(k) }); err != nil {
		return err
	}
	return errors.New("set mtu: no such device")
}

// A rollback that cannot find a VF the journal says it moved never reports
// success: the journal stays, and so does the VF's ownership, for DEL.
func TestRollbackThatCannotFindTheVFKeepsTheJournal(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.p.Links = vanishingLinks{n.p.Links}
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"mtu": 1400}))
	if err == nil || !strings.Contains(err.Error(), "rollback incomplete") {
		t.Fatalf("ADD: %v, want an error saying the rollback is incomplete", err)
	}
	if !n.journalExists(p) {
		t.Errorf("journal dropped although the VF was not found")
	}
}

// The device-info file: created by ADD, removed by DEL; one the device
// plugin wrote first is merged into and left for Multus; one that is not a
// device-info document is never touched, not even by the rollback.
func TestDeviceInfoFileOwnership(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 3})
	dir := filepath.Join(t.TempDir(), "devinfo")
	withFile := func(i int, f string) []byte {
		return n.conf(i, map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": f}})
	}

	ours := filepath.Join(dir, "ours.json")
	a := n.newPod("pod-a")
	n.mustAdd(a, withFile(0, ours))
	if _, err := os.Stat(ours); err != nil {
		t.Fatalf("ADD wrote no device-info file: %v", err)
	}
	if err := n.del(a, withFile(0, ours)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ours); !os.IsNotExist(err) {
		t.Errorf("DEL left the file ADD created: %v", err)
	}

	theirs := filepath.Join(dir, "theirs.json")
	if err := os.WriteFile(theirs, []byte(`{"type":"pci","version":"1.1.0","pci":{"pci-address":"`+n.vfAddr(1)+`"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b := n.newPod("pod-b")
	n.mustAdd(b, withFile(1, theirs))
	if err := n.del(b, withFile(1, theirs)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("DEL removed the device plugin's file: %v", err)
	}

	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := n.snapshot()
	c := n.newPod("pod-c")
	if _, err := n.add(c, withFile(2, other)); err == nil {
		t.Fatalf("ADD merged into a file that is not a device-info document")
	}
	if got, _ := os.ReadFile(other); string(got) != "not json" {
		t.Errorf("the rollback changed or removed the file: %q", got)
	}
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node after the failed ADD differs:\n%s", d)
	}
}

// Paths a netconf names outside the node's roots are refused before
// anything changes, naming the field and the roots.
func TestAddRefusesPathsOutsideTheRoots(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	etc := t.TempDir()
	n.p.Options.Roots.DeviceInfo = []string{"/run/k8s.cni.cncf.io/devinfo"}
	victim := filepath.Join(etc, "10-net.conflist")
	if err := os.WriteFile(victim, []byte(`{"cniVersion":"1.0.0","name":"node","plugins":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	before := n.snapshot()
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": victim}}))
	if code(err) != types.ErrInvalidNetworkConfig || !strings.Contains(err.Error(), "runtimeConfig.CNIDeviceInfoFile") ||
		!strings.Contains(err.Error(), "/run/k8s.cni.cncf.io/devinfo/") {
		t.Fatalf("ADD with a device-info file in a CNI config dir: %v, want code 7 naming the field and the root", err)
	}
	if b, _ := os.ReadFile(victim); !bytes.Contains(b, []byte(`"plugins":[]`)) || bytes.Contains(b, []byte(`"pci"`)) {
		t.Errorf("the file was changed: %s", b)
	}
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node changed:\n%s", d)
	}
}

// "net%d" would make the kernel pick the name: refused before anything
// changes.
func TestAddRefusesAPatternIfName(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	before := n.snapshot()
	p := n.newPod("pod-a")
	p.ifname = "net%d"
	_, err := n.add(p, n.conf(0, nil))
	if code(err) != types.ErrInvalidEnvironmentVariables || !strings.Contains(err.Error(), "net%d") {
		t.Fatalf("ADD as net%%d: %v, want code 4 naming it", err)
	}
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node changed:\n%s", d)
	}
}

// GC judges only journals it can prove are its network's: one that does
// not decode and does not say whose it is, one from a newer plugin, and
// another network's torn one stay for the DEL that owns them. Its own
// network's torn journal is restored.
func TestGCLeavesJournalsItCannotProveAreItsOwn(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	own := n.newPod("own")
	conf := n.conf(0, nil)
	n.mustAdd(own, conf)
	// Tear its journal after the network's name and the device.
	ownPath := filepath.Join(n.stateDir, "own-net1.json")
	raw, err := os.ReadFile(ownPath)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(raw, []byte(`"original"`))
	if err := os.WriteFile(ownPath, raw[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(n.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	_ = json.Unmarshal(raw, &rec)
	rec["version"] = 99
	rec["containerID"] = "newer"
	newer, _ := json.Marshal(rec)
	rec["version"] = 1
	rec["containerID"] = "other"
	rec["network"] = "other-net"
	otherRaw, _ := json.Marshal(rec)
	keep := map[string][]byte{
		"garbage-net1.json": []byte("\x00\x01 not a journal"),
		"newer-net1.json":   newer,
		"other-net1.json":   otherRaw[:bytes.Index(otherRaw, []byte(`"original"`))],
	}
	for name, b := range keep {
		if err := os.WriteFile(filepath.Join(n.stateDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.gc(conf); err != nil {
		t.Fatalf("GC: %v", err)
	}
	for name, b := range keep {
		if got, err := os.ReadFile(filepath.Join(n.stateDir, name)); err != nil || !bytes.Equal(got, b) {
			t.Errorf("GC changed or removed %s: %v", name, err)
		}
	}
	if _, err := os.Stat(ownPath); !os.IsNotExist(err) {
		t.Errorf("GC left its own network's torn journal: %v", err)
	}
	// The torn journal lost the original name: the VF comes home under the
	// name derived from its PCI address, as DEL's salvage does.
	if _, ok := links(t, n.host)[fallbackName(n.vfAddr(0))]; !ok {
		t.Errorf("GC did not bring the torn journal's VF home: host has %v", links(t, n.host))
	}
	if _, ok := links(t, own.ns)["net1"]; ok {
		t.Errorf("the VF is still in the pod")
	}
}

// Without logFile, warnings reach stderr, which the runtime logs: an
// attachment that fell back to netdev-only is never silent.
func TestWarningsGoToStderrWithoutLogFile(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	n.rdma.mode = "shared"
	var stderr bytes.Buffer
	n.p.Stderr = &stderr
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{"logFile": nil})
	n.mustAdd(p, conf)
	if !strings.Contains(stderr.String(), `"level":"WARN"`) || !strings.Contains(stderr.String(), "netdev-only") {
		t.Errorf("stderr has no warning about the netdev-only attachment:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), `"level":"INFO"`) {
		t.Errorf("stderr carries info records:\n%s", stderr.String())
	}
	if err := n.del(p, conf); err != nil {
		t.Fatal(err)
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
	if err := n.del(p, conf); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	if d := n.snapshot().diff(before); d != "" {
		t.Errorf("node after DEL differs:\n%s", d)
	}
}
