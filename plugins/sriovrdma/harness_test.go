package sriovrdma

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/netnstest"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// node is a test node: a namespace standing in for the host, VF netdevs that
// are veth ends in it (their peers in a "fabric" namespace), a fixture sysfs
// describing them as VFs of PF pf0, and fakes for what this kernel lacks
// (PF-side VF netlink, RDMA, IPAM).
type node struct {
	t        *testing.T
	host     ns.NetNS
	fabric   ns.NetNS
	sys      string
	stateDir string
	lockDir  string
	logFile  string
	pf       fixture.PF
	driver   vftest.Driver
	vfs      *vftest.Fake
	rdma     *fakeRDMA
	ipam     *fakeIPAM
	inj      *injector
	p        *Plugin
	stdout   bytes.Buffer
}

type nodeOpts struct {
	vfs      int
	driver   vftest.Driver
	hwRDMA   bool // VF i has hardware RDMA device mlx5_<i>
	softRDMA bool // VF i has a software RDMA device rxe<i> on its netdev
	// userspace lists VFs bound to vfio-pci: no netdev, no veth.
	userspace []int
	ib        bool // VF netdevs are InfiniBand (sysfs type 32)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the tests move real veth netdevs between network namespaces")
	}
}

func newNode(t *testing.T, o nodeOpts) *node {
	t.Helper()
	needRoot(t)
	if o.vfs == 0 {
		o.vfs = 2
	}
	if o.driver.Name == "" {
		o.driver = vftest.Full
	}
	n := &node{t: t, inj: &injector{}, driver: o.driver}
	n.host = netnstest.New(t)
	n.fabric = netnstest.New(t)
	n.sys = t.TempDir()
	n.stateDir = filepath.Join(t.TempDir(), "state")
	n.lockDir = filepath.Join(t.TempDir(), "locks")
	n.logFile = filepath.Join(t.TempDir(), "plugin.log")

	n.pf = fixture.PF{Netdev: "pf0", Driver: o.driver.Name}
	var soft []fixture.SoftRDMA
	for i := 0; i < o.vfs; i++ {
		if slices.Contains(o.userspace, i) {
			n.pf.VFs = append(n.pf.VFs, fixture.VF{Driver: "vfio-pci"})
			continue
		}
		name := fmt.Sprintf("vf%d", i)
		n.addVeth(name, fmt.Sprintf("peer%d", i))
		v := fixture.VF{Netdev: name}
		if o.ib {
			v.Driver, v.LinkType = "mlx5_core", 32
		}
		if o.hwRDMA {
			v.RDMA = fmt.Sprintf("mlx5_%d", i)
		}
		if o.softRDMA {
			soft = append(soft, fixture.SoftRDMA{Name: fmt.Sprintf("rxe%d", i), Netdev: name, Type: "rxe"})
		}
		n.pf.VFs = append(n.pf.VFs, v)
	}
	if err := fixture.Build(n.sys, fixture.Node{PFs: []fixture.PF{n.pf}, Soft: soft}); err != nil {
		t.Fatalf("build fixture sysfs: %v", err)
	}
	n.vfs = vftest.New()
	n.vfs.AddPF("pf0", o.driver, o.vfs)
	n.rdma = newFakeRDMA(n.host)
	for i := 0; i < o.vfs; i++ {
		if o.hwRDMA {
			n.rdma.addHW(fmt.Sprintf("mlx5_%d", i))
		}
		if o.softRDMA {
			if err := n.rdma.addSoft(fmt.Sprintf("rxe%d", i), "rxe", fmt.Sprintf("vf%d", i)); err != nil {
				t.Fatalf("soft rdma: %v", err)
			}
		}
	}
	n.ipam = newFakeIPAM()
	n.p = &Plugin{
		Devices: pci.Sysfs{Root: n.sys},
		VFs:     n.vfs,
		Links:   netdev.Kernel{},
		RDMA:    n.rdma,
		IPAM:    n.ipam,
		Addr:    kernelAddressing{},
		BootID:  func() (string, error) { return "boot-1", nil },
		Now:     time.Now,
		// The node's own temp directories are widened into the roots, as a
		// node administrator would through the node settings file.
		Options:   config.Options{Roots: confine.Default().Widen(confine.Roots{State: []string{os.TempDir()}, Log: []string{os.TempDir()}, DeviceInfo: []string{os.TempDir()}})},
		LockDir:   n.lockDir,
		LockWait:  2 * time.Second,
		LimboWait: 300 * time.Millisecond,
		Stdout:    &n.stdout,
		Stderr:    &bytes.Buffer{},
	}
	n.withFaults(n.inj)
	return n
}

func (n *node) addVeth(name, peer string) {
	n.t.Helper()
	err := n.host.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: 1500}, PeerName: peer, PeerNamespace: netlink.NsFd(int(n.fabric.Fd()))}
		if err := netlink.LinkAdd(v); err != nil {
			return err
		}
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		n.t.Fatalf("veth %s: %v", name, err)
	}
	// The peer is up so the VF has carrier, as a VF on a live PF has.
	if err := inLink(n.fabric, peer, netlink.LinkSetUp); err != nil {
		n.t.Fatalf("peer %s up: %v", peer, err)
	}
}

func (n *node) vfAddr(i int) string { return fixture.VFAddr(n.pf, i) }

// conf is a netconf for VF i with the fake IPAM; extra fields are merged in.
func (n *node) conf(i int, extra map[string]any) []byte {
	c := map[string]any{
		"cniVersion": "1.1.0",
		"name":       "rdma-net",
		"type":       "sriov-rdma",
		"deviceID":   n.vfAddr(i),
		"stateDir":   n.stateDir,
		"logFile":    n.logFile,
		"logLevel":   "debug",
		"ipam":       map[string]any{"type": "fake"},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

type pod struct {
	ns     ns.NetNS
	id     string
	ifname string
}

func (n *node) newPod(id string) *pod {
	return &pod{ns: netnstest.New(n.t), id: id, ifname: "net1"}
}

// deleteNS does what `ip netns del` does: the pinning mount and file go,
// and the namespace dies once nothing else holds it.
func deleteNS(t *testing.T, n ns.NetNS) {
	t.Helper()
	path := n.Path()
	_ = n.Close()
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		t.Fatalf("unmount %s: %v", path, err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatalf("remove %s: %v", path, err)
	}
	// The kernel tears a namespace down asynchronously; wait until its
	// devices are gone so tests see what a later DEL would see.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := ns.GetNS(path); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inLink(in ns.NetNS, name string, f func(netlink.Link) error) error {
	return in.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		return f(l)
	})
}
