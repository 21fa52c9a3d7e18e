package pci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SoftRDMAFor finds the software RDMA device (rxe, siw) bound to netdev. It
// reads each entry of <Root>/class/infiniband once, so its cost follows the
// number of RDMA devices, not the number of VFs. Only devices registered
// without a bus parent count: their class link goes to /sys/devices/virtual.
// A hardware RoCE device also names its netdev in its GID table and must not
// be mistaken for a software one.
func (s Sysfs) SoftRDMAFor(netdev string) (RDMADevice, bool, error) {
	if netdev == "" {
		return RDMADevice{}, false, nil
	}
	classDir := filepath.Join(s.root(), "class", "infiniband")
	names, err := dirNames(classDir)
	if err != nil {
		return RDMADevice{}, false, fmt.Errorf("find soft rdma device of %s: %w", netdev, err)
	}
	for _, name := range names {
		devDir := filepath.Join(classDir, name)
		target, err := os.Readlink(devDir)
		if err != nil || !strings.Contains(target, "/virtual/") {
			// Gone since the listing, or not a virtual device: not ours to report.
			continue
		}
		if boundTo(devDir, netdev) {
			return RDMADevice{Name: name, Kind: RDMASoftware, Type: softType(devDir, name), Netdev: netdev}, true, nil
		}
	}
	return RDMADevice{}, false, nil
}

// boundTo reports whether a soft RDMA device sits on netdev. rxe publishes the
// netdev in its own `parent` attribute; otherwise the GID table's first entry
// of each port names it. Unreadable attributes mean "no": the kernel answers
// EIO for unused GID entries, and the device may vanish while we look.
func boundTo(devDir, netdev string) bool {
	parent, err := readTrimmed(filepath.Join(devDir, "parent"))
	if err == nil {
		return parent == netdev
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	ports, err := dirNames(filepath.Join(devDir, "ports"))
	if err != nil {
		return false
	}
	for _, p := range ports {
		nd, err := readTrimmed(filepath.Join(devDir, "ports", p, "gid_attrs", "ndevs", "0"))
		if err == nil && nd == netdev {
			return true
		}
	}
	return false
}

// softType names the `rdma link add ... type X` that re-creates the device.
// The node type is the kernel's word (rxe registers an IB CA, siw an iWARP
// RNIC); the name prefix is the fallback, since names are chosen by the user.
func softType(devDir, name string) string {
	if nt, err := readTrimmed(filepath.Join(devDir, "node_type")); err == nil {
		switch {
		case strings.HasPrefix(nt, "1:"):
			return "rxe"
		case strings.HasPrefix(nt, "4:"):
			return "siw"
		}
	}
	switch {
	case strings.HasPrefix(name, "rxe"):
		return "rxe"
	case strings.HasPrefix(name, "siw"):
		return "siw"
	}
	return ""
}
