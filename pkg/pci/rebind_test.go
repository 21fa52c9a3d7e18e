package pci_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// A rebind writes the address to the driver's unbind, then bind file, as
// `echo ADDR > /sys/bus/pci/drivers/DRV/unbind` would.
func TestRebind(t *testing.T) {
	root := t.TempDir()
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "ib0", Driver: "mlx5_core", LinkType: 32}, {Driver: "vfio-pci"}}}
	if err := fixture.Build(root, fixture.Node{PFs: []fixture.PF{pf}}); err != nil {
		t.Fatal(err)
	}
	s := pci.Sysfs{Root: root}
	addr := fixture.VFAddr(pf, 0)
	if err := s.Rebind(addr); err != nil {
		t.Fatalf("Rebind: %v", err)
	}
	for _, op := range []string{"unbind", "bind"} {
		b, err := os.ReadFile(filepath.Join(root, "bus/pci/drivers/mlx5_core", op))
		if err != nil || string(b) != addr {
			t.Errorf("%s file = %q, %v; want %s", op, b, err, addr)
		}
	}
	if err := s.Rebind("../../etc"); !errors.Is(err, pci.ErrInvalidAddress) {
		t.Errorf("Rebind of a traversal = %v", err)
	}
	if name, err := s.WaitNetdev(addr, time.Second); err != nil || name != "ib0" {
		t.Errorf("WaitNetdev = %q, %v", name, err)
	}
	if _, err := s.WaitNetdev(fixture.VFAddr(pf, 1), 50*time.Millisecond); err == nil {
		t.Errorf("WaitNetdev found a netdev on a vfio-pci VF")
	}
}
