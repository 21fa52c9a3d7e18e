package pci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Device is an SR-IOV VF as sysfs describes it.
type Device struct {
	Addr     string // VF PCI address
	PFAddr   string // its PF's PCI address
	PFNetdev string // PF netdev (sorted-first entry of <pf>/net/); "" if none
	VFIndex  int
	Netdev   string // VF netdev from <vf>/net/; "" for a userspace driver or a netdev not visible here
	Driver   string // basename of the <vf>/driver link target; "" if unbound
	PFDriver string // basename of the PF's driver link: errors about PF-side settings name it
	LinkType string // "ether", "infiniband", "unknown:<n>"; "" when no netdev
	RDMA     []RDMADevice
}

// Resolve describes the VF at addr. The cost is a fixed number of reads,
// whatever the number of VFs on its PF.
func (s Sysfs) Resolve(addr string) (*Device, error) {
	if !ValidAddress(addr) {
		return nil, fmt.Errorf("resolve pci %q: %w", addr, ErrInvalidAddress)
	}
	d, err := s.resolve(addr)
	if err != nil {
		return nil, fmt.Errorf("resolve pci %s: %w", addr, err)
	}
	return d, nil
}

func (s Sysfs) resolve(addr string) (*Device, error) {
	dir := s.devicePath(addr)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	// The kernel creates physfn only on VFs (pci_iov_sysfs_link), pointing at the PF.
	pfAddr, isVF, err := linkBase(filepath.Join(dir, "physfn"))
	if err != nil {
		return nil, fmt.Errorf("read physfn link: %w", err)
	}
	if !isVF {
		return nil, notVFReason(dir)
	}
	if !ValidAddress(pfAddr) {
		return nil, fmt.Errorf("physfn points at %q, not a pci address: %w", pfAddr, ErrNotVF)
	}
	pfDir := filepath.Join(dir, "physfn")
	geo, err := readGeometry(pfDir)
	if err != nil {
		return nil, err
	}
	idx, err := vfIndexOf(addr, pfAddr, geo)
	if err != nil {
		return nil, err
	}
	if err := confirmIndex(pfDir, addr, idx); err != nil {
		return nil, err
	}

	d := &Device{Addr: addr, PFAddr: pfAddr, VFIndex: idx}
	if d.Driver, _, err = linkBase(filepath.Join(dir, "driver")); err != nil {
		return nil, fmt.Errorf("read driver link: %w", err)
	}
	if d.PFDriver, _, err = linkBase(filepath.Join(pfDir, "driver")); err != nil {
		return nil, fmt.Errorf("read pf driver link: %w", err)
	}
	if d.PFNetdev, err = firstName(filepath.Join(pfDir, "net")); err != nil {
		return nil, fmt.Errorf("list pf %s netdevs: %w", pfAddr, err)
	}
	// A VF has one netdev; several would only appear with a driver exposing
	// multiple ports per function, and then the sorted-first is the stable pick.
	if d.Netdev, err = firstName(filepath.Join(dir, "net")); err != nil {
		return nil, fmt.Errorf("list netdevs: %w", err)
	}
	if d.Netdev != "" {
		if d.LinkType, err = linkType(dir, d.Netdev); err != nil {
			return nil, err
		}
	}
	if d.RDMA, err = s.rdmaOf(dir, d.Netdev); err != nil {
		return nil, err
	}
	return d, nil
}

// notVFReason tells a PF (the usual mistake: the PF address instead of a VF's)
// from a plain function without SR-IOV.
func notVFReason(dir string) error {
	_, err := os.Stat(filepath.Join(dir, "sriov_totalvfs"))
	switch {
	case err == nil:
		return fmt.Errorf("it is an sr-iov physical function (it has sriov_totalvfs), give the address of one of its virtual functions: %w", ErrNotVF)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("it has no physfn link: %w", ErrNotVF)
	default:
		return fmt.Errorf("no physfn link, and sriov_totalvfs unreadable (%w): %w", err, ErrNotVF)
	}
}
