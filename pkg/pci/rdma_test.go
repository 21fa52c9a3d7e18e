package pci_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// rdmaNode has one VF per RDMA situation the plugin must tell apart.
func rdmaNode() (fixture.Node, fixture.PF) {
	pf := fixture.PF{Driver: "mlx5_core", VFs: []fixture.VF{
		{Netdev: "eth1", Driver: "mlx5_core", RDMA: "mlx5_1"},    // 0: RoCE hw, GID table names eth1
		{Netdev: "eth2", Driver: "mlx5_core", AuxRDMA: "mlx5_2"}, // 1: auxiliary child
		{Netdev: "eth3"}, // 2: rxe on its netdev
		{Netdev: "eth4"}, // 3: rxe on eth40, not on eth4
		{Netdev: "eth5"}, // 4: nothing
		{Netdev: "ib0", Driver: "mlx5_core", LinkType: 32, RDMA: "mlx5_6"}, // 5: IB hw
		{Netdev: "eth7"}, // 6: siw, found via GID table
		{Netdev: "eth8", Driver: "mlx5_core", RDMA: "mlx5_8", AuxRDMA: "mlx5_9"}, // 7: both kinds
	}}
	return fixture.Node{
		PFs: []fixture.PF{pf},
		Soft: []fixture.SoftRDMA{
			{Name: "rxe0", Netdev: "eth3", Type: "rxe"},
			{Name: "rxe1", Netdev: "eth40", Type: "rxe"},
			{Name: "iw7", Netdev: "eth7", Type: "siw"},
		},
	}, pf
}

func TestResolveRDMA(t *testing.T) {
	node, pf := rdmaNode()
	s := tree(t, node)
	tests := []struct {
		name string
		vf   int
		want []pci.RDMADevice
	}{
		{"hardware roce device, not also reported as soft", 0, []pci.RDMADevice{{Name: "mlx5_1", Kind: pci.RDMAHardware}}},
		{"auxiliary device", 1, []pci.RDMADevice{{Name: "mlx5_2", Kind: pci.RDMAAuxiliary}}},
		{"rxe bound to the vf netdev", 2, []pci.RDMADevice{{Name: "rxe0", Kind: pci.RDMASoftware, Type: "rxe", Netdev: "eth3"}}},
		{"rxe bound to another netdev", 3, nil},
		{"no rdma at all", 4, nil},
		{"infiniband hardware device", 5, []pci.RDMADevice{{Name: "mlx5_6", Kind: pci.RDMAHardware}}},
		{"siw named freely, type from node_type", 6, []pci.RDMADevice{{Name: "iw7", Kind: pci.RDMASoftware, Type: "siw", Netdev: "eth7"}}},
		{"hardware and auxiliary on one function", 7, []pci.RDMADevice{
			{Name: "mlx5_8", Kind: pci.RDMAHardware}, {Name: "mlx5_9", Kind: pci.RDMAAuxiliary}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fixture.VFAddr(pf, tc.vf)
			d, err := s.Resolve(addr)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", addr, err)
			}
			if !slices.Equal(d.RDMA, tc.want) {
				t.Errorf("Resolve(%s).RDMA = %+v, want %+v", addr, d.RDMA, tc.want)
			}
		})
	}
}

func TestResolveWithoutAnyRDMADirectory(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "eth1"}}}
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	if _, err := os.Stat(filepath.Join(s.Root, "class")); !os.IsNotExist(err) {
		t.Fatalf("fixture has a class/ dir (err %v); the test needs none", err)
	}
	d, err := s.Resolve("0000:01:10.0")
	if err != nil {
		t.Fatalf("Resolve with no infiniband dirs anywhere: %v", err)
	}
	if len(d.RDMA) != 0 {
		t.Errorf("RDMA = %+v, want none", d.RDMA)
	}
}

func TestSoftRDMAFor(t *testing.T) {
	node, _ := rdmaNode()
	s := tree(t, node)
	tests := []struct {
		netdev string
		want   pci.RDMADevice
		found  bool
	}{
		{"eth3", pci.RDMADevice{Name: "rxe0", Kind: pci.RDMASoftware, Type: "rxe", Netdev: "eth3"}, true},
		{"eth40", pci.RDMADevice{Name: "rxe1", Kind: pci.RDMASoftware, Type: "rxe", Netdev: "eth40"}, true},
		{"eth7", pci.RDMADevice{Name: "iw7", Kind: pci.RDMASoftware, Type: "siw", Netdev: "eth7"}, true},
		{"eth4", pci.RDMADevice{}, false}, // prefix of eth40 is not a match
		{"eth1", pci.RDMADevice{}, false}, // mlx5_1's GID table names eth1, but it is hardware
		{"", pci.RDMADevice{}, false},
	}
	for _, tc := range tests {
		got, found, err := s.SoftRDMAFor(tc.netdev)
		if err != nil || found != tc.found || got != tc.want {
			t.Errorf("SoftRDMAFor(%q) = %+v, %v, %v; want %+v, %v, nil", tc.netdev, got, found, err, tc.want, tc.found)
		}
	}
}

func TestSoftRDMAForTypeFallsBackToName(t *testing.T) {
	s := tree(t, fixture.Node{Soft: []fixture.SoftRDMA{{Name: "siw_a", Netdev: "eth1", Type: "siw"}}})
	if err := os.Remove(filepath.Join(s.Root, "devices/virtual/infiniband/siw_a/node_type")); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.SoftRDMAFor("eth1")
	if err != nil || !found || got.Type != "siw" {
		t.Errorf("SoftRDMAFor(eth1) = %+v, %v, %v; want type siw from the name", got, found, err)
	}
}

func TestSoftRDMAForWithoutInfinibandClass(t *testing.T) {
	s := tree(t, fixture.Node{})
	got, found, err := s.SoftRDMAFor("eth1")
	if err != nil || found {
		t.Errorf("SoftRDMAFor(eth1) with no class/infiniband = %+v, %v, %v; want not found, no error", got, found, err)
	}
}
