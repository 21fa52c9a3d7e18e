package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// DefaultBootIDFile is the kernel's per-boot random ID; journals record it.
const DefaultBootIDFile = "/proc/sys/kernel/random/boot_id"

// ModeReader reads the RDMA subsystem's netns mode. rdma.Kernel is the real
// one; it wraps rdma.ErrNoRDMA when the kernel has no RDMA netlink.
type ModeReader interface {
	NetnsMode() (string, error)
}

// VFLister lists the PF-side settings of every VF of a PF, by VF index;
// vf.Kernel is the real one and wraps vf.ErrNoVFInfo when the driver
// reports none.
type VFLister interface {
	List(pf string) ([]vf.State, error)
}

// Options says where Collect reads. Zero fields take the node's defaults.
type Options struct {
	SysfsRoot  string     // "/sys"
	StateDirs  []string   // []string{config.DefaultStateDir}
	LockDir    string     // state.DefaultLockDir
	BootIDFile string     // DefaultBootIDFile
	RDMA       ModeReader // rdma.Kernel{}
	// VFs reads a PF's VF settings over netlink (RTM_GETLINK: read-only).
	VFs VFLister // vf.Kernel{}
	// Build is the inspecting binary's version and commit, reported as is.
	Build *Build
	// NetnsAlive reports whether a journal's netns path still names a
	// namespace; nil uses the plugin's own rule (ns.GetNS).
	NetnsAlive func(path string) bool
}

func (o Options) withDefaults() Options {
	if o.SysfsRoot == "" {
		o.SysfsRoot = "/sys"
	}
	if len(o.StateDirs) == 0 {
		o.StateDirs = []string{config.DefaultStateDir}
	}
	if o.LockDir == "" {
		o.LockDir = state.DefaultLockDir
	}
	if o.BootIDFile == "" {
		o.BootIDFile = DefaultBootIDFile
	}
	if o.RDMA == nil {
		o.RDMA = rdma.Kernel{}
	}
	if o.VFs == nil {
		o.VFs = vf.Kernel{}
	}
	if o.NetnsAlive == nil {
		o.NetnsAlive = state.NetnsAlive
	}
	return o
}

// entry is one journal read from disk and judged.
type entry struct {
	path   string
	rec    *state.Record
	state  State // StateInPod or StateStale
	reason string
}

type collector struct {
	o        Options
	sys      pci.Sysfs
	boot     string
	rep      *Report
	journals map[string]*entry   // by cleaned path
	byDevice map[string][]*entry // by DeviceID, lower-case
	vfs      map[string]bool     // every VF address found in sysfs
}

// Collect reads the node. It returns ErrNoSRIOV (and no report) when no PCI
// function has SR-IOV, and the report with ErrNoVFs when PFs exist but none
// has VFs enabled. Problems with single journals or lock files are warnings
// in the report, not errors.
func Collect(opts Options) (*Report, error) {
	o := opts.withDefaults()
	c := &collector{
		o:        o,
		sys:      pci.Sysfs{Root: o.SysfsRoot},
		journals: map[string]*entry{},
		byDevice: map[string][]*entry{},
		vfs:      map[string]bool{},
	}
	c.rep = &Report{
		Plugin:        o.Build,
		StateDirs:     cleanAll(o.StateDirs),
		LockDir:       o.LockDir,
		PFs:           []PF{},
		StaleJournals: []Journal{},
	}

	pfs, err := c.findPFs()
	if err != nil {
		return nil, err
	}
	if len(pfs) == 0 {
		return nil, fmt.Errorf("%w under %s: create VFs with echo N > /sys/class/net/<pf>/device/sriov_numvfs",
			ErrNoSRIOV, filepath.Join(o.SysfsRoot, "bus", "pci", "devices"))
	}

	c.readBootID()
	c.readMode()
	for _, dir := range c.rep.StateDirs {
		c.readStateDir(dir)
	}
	for _, pf := range pfs {
		c.rep.PFs = append(c.rep.PFs, c.describePF(pf))
	}
	c.collectStale()

	for _, pf := range c.rep.PFs {
		if pf.NumVFs > 0 {
			return c.rep, nil
		}
	}
	first := c.rep.PFs[0]
	netdev := first.Netdev
	if netdev == "" {
		netdev = "<pf>"
	}
	return c.rep, fmt.Errorf("%w: SR-IOV physical function %s has sriov_numvfs 0: create VFs with echo N > /sys/class/net/%s/device/sriov_numvfs",
		ErrNoVFs, first.PCI, netdev)
}

func cleanAll(dirs []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, d := range dirs {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func (c *collector) warn(format string, args ...any) {
	c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf(format, args...))
}

func (c *collector) readBootID() {
	b, err := os.ReadFile(c.o.BootIDFile)
	if err != nil {
		c.warn("read boot ID: %v; journals from an earlier boot are not told apart", err)
		return
	}
	c.boot = strings.TrimSpace(string(b))
	c.rep.BootID = c.boot
}

func (c *collector) readMode() {
	mode, err := c.o.RDMA.NetnsMode()
	switch {
	case err == nil:
		c.rep.RDMANetnsMode = mode
	case errors.Is(err, rdma.ErrNoRDMA):
		c.rep.RDMANetnsMode = ModeUnavailable
	default:
		c.rep.RDMANetnsMode = ModeUnknown
		c.rep.RDMANetnsModeError = err.Error()
	}
}

// pfInfo is what findPFs learns about a PF before its VFs are described.
type pfInfo struct {
	addr, dir string
	total     int
}

// findPFs lists the PCI functions with sriov_totalvfs > 0. It reads one
// attribute per PCI function: a diagnostic may cost O(functions).
func (c *collector) findPFs() ([]pfInfo, error) {
	devices := filepath.Join(c.o.SysfsRoot, "bus", "pci", "devices")
	ents, err := os.ReadDir(devices)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pci devices: %w", err)
	}
	var pfs []pfInfo
	for _, e := range ents {
		dir := filepath.Join(devices, e.Name())
		total, err := readInt(filepath.Join(dir, "sriov_totalvfs"))
		if err != nil || total <= 0 {
			continue
		}
		pfs = append(pfs, pfInfo{addr: e.Name(), dir: dir, total: total})
	}
	return pfs, nil
}

func (c *collector) describePF(info pfInfo) PF {
	pf := PF{PCI: info.addr, TotalVFs: info.total, VFs: []VF{}}
	pf.Driver = linkBase(filepath.Join(info.dir, "driver"))
	pf.Netdev = firstName(filepath.Join(info.dir, "net"))
	num, err := readInt(filepath.Join(info.dir, "sriov_numvfs"))
	if err != nil {
		c.warn("pf %s: %v", info.addr, err)
		return pf
	}
	pf.NumVFs = num
	// virtfnN for N < sriov_numvfs: one readlink per VF, no directory scan.
	for i := range num {
		link := filepath.Join(info.dir, "virtfn"+strconv.Itoa(i))
		target, err := os.Readlink(link)
		if err != nil {
			c.warn("pf %s: virtfn%d: %v", info.addr, i, err)
			continue
		}
		pf.VFs = append(pf.VFs, c.describeVF(i, filepath.Base(target)))
	}
	c.readPFSide(&pf)
	return pf
}

func (c *collector) describeVF(index int, addr string) VF {
	v := VF{Index: index, PCI: addr, State: StateFree}
	c.vfs[strings.ToLower(addr)] = true
	dev, err := c.sys.Resolve(addr)
	if err != nil {
		v.Error = err.Error()
	} else {
		v.Netdev, v.Driver, v.LinkType = dev.Netdev, dev.Driver, dev.LinkType
		for _, r := range dev.RDMA {
			v.RDMA = append(v.RDMA, RDMADevice{Name: r.Name, Kind: string(r.Kind)})
		}
	}

	owner := c.pickOwner(addr)
	if owner != nil {
		rec := owner.rec
		v.State, v.Note = owner.state, owner.reason
		v.Owner = ownerFrom(owner)
		if rec.Phase != state.PhaseCommitted && owner.state == StateInPod {
			v.Note = "ADD not committed (in progress, or it crashed and the next DEL/ADD restores)"
		}
		if owner.state == StateInPod && rec.Phase == state.PhaseCommitted && v.Netdev != "" {
			v.Note = "journal says in pod, but netdev " + v.Netdev + " is on the host"
		}
		// In exclusive mode a device given to the pod is invisible from the
		// host's sysfs; a soft one is re-created in the pod. Name them from
		// the journal rather than show none.
		if len(v.RDMA) == 0 && owner.state == StateInPod && rec.RDMAInPod {
			for _, r := range rec.RDMA {
				v.RDMA = append(v.RDMA, RDMADevice{Name: r.Name, Kind: string(r.Kind), InPod: true})
			}
		}
	}
	v.RoCEv2 = c.roceOf(v.RDMA)
	c.readNetdev(&v, owner)
	return v
}
