package rdma

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNoRoCEv2GID: no RoCE v2 GID carrying the address appeared in time.
var ErrNoRoCEv2GID = errors.New("no RoCE v2 GID carries the address")

// RoCEv2 is RoCE v2's name in gid_attrs/types.
const RoCEv2 = "RoCE v2"

// RoCEv2GIDIndex waits up to wait for a RoCE v2 GID of device dev that
// carries one of ips, and returns its index (NCCL_IB_GID_INDEX). The kernel
// fills the GID table from the netdev's addresses asynchronously, so a GID
// appears shortly after the address.
//
// In exclusive mode sysfs shows only the RDMA devices of the namespace it
// was mounted in, so the table is read through a sysfs mounted in in.
func (Kernel) RoCEv2GIDIndex(in ns.NetNS, dev string, ips []net.IP, wait time.Duration) (int, error) {
	idx := -1
	err := WithNetnsSysfs(in, func(sys string) error {
		var err error
		idx, err = WaitRoCEv2GID(sys, dev, ips, wait)
		return err
	})
	return idx, err
}

// WithNetnsSysfs runs f with a sysfs mounted from inside namespace in, at
// the path f is given, the way `ip netns exec` shows a namespace's sysfs.
// It runs on a thread of its own with a private mount namespace; the
// thread is never handed back to the runtime (a locked thread whose
// goroutine returns is ended), so neither the mount nor the namespace
// switch can leak into the rest of the process or the host.
func WithNetnsSysfs(in ns.NetNS, f func(sys string) error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ch <- inNetnsSysfs(in, f)
	}()
	return <-ch
}

func inNetnsSysfs(in ns.NetNS, f func(sys string) error) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("private mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := netns.Set(netns.NsHandle(in.Fd())); err != nil {
		return fmt.Errorf("enter %s: %w", in.Path(), err)
	}
	if err := unix.Unmount("/sys", unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount host sysfs: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return fmt.Errorf("mount sysfs in %s: %w", in.Path(), err)
	}
	return f("/sys")
}

// WaitRoCEv2GID polls the GID tables under sysRoot until a RoCE v2 GID of
// dev carries one of ips, or wait is over.
func WaitRoCEv2GID(sysRoot, dev string, ips []net.IP, wait time.Duration) (int, error) {
	deadline := time.Now().Add(wait)
	for {
		idx, err := FindRoCEv2GID(sysRoot, dev, ips)
		if err == nil || !errors.Is(err, ErrNoRoCEv2GID) || time.Now().After(deadline) {
			return idx, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emptyRun ends a port's scan: GIDs are allocated from the lowest free
// index, so after this many unused entries the rest (rxe has 1024, most of
// them unused and answering EIO) holds nothing.
const emptyRun = 16

// FindRoCEv2GID looks once through dev's GID tables under sysRoot.
func FindRoCEv2GID(sysRoot, dev string, ips []net.IP) (int, error) {
	base := filepath.Join(sysRoot, "class/infiniband", dev, "ports")
	ports, err := os.ReadDir(base)
	if err != nil {
		return -1, fmt.Errorf("read ports of %s: %w", dev, err)
	}
	var names []string
	for _, p := range ports {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	for _, port := range names {
		dir := filepath.Join(base, port)
		empty := 0
		for i := 0; empty < emptyRun; i++ {
			raw, err := os.ReadFile(filepath.Join(dir, "gids", strconv.Itoa(i)))
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			gid := net.ParseIP(strings.TrimSpace(string(raw)))
			if err != nil || gid == nil || gid.IsUnspecified() {
				empty++
				continue
			}
			empty = 0
			typ, _ := os.ReadFile(filepath.Join(dir, "gid_attrs/types", strconv.Itoa(i)))
			if strings.TrimSpace(string(typ)) != RoCEv2 {
				continue
			}
			for _, ip := range ips {
				if gid.Equal(ip) {
					return i, nil
				}
			}
		}
	}
	return -1, fmt.Errorf("%s: %w %v", dev, ErrNoRoCEv2GID, ips)
}
