package netdev_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/netnstest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and veth links")
	}
}

// addVeth creates a veth pair in namespace in, with name's end carrying mac,
// and peer's end in peerNS (in when nil).
func addVeth(t *testing.T, in ns.NetNS, name string, mac net.HardwareAddr, peer string, peerNS ns.NetNS) {
	t.Helper()
	err := in.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac}, PeerName: peer}
		if peerNS != nil {
			v.PeerNamespace = netlink.NsFd(int(peerNS.Fd()))
		}
		if err := netlink.LinkAdd(v); err != nil {
			return fmt.Errorf("add veth %s/%s: %w", name, peer, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var mac1 = net.HardwareAddr{0x02, 0x5a, 0x00, 0x00, 0x00, 0x01}

// withVF0 is a namespace holding the veth pair vf0 (MAC mac1) and vf0p.
func withVF0(t *testing.T) ns.NetNS {
	t.Helper()
	needRoot(t)
	a := netnstest.New(t)
	addVeth(t, a, "vf0", mac1, "vf0p", nil)
	return a
}

// moveSetup is a host namespace with the link name (MAC mac1) that a test
// moves, and a pod namespace holding the veth pair podPair, if given: the
// pod's own links, whose names the move may collide with.
func moveSetup(t *testing.T, name string, podPair ...string) (host, pod ns.NetNS) {
	t.Helper()
	needRoot(t)
	host, pod = netnstest.New(t), netnstest.New(t)
	addVeth(t, host, name, mac1, "peer0", nil)
	if len(podPair) == 2 {
		addVeth(t, pod, podPair[0], nil, podPair[1], nil)
	}
	return host, pod
}

// podOwnKept: the pod's own link name is still its own, not the moved one.
func podOwnKept(t *testing.T, pod ns.NetNS, name string) {
	t.Helper()
	if got, err := (netdev.Kernel{}).Get(pod, name); err != nil || got.MAC == "02:5a:00:00:00:01" {
		t.Errorf("the pod's own %s changed: %+v, %v", name, got, err)
	}
}

func TestGet(t *testing.T) {
	a := withVF0(t)
	k := netdev.Kernel{}

	got, err := k.Get(a, "vf0")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Name != "vf0" || got.Index <= 0 || got.MAC != "02:5a:00:00:00:01" || got.MTU != 1500 || got.Up || got.ParentDev != "" {
		t.Errorf("Get = %+v, want vf0, an index, 02:5a:00:00:00:01, mtu 1500, down, no parent", got)
	}
	if err := k.SetUp(a, "vf0", true); err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	if got, err := k.Get(a, "vf0"); err != nil || !got.Up {
		t.Errorf("after SetUp(true) Get = %+v, %v; want up", got, err)
	}
	if err := k.SetUp(a, "vf0", false); err != nil {
		t.Fatalf("SetUp(false): %v", err)
	}
	if got, err := k.Get(a, "vf0"); err != nil || got.Up {
		t.Errorf("after SetUp(false) Get = %+v, %v; want down", got, err)
	}

	if _, err := k.Get(a, "nosuch"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("Get of a missing link: err = %v, want ErrNotFound", err)
	}

	all, err := k.List(a)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, l := range all {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	if want := []string{"lo", "vf0", "vf0p"}; !slices.Equal(names, want) {
		t.Errorf("List names = %q, want %q", names, want)
	}
}

func TestMoveRename(t *testing.T) {
	host, pod := moveSetup(t, "ens1f0v3")
	k := netdev.Kernel{}
	if err := k.SetUp(host, "ens1f0v3", true); err != nil {
		t.Fatal(err)
	}

	before, err := k.Get(host, "ens1f0v3")
	if err != nil {
		t.Fatal(err)
	}
	moved, err := k.MoveRename(host, "ens1f0v3", pod, "net1")
	if err != nil {
		t.Fatalf("MoveRename into the pod: %v", err)
	}
	// What MoveRename returns is the link found by index in the pod.
	if moved.Name != "net1" || moved.Index != before.Index || moved.MAC != before.MAC {
		t.Errorf("MoveRename returned %+v, want net1 with index %d and MAC %s", moved, before.Index, before.MAC)
	}
	if _, err := k.Get(host, "ens1f0v3"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("link still on the host after the move: %v", err)
	}
	got, err := k.Get(pod, "net1")
	if err != nil {
		t.Fatalf("link not in the pod as net1: %v", err)
	}
	if got.MAC != "02:5a:00:00:00:01" || got.Up {
		t.Errorf("in the pod: %+v, want the same mac and down", got)
	}
	if _, err := k.Get(pod, "ens1f0v3"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("the pod also has the old name: %v", err)
	}

	if _, err := k.MoveRename(pod, "net1", host, "ens1f0v3"); err != nil {
		t.Fatalf("MoveRename back home: %v", err)
	}
	if got, err := k.Get(host, "ens1f0v3"); err != nil || got.MAC != "02:5a:00:00:00:01" {
		t.Errorf("back home: %+v, %v", got, err)
	}
	if _, err := k.Get(pod, "net1"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("link still in the pod after moving home: %v", err)
	}

	// Without a new name the link keeps its own.
	if _, err := k.MoveRename(host, "ens1f0v3", pod, ""); err != nil {
		t.Fatalf("MoveRename without a new name: %v", err)
	}
	if _, err := k.Get(pod, "ens1f0v3"); err != nil {
		t.Errorf("moved without a new name, not found under its name: %v", err)
	}

	if _, err := k.MoveRename(host, "nosuch", pod, "net2"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("MoveRename of a missing link: err = %v, want ErrNotFound", err)
	}
}

// TestMoveRenameHostNameTakenInPod: the VF's host name already exists in the
// pod (the kernel cannot move it under that name) but the new name is free:
// the kernel uses the new name for the move itself.
func TestMoveRenameHostNameTakenInPod(t *testing.T) {
	host, pod := moveSetup(t, "eth1", "eth1", "eth1p")
	k := netdev.Kernel{}
	moved, err := k.MoveRename(host, "eth1", pod, "net1")
	if err != nil {
		t.Fatalf("MoveRename: %v", err)
	}
	if got, err := k.Get(pod, "net1"); err != nil || got.MAC != "02:5a:00:00:00:01" || got.Index != moved.Index || moved.Name != "net1" {
		t.Errorf("in the pod as net1: %+v, %v; MoveRename returned %+v", got, err, moved)
	}
	podOwnKept(t, pod, "eth1")
}

// TestMoveRenameNewNameTaken: the new name is already taken in the target
// namespace. The kernel's do_setlink moves the link first (under its current
// name, free there) and renames it after; the rename fails with EEXIST and
// the move is not undone (observed on 6.18). MoveRename must put the link
// back, so that its error means "still where it was": the plugin's rollback
// looks for the VF in the pod only under CNI_IFNAME.
func TestMoveRenameNewNameTaken(t *testing.T) {
	host, pod := moveSetup(t, "ens1f0v3", "net1", "net1p")
	k := netdev.Kernel{}
	before, err := k.Get(host, "ens1f0v3")
	if err != nil {
		t.Fatal(err)
	}

	_, err = k.MoveRename(host, "ens1f0v3", pod, "net1")
	if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("MoveRename onto a taken name: err = %v, want EEXIST", err)
	}
	if _, err := k.Get(pod, "ens1f0v3"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("after the failed MoveRename the link is stranded in the pod under its host name (lookup: %v)", err)
	}
	// The ifindex is not compared: the pod's own veth holds the host
	// index, so the kernel gave the link a new one there and keeps it on
	// the way back.
	if got, err := k.Get(host, "ens1f0v3"); err != nil || got.MAC != before.MAC || got.MTU != before.MTU {
		t.Errorf("after the failed MoveRename the link is not back on the host as it was (%+v): %+v, %v", before, got, err)
	}
	podOwnKept(t, pod, "net1")
}

// TestMoveRenameBothNamesTaken: neither the host name nor the new name is
// free in the target: the kernel refuses the move and the link stays put.
func TestMoveRenameBothNamesTaken(t *testing.T) {
	host, pod := moveSetup(t, "eth1", "eth1", "net1")
	k := netdev.Kernel{}
	if _, err := k.MoveRename(host, "eth1", pod, "net1"); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("MoveRename: err = %v, want EEXIST", err)
	}
	if got, err := k.Get(host, "eth1"); err != nil || got.MAC != "02:5a:00:00:00:01" {
		t.Errorf("the link left the host: %+v, %v", got, err)
	}
}

// TestMoveRenamePatternName: the kernel reads "%d" in a name as a pattern
// and names the link "net0". What MoveRename returns is the link as the
// kernel named it, found by its index, not the name that was asked for.
func TestMoveRenamePatternName(t *testing.T) {
	host, pod := moveSetup(t, "ens1f0v3")
	k := netdev.Kernel{}
	moved, err := k.MoveRename(host, "ens1f0v3", pod, "net%d")
	if err != nil {
		t.Fatalf("MoveRename: %v", err)
	}
	if moved.Name != "net0" || moved.MAC != "02:5a:00:00:00:01" {
		t.Errorf("MoveRename returned %+v, want the link as the kernel named it, net0", moved)
	}
}

func TestRename(t *testing.T) {
	a := withVF0(t)
	k := netdev.Kernel{}
	if err := k.SetUp(a, "vf0", true); err != nil {
		t.Fatal(err)
	}
	before, err := k.Get(a, "vf0")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Rename(a, "vf0", "net1"); err != nil {
		t.Fatalf("Rename of an up link: %v", err)
	}
	got, err := k.Get(a, "net1")
	if err != nil {
		t.Fatalf("renamed link not found: %v", err)
	}
	if got.Index != before.Index || got.MAC != before.MAC {
		t.Errorf("renamed link %+v is not the one renamed (%+v)", got, before)
	}
	if got.Up {
		t.Error("Rename left the link up; it is documented to take it down")
	}
	if _, err := k.Get(a, "vf0"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("old name still present: %v", err)
	}
	if err := k.Rename(a, "net1", "vf0p"); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Rename onto a taken name: err = %v, want EEXIST", err)
	}
	if err := k.Rename(a, "nosuch", "x"); !errors.Is(err, netdev.ErrNotFound) {
		t.Errorf("Rename of a missing link: err = %v, want ErrNotFound", err)
	}
}

func TestSetMACAndMTU(t *testing.T) {
	a := withVF0(t)
	k := netdev.Kernel{}

	if err := k.SetMAC(a, "vf0", net.HardwareAddr{0x02, 0xAB, 0, 0, 0, 9}); err != nil {
		t.Fatalf("SetMAC: %v", err)
	}
	if err := k.SetMTU(a, "vf0", 9000); err != nil {
		t.Fatalf("SetMTU: %v", err)
	}
	if got, err := k.Get(a, "vf0"); err != nil || got.MAC != "02:ab:00:00:00:09" || got.MTU != 9000 {
		t.Errorf("after SetMAC/SetMTU: %+v, %v; want 02:ab:00:00:00:09 mtu 9000", got, err)
	}

	// Kernel refusals come back wrapped, naming the link.
	err := k.SetMAC(a, "vf0", net.HardwareAddr{0x01, 0, 0, 0, 0, 1}) // multicast
	if !errors.Is(err, unix.EADDRNOTAVAIL) {
		t.Errorf("SetMAC multicast: err = %v, want EADDRNOTAVAIL", err)
	}
	if err := k.SetMTU(a, "vf0", 10); !errors.Is(err, unix.EINVAL) {
		t.Errorf("SetMTU 10: err = %v, want EINVAL", err)
	}
	for name, err := range map[string]error{
		"SetMAC": k.SetMAC(a, "nosuch", mac1),
		"SetMTU": k.SetMTU(a, "nosuch", 1500),
		"SetUp":  k.SetUp(a, "nosuch", true),
	} {
		if !errors.Is(err, netdev.ErrNotFound) {
			t.Errorf("%s on a missing link: err = %v, want ErrNotFound", name, err)
		}
	}
	if got, err := k.Get(a, "vf0"); err != nil || got.MAC != "02:ab:00:00:00:09" || got.MTU != 9000 {
		t.Errorf("refused calls changed the link: %+v, %v", got, err)
	}
}
