package pci

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// ARPHRD_* values the kernel prints in net/<if>/type (include/uapi/linux/if_arp.h).
const (
	arphrdEther      = 1
	arphrdInfiniband = 32
)

// NetdevsOf lists the netdev names under <Root>/bus/pci/devices/<addr>/net,
// sorted. An absent directory (no such device, userspace driver, netdev moved
// to another netns) gives an empty slice and no error: DEL uses this to find a
// VF netdev the kernel handed back to the host under another name.
func (s Sysfs) NetdevsOf(addr string) ([]string, error) {
	if !ValidAddress(addr) {
		return nil, fmt.Errorf("list netdevs of %q: %w", addr, ErrInvalidAddress)
	}
	names, err := dirNames(filepath.Join(s.devicePath(addr), "net"))
	if err != nil {
		return nil, fmt.Errorf("list netdevs of %s: %w", addr, err)
	}
	return names, nil
}

// linkType names the ARPHRD type of a netdev found under a PCI function.
func linkType(devDir, netdev string) (string, error) {
	path := filepath.Join(devDir, "net", netdev, "type")
	t, err := readInt(path)
	if err != nil {
		return "", fmt.Errorf("read link type of %s: %w", netdev, err)
	}
	switch t {
	case arphrdEther:
		return "ether", nil
	case arphrdInfiniband:
		return "infiniband", nil
	default:
		return "unknown:" + strconv.Itoa(t), nil
	}
}
