package sriovrdma

import (
	"errors"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// attachment is one ADD in progress: the VF, the two namespaces, the lock,
// the journal record and the undo stack.
type attachment struct {
	p    *Plugin
	r    *run
	cfg  *config.Config
	args *skel.CmdArgs
	dev  *pci.Device
	key  string
	// journal is this attachment's journal path; the VF's lock file names
	// its owner by it.
	journal string
	boot    string

	host, pod ns.NetNS
	// hostNetdev is the VF netdev's name on the host now (a rebind for an
	// InfiniBand GUID can rename it).
	hostNetdev string
	store      state.Store
	lock       *state.Lock
	rec        *state.Record
	undo       undoStack
	// free: on return the VF is owned by nobody and its lock file goes.
	free bool
}

// resolve reads the VF from sysfs and turns what is wrong with the address
// into an error that names it.
func (p *Plugin) resolve(addr string) (*pci.Device, error) {
	dev, err := p.Devices.Resolve(addr)
	switch {
	case err == nil:
		return dev, nil
	case errors.Is(err, pci.ErrInvalidAddress):
		return nil, cniError(types.ErrInvalidNetworkConfig, "invalid deviceID %q: not a PCI address DDDD:BB:DD.F", addr)
	case errors.Is(err, pci.ErrNotFound):
		return nil, cniError(types.ErrInvalidNetworkConfig, "invalid deviceID %q: no such PCI device on this node (%v); check the SR-IOV device plugin's resource and the VFs created on the PF", addr, err)
	case errors.Is(err, pci.ErrNotVF):
		return nil, cniError(types.ErrInvalidNetworkConfig, "invalid deviceID %q: %v; only SR-IOV virtual functions are moved into pods", addr, err)
	default:
		return nil, cniError(types.ErrIOFailure, "read PCI device %s from sysfs: %v", addr, err)
	}
}

// open gathers what every step needs: the namespaces, the boot ID, the
// state directory.
func (p *Plugin) open(r *run, cfg *config.Config, args *skel.CmdArgs, dev *pci.Device) (*attachment, error) {
	key, err := state.Key(args.ContainerID, args.IfName)
	if err != nil {
		return nil, cniError(types.ErrInvalidEnvironmentVariables, "%v", err)
	}
	store := state.Store{Dir: cfg.StateDir, Root: cfg.StateRoot}
	if err := store.Init(); err != nil {
		return nil, cniError(types.ErrIOFailure, "stateDir %s: %v", cfg.StateDir, err)
	}
	if _, err := store.Read(args.ContainerID, args.IfName); errors.Is(err, state.ErrForeign) {
		return nil, cniError(types.ErrInvalidEnvironmentVariables, "CNI_CONTAINERID %q with CNI_IFNAME %q: %v; use another interface name", args.ContainerID, args.IfName, err)
	}
	host, boot, err := p.hostAndBoot()
	if err != nil {
		return nil, err
	}
	pod, err := openPodNetns(args.Netns, host)
	if err != nil {
		_ = host.Close()
		return nil, err
	}
	a := &attachment{p: p, r: r, cfg: cfg, args: args, dev: dev, key: key, journal: store.Path(key), boot: boot, host: host, pod: pod, store: store, hostNetdev: dev.Netdev}
	a.undo = undoStack{r: r, fault: p.fault}
	r.fact("rdmaPolicy", string(cfg.RDMA))
	return a, nil
}

func (a *attachment) close() {
	_ = a.pod.Close()
	_ = a.host.Close()
}

// lockAndClaim takes the VF's lock and makes sure nobody else owns the VF.
func (a *attachment) lockAndClaim() error {
	lock, err := a.p.lockVF(a.dev.Addr)
	if err != nil {
		return err
	}
	a.lock = lock
	owner, err := lock.Owner()
	if err != nil {
		return cniError(types.ErrIOFailure, "read owner of %s: %v", a.dev.Addr, err)
	}
	if owner != "" {
		if err := a.p.claimFrom(a.r, a.host, a.boot, owner, a.journal, a.dev.Addr); err != nil {
			return err
		}
		// Restoring the previous owner may have renamed the VF's netdev
		// home (the kernel returned it as "net1" or "dev12") or re-created
		// it: what was resolved before the lock is stale.
		dev, err := a.p.resolve(a.dev.Addr)
		if err != nil {
			return err
		}
		a.dev, a.hostNetdev = dev, dev.Netdev
	}
	a.free = true // until the journal names this attachment as the owner
	return nil
}

// unlock releases the VF's lock; a VF left free also loses its lock file,
// so nothing of it stays in the state directory.
func (a *attachment) unlock() {
	if a.free {
		if err := a.lock.SetOwner(""); err != nil {
			a.r.log.Error("clear owner", "device", a.dev.Addr, "error", err)
		}
		if err := a.lock.ReleaseFree(); err != nil {
			a.r.log.Error("remove lock", "device", a.dev.Addr, "error", err)
		}
		return
	}
	a.lock.Release()
}

// writeJournal records the attachment before the first change. Ownership is
// written first: a crash between the two leaves an owner whose journal is
// missing, which the next ADD treats as free; the reverse order could leave
// a journal whose DEL restores a VF that another pod was given.
func (a *attachment) writeJournal() error {
	if err := a.lock.SetOwner(a.journal); err != nil {
		return cniError(types.ErrIOFailure, "claim %s: %v", a.dev.Addr, err)
	}
	if err := a.store.Write(a.rec); err != nil {
		return cniError(types.ErrIOFailure, "write journal for %s: %v", a.dev.Addr, err)
	}
	a.free = false
	return nil
}

// nsGetNSType is NS_GET_NSTYPE, _IO(0xb7, 0x3): the kind of namespace a
// file descriptor refers to.
const nsGetNSType = 0xb703

// openPodNetns opens CNI_NETNS and makes sure it is a network namespace
// other than the node's own: ns.GetNS accepts any procfs file, and an ADD
// into the node's namespace would "move" the VF in place and hold it for a
// pod that never dies.
func openPodNetns(path string, host ns.NetNS) (ns.NetNS, error) {
	pod, err := openNetns(path)
	if err != nil {
		return nil, err
	}
	typ, err := unix.IoctlRetInt(int(pod.Fd()), nsGetNSType)
	if err != nil || typ != unix.CLONE_NEWNET {
		_ = pod.Close()
		return nil, cniError(CodeInvalidEnv, "CNI_NETNS %q is not a network namespace", path)
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(pod.Fd()), &a) == nil && unix.Fstat(int(host.Fd()), &b) == nil && a.Ino == b.Ino && a.Dev == b.Dev {
		_ = pod.Close()
		return nil, cniError(CodeInvalidEnv, "CNI_NETNS %q is the node's own network namespace; give the pod's", path)
	}
	return pod, nil
}
