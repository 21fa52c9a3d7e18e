// Package rdma moves RDMA devices between network namespaces and re-creates
// software RDMA devices, over RDMA netlink.
package rdma

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Mellanox/rdmamap"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netns modes of the RDMA subsystem.
const (
	ModeExclusive = "exclusive"
	ModeShared    = "shared"
)

// Sentinel errors the plugin decides on.
var (
	// ErrNoRDMA: the kernel has no RDMA netlink (ib_core not loaded or not built).
	ErrNoRDMA = errors.New("kernel has no rdma subsystem")
	// ErrNotFound: no RDMA device of that name in that namespace.
	ErrNotFound = errors.New("rdma device not found")
	// ErrMoveUnsupported: the driver cannot change namespace (rxe before 7.x).
	ErrMoveUnsupported = errors.New("rdma device cannot change network namespace")
)

// Kernel implements RDMA netlink calls. Every call that names a device runs
// on a thread inside the namespace the device is in: the kernel resolves
// device names in the caller's thread namespace (exclusive mode), and from
// any other namespace it answers ENODEV, even through a socket opened there.
type Kernel struct{}

// NetnsMode returns "exclusive" or "shared"; ErrNoRDMA when the kernel has
// no RDMA netlink.
func (Kernel) NetnsMode() (string, error) {
	mode, err := netlink.RdmaSystemGetNetnsMode()
	if err != nil {
		if noRDMA(err) {
			return "", fmt.Errorf("read rdma netns mode: %w", ErrNoRDMA)
		}
		return "", fmt.Errorf("read rdma netns mode: %w", err)
	}
	return mode, nil
}

func noRDMA(err error) bool {
	return errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP)
}

// Exists reports whether the device is visible in namespace in.
func (Kernel) Exists(in ns.NetNS, name string) (bool, error) {
	found := false
	err := in.Do(func(ns.NetNS) error {
		_, err := netlink.RdmaLinkByName(name)
		if err == nil {
			found = true
			return nil
		}
		if noRDMA(err) || isNotFound(err) {
			return nil
		}
		return fmt.Errorf("look up rdma device %s: %w", name, err)
	})
	return found, err
}

func isNotFound(err error) bool {
	return errors.Is(err, unix.ENODEV) || strings.Contains(err.Error(), "not found")
}

// Move moves the device from namespace from, where it is, to namespace to.
func (Kernel) Move(name string, from, to ns.NetNS) error {
	return from.Do(func(ns.NetNS) error {
		link, err := netlink.RdmaLinkByName(name)
		if err != nil {
			if isNotFound(err) {
				return fmt.Errorf("rdma device %s in %s: %w", name, from.Path(), ErrNotFound)
			}
			return fmt.Errorf("look up rdma device %s: %w", name, err)
		}
		if err := netlink.RdmaLinkSetNsFd(link, uint32(to.Fd())); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) {
				return fmt.Errorf("move rdma device %s to %s: %w (%w)", name, to.Path(), ErrMoveUnsupported, err)
			}
			return fmt.Errorf("move rdma device %s to %s: %w", name, to.Path(), err)
		}
		return nil
	})
}

// AddSoft creates a software RDMA device (rxe, siw) on netdev, asking from
// namespace in, where the netdev is. In exclusive mode the kernel registers
// the new device in the initial namespace whatever the caller's, so the
// caller moves it afterwards.
//
// When a netdev changes namespace, rxe only queues the removal of its old
// device; until the queue runs, ib_core refuses the old name with ENFILE
// (or EEXIST). Re-creating under the same name right after the move (the
// plugin's job) hits that window, so AddSoft retries for a bounded time.
func (Kernel) AddSoft(in ns.NetNS, name, typ, netdev string) error {
	deadline := time.Now().Add(softNameWait)
	for {
		err := in.Do(func(ns.NetNS) error { return netlink.RdmaLinkAdd(name, typ, netdev) })
		if err == nil {
			return nil
		}
		busy := errors.Is(err, unix.ENFILE) || errors.Is(err, unix.EEXIST)
		if !busy || time.Now().After(deadline) {
			return fmt.Errorf("create %s device %s on %s: %w", typ, name, netdev, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// softNameWait bounds the wait for a queued device removal to free a name.
const softNameWait = 5 * time.Second

// DelSoft deletes a software RDMA device from namespace in; a device that is
// already gone is not an error.
func (Kernel) DelSoft(in ns.NetNS, name string) error {
	return in.Do(func(ns.NetNS) error {
		if err := netlink.RdmaLinkDel(name); err != nil {
			if noRDMA(err) || isNotFound(err) {
				return nil
			}
			return fmt.Errorf("delete rdma device %s: %w", name, err)
		}
		return nil
	})
}

// CharDevices lists the character devices a process needs to use the RDMA
// device (uverbs, rdma_cm, umad, issm), as seen from the host: the SR-IOV
// device plugin mounts them into the pod only for pools with isRdma: true,
// and their absence is the usual reason verbs fail inside a pod that has
// the device. Read through rdmamap (fixed /sys paths, which is where the
// plugin runs).
func (Kernel) CharDevices(name string) []string {
	return rdmamap.GetRdmaCharDevices(name)
}
