package pci

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrUnbound: the function has no driver to rebind.
var ErrUnbound = errors.New("pci device is not bound to a driver")

// Rebind unbinds the function from its driver and binds it again. mlx5
// reads an administratively set InfiniBand GUID only when the VF is probed,
// so a new GUID takes effect through a rebind (ib-sriov-cni does the same).
// The netdev and RDMA device are re-created by the probe, possibly under
// new names: callers resolve the device again afterwards.
func (s Sysfs) Rebind(addr string) error {
	if !ValidAddress(addr) {
		return fmt.Errorf("rebind %q: %w", addr, ErrInvalidAddress)
	}
	drv, bound, err := linkBase(filepath.Join(s.devicePath(addr), "driver"))
	if err != nil {
		return fmt.Errorf("rebind %s: read driver link: %w", addr, err)
	}
	if !bound {
		return fmt.Errorf("rebind %s: %w", addr, ErrUnbound)
	}
	dir := filepath.Join(s.root(), "bus/pci/drivers", drv)
	for _, op := range []string{"unbind", "bind"} {
		if err := os.WriteFile(filepath.Join(dir, op), []byte(addr), 0o200); err != nil {
			return fmt.Errorf("%s %s from %s: %w", op, addr, drv, err)
		}
	}
	return nil
}

// WaitNetdev waits up to wait for the function to show a netdev (after a
// rebind the driver's probe creates it asynchronously) and returns its name.
func (s Sysfs) WaitNetdev(addr string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		names, err := s.NetdevsOf(addr)
		if err != nil {
			return "", err
		}
		if len(names) > 0 {
			return names[0], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no netdev on %s within %s of its rebind", addr, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
