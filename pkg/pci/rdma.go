package pci

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// RDMAKind says where an RDMA device hangs, which decides how the plugin
// moves it: hardware and auxiliary devices survive a netns move of the
// netdev, software ones are destroyed with it and must be re-created.
type RDMAKind string

const (
	RDMAHardware  RDMAKind = "hw"   // <pci function>/infiniband/<dev> (mlx5, irdma ...)
	RDMAAuxiliary RDMAKind = "aux"  // <pci function>/<driver>.<name>.<N>/infiniband/<dev>
	RDMASoftware  RDMAKind = "soft" // rxe / siw bound to a netdev, under /sys/devices/virtual
)

// ReCreated reports a kind the kernel destroys when its netdev changes
// namespace, so that the plugin re-creates it on the other side instead of
// moving it; every other kind is moved, from inside the namespace it is in.
func (k RDMAKind) ReCreated() bool { return k == RDMASoftware }

// RDMADevice is one RDMA device belonging to a VF.
type RDMADevice struct {
	Name   string // e.g. "mlx5_3", "rxe0"
	Kind   RDMAKind
	Type   string // soft devices: link type to re-create it ("rxe" or "siw"); "" otherwise
	Netdev string // soft devices: the netdev it is bound to
}

// auxDeviceName is the name auxiliary_device_add() gives a child device:
// "<modname>.<devname>.<id>", e.g. mlx5_core.rdma.0 or ice.roce.0. Matching
// the form rather than ".rdma." also finds drivers naming the child otherwise.
var auxDeviceName = regexp.MustCompile(`^[A-Za-z0-9_]+\.[A-Za-z0-9_-]+\.[0-9]+$`)

// rdmaOf lists the RDMA devices of a PCI function: its own, its auxiliary
// children's, and a software device bound to its netdev. Absent directories
// are the common case (no RDMA at all) and are not errors.
func (s Sysfs) rdmaOf(dir, netdev string) ([]RDMADevice, error) {
	devs := []RDMADevice{}
	hw, err := dirNames(filepath.Join(dir, "infiniband"))
	if err != nil {
		return nil, fmt.Errorf("list rdma devices: %w", err)
	}
	for _, name := range hw {
		devs = append(devs, RDMADevice{Name: name, Kind: RDMAHardware})
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list auxiliary devices: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !auxDeviceName.MatchString(e.Name()) {
			continue
		}
		aux, err := dirNames(filepath.Join(dir, e.Name(), "infiniband"))
		if err != nil {
			return nil, fmt.Errorf("list rdma devices of %s: %w", e.Name(), err)
		}
		for _, name := range aux {
			devs = append(devs, RDMADevice{Name: name, Kind: RDMAAuxiliary})
		}
	}

	if netdev != "" {
		soft, ok, err := s.SoftRDMAFor(netdev)
		if err != nil {
			return nil, err
		}
		if ok {
			devs = append(devs, soft)
		}
	}
	return devs, nil
}
