package vf_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/sriov-rdma/sriov-rdma/pkg/netnstest"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestKernelOnVeth runs the rtnetlink implementation against a veth, which
// has no VFs: what the plugin sees on a PF whose driver reports no VF info.
func TestKernelOnVeth(t *testing.T) {
	netns := netnstest.New(t)
	err := netns.Do(func(ns.NetNS) error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pf0"}, PeerName: "pf0p"}); err != nil {
			return fmt.Errorf("add veth: %w", err)
		}
		k := vf.Kernel{}
		if _, err := k.Get("pf0", 0); !errors.Is(err, vf.ErrNoVFInfo) {
			t.Errorf("Get on a veth: err = %v, want ErrNoVFInfo", err)
		}
		// A PF netdev absent from this namespace cannot take VF settings
		// either: it reads as no VF info, naming the PF.
		if _, err := k.Get("nosuchpf", 0); !errors.Is(err, vf.ErrNoVFInfo) || !strings.Contains(err.Error(), "nosuchpf") {
			t.Errorf("Get on a missing pf: err = %v, want ErrNoVFInfo naming the pf", err)
		}
		// The kernel refuses VF settings on a device without VFs; the
		// error must come back rather than be swallowed.
		setters := map[string]func() error{
			"mac":      func() error { return k.SetMAC("pf0", 0, net.HardwareAddr{2, 0, 0, 0, 0, 1}) },
			"vlan":     func() error { return k.SetVLAN("pf0", 0, 10, 0, vf.Proto8021AD) },
			"spoofchk": func() error { return k.SetSpoofChk("pf0", 0, false) },
			"trust":    func() error { return k.SetTrust("pf0", 0, true) },
			"state":    func() error { return k.SetLinkState("pf0", 0, vf.LinkStateDisable) },
			"rate":     func() error { return k.SetRate("pf0", 0, 0, 100) },
		}
		for name, set := range setters {
			if err := set(); !errors.Is(err, unix.EOPNOTSUPP) {
				t.Errorf("set %s on a veth: err = %v, want EOPNOTSUPP from the kernel", name, err)
			}
		}
		if err := k.SetTrust("nosuchpf", 0, true); !errors.Is(err, unix.ENODEV) {
			t.Errorf("SetTrust on a missing pf: err = %v, want ENODEV", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
