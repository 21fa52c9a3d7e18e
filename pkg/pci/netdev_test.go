package pci_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

func TestNetdevsOf(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "eth1"}, {Driver: "vfio-pci"}, {Netdev: "eth3"}}}
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	// The kernel handed VF2's netdev back under a new name next to a second port.
	if err := os.Rename(devPath(s, "0000:01:10.4", "net", "eth3"), devPath(s, "0000:01:10.4", "net", "eth9")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(devPath(s, "0000:01:10.4", "net", "dev2"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		addr string
		want []string
	}{
		{"one netdev", "0000:01:10.0", []string{"eth1"}},
		{"renamed netdev, sorted", "0000:01:10.4", []string{"dev2", "eth9"}},
		{"userspace driver, no net dir", "0000:01:10.2", []string{}},
		{"device gone", "0000:42:00.0", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.NetdevsOf(tc.addr)
			if err != nil || got == nil || !slices.Equal(got, tc.want) {
				t.Errorf("NetdevsOf(%s) = %#v, %v; want %#v, nil", tc.addr, got, err, tc.want)
			}
		})
	}
}

func TestNetdevsOfRejectsBadAddress(t *testing.T) {
	s := tree(t, fixture.Node{PFs: []fixture.PF{{VFs: []fixture.VF{{Netdev: "eth1"}}}}})
	for _, addr := range []string{"0000:01:10.0/..", "../../class/net", "0000:01:10.0\n"} {
		if got, err := s.NetdevsOf(addr); !errors.Is(err, pci.ErrInvalidAddress) {
			t.Errorf("NetdevsOf(%q) = %v, %v; want ErrInvalidAddress", addr, got, err)
		}
	}
}
