package sriovrdma

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
)

// nsIno identifies a namespace by its inode.
func nsIno(n ns.NetNS) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(int(n.Fd()), &st); err != nil {
		return 0
	}
	return st.Ino
}

// fakeRDMA models the kernel's RDMA netns rules: a device lives in one
// namespace (exclusive mode) or is seen from all (shared mode); a software
// device is destroyed when its netdev leaves the namespace it was created
// in; a new software device registers in the initial namespace.
type fakeRDMA struct {
	mu       sync.Mutex
	mode     string
	noRDMA   bool
	softMove bool // the kernel can move software devices (7.x)
	noGID    bool // no RoCE v2 GID ever appears (RoCE v2 disabled on the NIC)
	host     ns.NetNS
	devs     map[string]*fakeRDMADev
}

type fakeRDMADev struct {
	ns        uint64
	soft      bool
	typ       string
	netdevNS  ns.NetNS // nil for hardware devices
	netdevIdx int
}

func newFakeRDMA(host ns.NetNS) *fakeRDMA {
	return &fakeRDMA{mode: rdma.ModeExclusive, softMove: true, host: host, devs: map[string]*fakeRDMADev{}}
}

// addHW registers a hardware device in the host namespace.
func (f *fakeRDMA) addHW(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devs[name] = &fakeRDMADev{ns: nsIno(f.host)}
}

// addSoft registers a software device bound to a host netdev.
func (f *fakeRDMA) addSoft(name, typ, netdevName string) error {
	l, err := netdev.Kernel{}.Get(f.host, netdevName)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devs[name] = &fakeRDMADev{ns: nsIno(f.host), soft: true, typ: typ, netdevNS: f.host, netdevIdx: l.Index}
	return nil
}

// nsDied does what the kernel does with the RDMA devices of a dying
// namespace (rdma_dev_exit_net): they go back to the initial one.
func (f *fakeRDMA) nsDied(dead ns.NetNS) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.devs {
		if !d.soft && d.ns == nsIno(dead) {
			d.ns = nsIno(f.host)
		}
	}
}

// purge destroys software devices whose netdev left its namespace.
func (f *fakeRDMA) purge() {
	for name, d := range f.devs {
		if !d.soft {
			continue
		}
		ls, err := netdevIndexes(d.netdevNS)
		if err != nil || !ls[d.netdevIdx] {
			delete(f.devs, name)
		}
	}
}

func netdevIndexes(n ns.NetNS) (map[int]bool, error) {
	out := map[int]bool{}
	err := n.Do(func(ns.NetNS) error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			out[i.Index] = true
		}
		return err
	})
	return out, err
}

// where returns "host", "absent" or the namespace inode of a device.
func (f *fakeRDMA) where(name string, pod ns.NetNS) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	d, ok := f.devs[name]
	switch {
	case !ok:
		return "absent"
	case d.ns == nsIno(f.host):
		return "host"
	case pod != nil && d.ns == nsIno(pod):
		return "pod"
	}
	return fmt.Sprintf("ns:%d", d.ns)
}

func (f *fakeRDMA) dump() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	var out []string
	for name, d := range f.devs {
		out = append(out, fmt.Sprintf("%s@%d soft=%t", name, d.ns, d.soft))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (f *fakeRDMA) NetnsMode() (string, error) {
	if f.noRDMA {
		return "", fmt.Errorf("read rdma netns mode: %w", rdma.ErrNoRDMA)
	}
	return f.mode, nil
}

func (f *fakeRDMA) Exists(in ns.NetNS, name string) (bool, error) {
	if f.noRDMA {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	d, ok := f.devs[name]
	if !ok {
		return false, nil
	}
	return f.mode == rdma.ModeShared || d.ns == nsIno(in), nil
}

func (f *fakeRDMA) Move(name string, from, to ns.NetNS) error {
	if f.noRDMA {
		return rdma.ErrNoRDMA
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	d, ok := f.devs[name]
	if !ok || d.ns != nsIno(from) {
		return fmt.Errorf("rdma device %s: %w", name, rdma.ErrNotFound)
	}
	if f.mode != rdma.ModeExclusive || (d.soft && !f.softMove) {
		return fmt.Errorf("move %s: %w", name, rdma.ErrMoveUnsupported)
	}
	d.ns = nsIno(to)
	return nil
}

func (f *fakeRDMA) AddSoft(in ns.NetNS, name, typ, netdevName string) error {
	if f.noRDMA {
		return rdma.ErrNoRDMA
	}
	l, err := netdev.Kernel{}.Get(in, netdevName)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	if _, ok := f.devs[name]; ok {
		return unix.EEXIST
	}
	f.devs[name] = &fakeRDMADev{ns: nsIno(f.host), soft: true, typ: typ, netdevNS: in, netdevIdx: l.Index}
	if in != f.host {
		// keep the namespace reachable after the caller closes its handle
		n, err := ns.GetNS(in.Path())
		if err == nil {
			f.devs[name].netdevNS = n
		}
	}
	return nil
}

func (f *fakeRDMA) DelSoft(in ns.NetNS, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purge()
	d, ok := f.devs[name]
	if !ok || !d.soft || (f.mode == rdma.ModeExclusive && d.ns != nsIno(in)) {
		return nil
	}
	delete(f.devs, name)
	return nil
}

// RoCEv2GIDIndex answers 1 (the first GID after the link-local one) for
// a device visible from in, as mlx5 and rxe number an IPv4 address's GID.
func (f *fakeRDMA) RoCEv2GIDIndex(in ns.NetNS, dev string, ips []net.IP, _ time.Duration) (int, error) {
	ok, err := f.Exists(in, dev)
	if err != nil {
		return -1, err
	}
	if !ok {
		return -1, fmt.Errorf("read ports of %s: %w", dev, unix.ENOENT)
	}
	if f.noGID || len(ips) == 0 {
		return -1, fmt.Errorf("%s: %w %v", dev, rdma.ErrNoRoCEv2GID, ips)
	}
	return 1, nil
}

// CharDevices names the uverbs device as rdmamap would.
func (f *fakeRDMA) CharDevices(name string) []string {
	return []string{"/dev/infiniband/uverbs-" + name, "/dev/infiniband/rdma_cm"}
}
