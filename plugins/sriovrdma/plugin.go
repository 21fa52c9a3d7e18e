// Package sriovrdma implements the sriov-rdma CNI verbs. Each verb reads as
// its story in README's Verbs section; the kernel-facing work sits behind the small
// interfaces below so the transaction logic is testable on kernels without
// SR-IOV or RDMA.
package sriovrdma

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Devices reads the VF from sysfs.
type Devices interface {
	Resolve(addr string) (*pci.Device, error)
	NetdevsOf(addr string) ([]string, error)
	Rebind(addr string) error
	WaitNetdev(addr string, wait time.Duration) (string, error)
}

// Links moves and configures netdevs.
type Links interface {
	Get(in ns.NetNS, name string) (netdev.Attrs, error)
	// MoveRename returns the link as it arrived in to (found by ifindex).
	MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error)
	List(in ns.NetNS) ([]netdev.Attrs, error)
	Rename(in ns.NetNS, name, newName string) error
	SetMAC(in ns.NetNS, name string, mac net.HardwareAddr) error
	SetMTU(in ns.NetNS, name string, mtu int) error
	SetUp(in ns.NetNS, name string, up bool) error
}

// RDMA moves RDMA devices and re-creates software ones.
type RDMA interface {
	NetnsMode() (string, error)
	Exists(in ns.NetNS, name string) (bool, error)
	Move(name string, from, to ns.NetNS) error
	AddSoft(in ns.NetNS, name, typ, netdev string) error
	DelSoft(in ns.NetNS, name string) error
	RoCEv2GIDIndex(in ns.NetNS, dev string, ips []net.IP, wait time.Duration) (int, error)
	CharDevices(name string) []string
}

// IPAM runs the chained IPAM plugin.
type IPAM interface {
	Add(ctx context.Context, c ipam.Call) (types.Result, error)
	Del(ctx context.Context, c ipam.Call) error
	Check(ctx context.Context, c ipam.Call) error
	GC(ctx context.Context, c ipam.Call) error
	Status(ctx context.Context, c ipam.Call) error
}

// Addressing puts IPAM's answer on the interface inside the pod.
type Addressing interface {
	Configure(in ns.NetNS, ifName string, res *current.Result) error
	Addrs(in ns.NetNS, ifName string) ([]net.IPNet, error)
}

// Plugin holds the verbs' dependencies.
type Plugin struct {
	Devices Devices
	VFs     vf.Netlink
	Links   Links
	RDMA    RDMA
	IPAM    IPAM
	Addr    Addressing

	// Options are the node's settings (the roots a netconf's paths must
	// lie below); NodeErr is why the node settings file was ignored, if it was.
	Options config.Options
	NodeErr error

	// BootID identifies this boot; journals from another boot describe
	// devices the reboot already reset.
	BootID func() (string, error)
	Now    func() time.Time
	// GIDWait bounds the wait for the RoCE v2 GID of the pod's address.
	GIDWait time.Duration
	// ReclaimEvery rate-limits ADD's sweep for attachments whose pod netns
	// vanished (0: every ADD).
	ReclaimEvery time.Duration
	// LockDir holds the node-wide per-VF lock files.
	LockDir string
	// LockWait bounds the wait for a VF's lock.
	LockWait time.Duration
	// LimboWait bounds the wait, in DEL, GC and the ADD that wants the VF,
	// for a VF netdev to come back from a pod netns whose path is gone: the
	// kernel returns it only once the namespace is torn down.
	LimboWait time.Duration
	// Stdout receives the CNI result; Stderr the log when no logFile is set.
	Stdout io.Writer
	Stderr io.Writer
	// Fault is called at each named step of ADD and DEL; the fault-injection
	// build kills the process there. nil in the shipped binary.
	Fault func(point string)
}

// DefaultLockWait is long enough for another ADD of the same VF to finish
// (tens of milliseconds) with a wide margin, and short enough that kubelet
// hears back well within its own timeout.
const DefaultLockWait = 10 * time.Second

// DefaultReclaimEvery: a pod that died without DEL holds its address at
// most this much longer; a burst of ADDs sweeps once.
const DefaultReclaimEvery = 10 * time.Second

// DefaultLimboWait covers the kernel's asynchronous teardown of a pod
// netns (tens of milliseconds, seconds on a loaded node); past it, DEL says
// "try again later" and keeps the journal.
const DefaultLimboWait = 3 * time.Second

// DefaultGIDWait: the kernel adds the GID within milliseconds of the
// address on hardware; the margin covers a loaded node (and emulation).
const DefaultGIDWait = 3 * time.Second

// New wires the plugin to the running kernel.
func New() *Plugin {
	roots, nodeErr := confine.LoadNode(confine.NodeFile)
	return &Plugin{
		Options:      config.Options{Roots: roots},
		NodeErr:      nodeErr,
		LimboWait:    DefaultLimboWait,
		Devices:      pci.Sysfs{Root: "/sys"},
		VFs:          vf.Kernel{},
		Links:        netdev.Kernel{},
		RDMA:         rdma.Kernel{},
		IPAM:         ipam.Exec{},
		Addr:         kernelAddressing{},
		BootID:       readBootID,
		Now:          time.Now,
		GIDWait:      DefaultGIDWait,
		ReclaimEvery: DefaultReclaimEvery,
		LockDir:      state.DefaultLockDir,
		LockWait:     DefaultLockWait,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
	}
}

func readBootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (p *Plugin) fault(point string) {
	if p.Fault != nil {
		p.Fault(point)
	}
}

// lockVF takes the VF's node-wide lock, with a bounded wait.
func (p *Plugin) lockVF(device string) (*state.Lock, error) {
	lock, err := state.Locks{Dir: p.LockDir}.Lock(device, p.LockWait)
	if errors.Is(err, state.ErrLockTimeout) {
		return nil, cniError(types.ErrTryAgainLater, "device %s is busy: another operation on it did not finish within %s; try again", device, p.LockWait)
	}
	if err != nil {
		return nil, cniError(types.ErrIOFailure, "lock device %s: %v", device, err)
	}
	return lock, nil
}
