package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// DefaultBootIDFile is the kernel's per-boot random ID; journals record it.
const DefaultBootIDFile = "/proc/sys/kernel/random/boot_id"

// ModeReader reads the RDMA subsystem's netns mode. rdma.Kernel is the real
// one; it wraps rdma.ErrNoRDMA when the kernel has no RDMA netlink.
type ModeReader interface {
	NetnsMode() (string, error)
}

// Options says where Collect reads. Zero fields take the node's defaults.
type Options struct {
	SysfsRoot  string     // "/sys"
	StateDirs  []string   // []string{config.DefaultStateDir}
	LockDir    string     // state.DefaultLockDir
	BootIDFile string     // DefaultBootIDFile
	RDMA       ModeReader // rdma.Kernel{}
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

// readStateDir reads every journal of a state directory. A missing directory
// has none: the plugin creates it at its first ADD.
func (c *collector) readStateDir(dir string) {
	store := state.Store{Dir: dir}
	keys, err := store.List()
	if err != nil {
		c.warn("%v", err)
		return
	}
	for _, k := range keys {
		c.load(store.Path(k))
	}
}

// load reads and judges the journal at path once; nil when it cannot be read.
func (c *collector) load(path string) *entry {
	path = filepath.Clean(path)
	if e, ok := c.journals[path]; ok {
		return e
	}
	rec, err := state.ReadFile(path)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			c.warn("journal %s: %v", path, err)
		}
		return nil
	}
	e := &entry{path: path, rec: rec, state: StateInPod}
	switch {
	case c.boot != "" && rec.BootID != c.boot:
		e.state, e.reason = StateStale, "written in an earlier boot ("+shortID(rec.BootID)+")"
	case !c.o.NetnsAlive(rec.Netns):
		e.state, e.reason = StateStale, "pod netns "+dash(rec.Netns)+" is gone"
	}
	c.journals[path] = e
	dev := strings.ToLower(rec.DeviceID)
	c.byDevice[dev] = append(c.byDevice[dev], e)
	return e
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
	return v
}

// pickOwner picks the journal that owns the VF: the one its lock file names
// (the plugin changes ownership only under the lock), else one naming the
// VF as its device, a live one first. Other live journals naming the VF
// lost it and are stale.
func (c *collector) pickOwner(addr string) *entry {
	var owner *entry
	if path := c.lockOwner(addr); path != "" {
		if e := c.load(path); e != nil && strings.EqualFold(e.rec.DeviceID, addr) {
			owner = e
		}
	}
	cands := c.byDevice[strings.ToLower(addr)]
	if owner == nil {
		for _, e := range cands {
			if owner == nil || (e.state == StateInPod && owner.state != StateInPod) ||
				(e.state == owner.state && e.rec.Created.After(owner.rec.Created)) {
				owner = e
			}
		}
	}
	for _, e := range cands {
		if e != owner && e.state == StateInPod {
			e.state, e.reason = StateStale, "VF "+addr+" is owned by "+owner.path
		}
	}
	return owner
}

// lockOwner reads the VF's lock file without locking it: its content is the
// owner's journal path, written under the lock, so at worst it is a moment
// old. A missing file means no owner.
func (c *collector) lockOwner(addr string) string {
	b, err := os.ReadFile(state.Locks{Dir: c.o.LockDir}.Path(addr))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.warn("lock of %s: %v", addr, err)
		}
		return ""
	}
	return strings.TrimSpace(string(b))
}

func ownerFrom(e *entry) *Owner {
	r := e.rec
	return &Owner{
		PodNamespace: r.PodNamespace,
		PodName:      r.PodName,
		ContainerID:  r.ContainerID,
		IfName:       r.IfName,
		Netns:        r.Netns,
		Network:      r.Network,
		Phase:        string(r.Phase),
		BootID:       r.BootID,
		Created:      r.Created,
		Journal:      e.path,
	}
}

// roceOf says whether any of the VF's RDMA devices has a RoCE v2 GID.
func (c *collector) roceOf(devs []RDMADevice) string {
	if len(devs) == 0 {
		return ""
	}
	inPod := false
	for _, d := range devs {
		if d.InPod {
			inPod = true
			continue
		}
		if c.hasRoCEv2(d.Name) {
			return RoCEYes
		}
	}
	if inPod {
		return RoCEInPod
	}
	return RoCENo
}

// hasRoCEv2 reads the GID types of every port of an RDMA device. The kernel
// answers EINVAL for unused GID entries: unreadable entries are skipped.
func (c *collector) hasRoCEv2(dev string) bool {
	ports := filepath.Join(c.o.SysfsRoot, "class", "infiniband", dev, "ports")
	for _, p := range dirNames(ports) {
		types := filepath.Join(ports, p, "gid_attrs", "types")
		for _, g := range dirNames(types) {
			b, err := os.ReadFile(filepath.Join(types, g))
			if err == nil && strings.TrimSpace(string(b)) == "RoCE v2" {
				return true
			}
		}
	}
	return false
}

// collectStale lists every stale journal, and marks stale those whose VF no
// longer exists (sriov_numvfs changed, or the NIC is gone).
func (c *collector) collectStale() {
	paths := make([]string, 0, len(c.journals))
	for p := range c.journals {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		e := c.journals[p]
		if !c.vfs[strings.ToLower(e.rec.DeviceID)] {
			gone := "VF " + e.rec.DeviceID + " no longer exists"
			if e.state == StateStale {
				e.reason += "; " + gone
			} else {
				e.state, e.reason = StateStale, gone
			}
		}
		if e.state != StateStale {
			continue
		}
		c.rep.StaleJournals = append(c.rep.StaleJournals, Journal{
			Owner:    *ownerFrom(e),
			DeviceID: e.rec.DeviceID,
			Reason:   e.reason,
		})
	}
}

func shortID(id string) string {
	if id == "" {
		return "no boot ID"
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
