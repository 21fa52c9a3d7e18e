package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// The test node. Names stay short: netdev names have 15 characters at most.
const (
	pfAddr     = "0000:01:00.0"
	pfNetdev   = "e2epf0"     // the PF: a veth, so it reports no VFs over netlink
	pfDriver   = "igb"        // what the fixture's PF driver link names
	fabricNS   = "e2e-fabric" // where the VFs' peers meet
	fabricBr   = "fabric0"
	subnet     = "10.56.0.0/24" // host-local's range for every network
	rangeStart = "10.56.0.10"
	rangeEnd   = "10.56.0.200"
	gatewayIP  = "10.56.0.254" // the fabric bridge: every pod's net1 can reach it
	mgmtParent = "e2emgmt0"    // parent of the pods' macvlan eth0 (management plane)
	mgmtPeerIP = "192.168.77.1"
	demoVFs    = 2
)

// vfSpec is one VF of the fixture PF and the veth that plays its netdev.
type vfSpec struct {
	index   int
	netdev  string // host end of the veth, named in <vf>/net/
	peer    string // the other end, on the fabric bridge
	rdma    string // hardware RDMA device under <vf>/infiniband/
	auxRDMA string // RDMA device under <vf>/mlx5_core.rdma.N/infiniband/
	addr    string // PCI address
	up      bool   // admin state on the host before any ADD
}

var pfSpec = fixture.PF{Addr: pfAddr, Netdev: pfNetdev, Driver: pfDriver}

// laneVFs is how many VFs the case lane uses: one set per case. Some have
// RDMA devices, some are down on the host, so the restore of both states is
// exercised.
const laneVFs = 13

// makeVFs describes n VFs of the fixture PF (the stress and bench runs use
// up to 256 on one PF, crossing PCI buses).
func makeVFs(n int) []vfSpec {
	out := make([]vfSpec, n)
	fpf := pfSpec
	fpf.VFs = make([]fixture.VF, n)
	for i := range out {
		out[i] = vfSpec{
			index:  i,
			netdev: fmt.Sprintf("e2evf%d", i),
			peer:   fmt.Sprintf("e2efab%d", i),
			addr:   fixture.VFAddr(fpf, i),
			up:     i%2 == 0,
		}
	}
	for i, name := range map[int]string{0: "mlx5_0", 5: "mlx5_5"} {
		if i < n {
			out[i].rdma = name
		}
	}
	if n > 9 {
		out[9].auxRDMA = "mlx5_9"
	}
	return out
}

// setUp builds the node with the first n VFs. Each step registers its undo
// before the next starts, so a failure half-way still tears down.
func (l *Lane) setUp(n int) error {
	l.nvfs = n
	l.vfs = makeVFs(n)
	if err := l.mountAll(n); err != nil {
		return err
	}
	return l.network(n)
}

// mountAll: tmpfs over /run (pod netns bind mounts, the plugin's locks),
// over /var/lib/cni (the plugin's journals, and cnitool's result cache:
// `cnitool gc` DELs every cached attachment, the real node's included), over
// /var/log (the plugin's log files), and the fixture over /sys. All of it
// lives in this private mount namespace only.
func (l *Lane) mountAll(n int) error {
	for _, d := range []string{"/run", "/var/lib/cni", "/var/log"} {
		if err := l.mountTmpfs(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(l.logDir, 0o755); err != nil {
		return err
	}

	// A fresh sysfs mounted in this network namespace shows this
	// namespace's netdevs under class/net and devices/virtual/net.
	realsys := filepath.Join(l.work, "realsys")
	if err := os.Mkdir(realsys, 0o755); err != nil {
		return err
	}
	if err := mount("sysfs", realsys, "sysfs", 0, ""); err != nil {
		return err
	}
	l.onTearDown("unmount "+realsys, func() error { return unix.Unmount(realsys, unix.MNT_DETACH) })

	if err := mount("e2e-sys", "/sys", "tmpfs", 0, "mode=0755"); err != nil {
		return err
	}
	// Detaching /sys detaches the bind mounts below it too.
	l.onTearDown("unmount /sys", func() error { return unix.Unmount("/sys", unix.MNT_DETACH) })
	node := fixture.Node{PFs: []fixture.PF{pfSpec}}
	node.PFs[0].VFs = make([]fixture.VF, n)
	for i := range n {
		node.PFs[0].VFs[i] = fixture.VF{Netdev: l.vfs[i].netdev, RDMA: l.vfs[i].rdma, AuxRDMA: l.vfs[i].auxRDMA}
	}
	if n == laneVFs {
		// One more VF, bound to vfio-pci as DPDK would have it: no netdev,
		// so it is no veth and stays out of l.vfs and their checks.
		node.PFs[0].VFs = append(node.PFs[0].VFs, fixture.VF{Driver: "vfio-pci"})
		l.userspaceVF = fixture.VFAddr(node.PFs[0], n)
	}
	if err := fixture.Build("/sys", node); err != nil {
		return err
	}
	for _, d := range []string{"devices/virtual", "class/net"} {
		if err := os.MkdirAll("/sys/"+d, 0o755); err != nil {
			return err
		}
		if err := mount(filepath.Join(realsys, d), "/sys/"+d, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
	}
	return nil
}

// journalsOnDisk puts the plugin's state directory on the disk that holds
// the lane's scratch directory instead of the lane's tmpfs: journal writes
// are fsync'd, and on tmpfs that costs nothing, which a node's /var never
// gives. Used where time is measured.
func (l *Lane) journalsOnDisk() error {
	disk := filepath.Join(l.work, "journals")
	for _, d := range []string{disk, l.stateDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := mount(disk, l.stateDir, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	l.onTearDown("unmount "+l.stateDir, func() error { return unix.Unmount(l.stateDir, unix.MNT_DETACH) })
	return nil
}

// mountTmpfs mounts a tmpfs over dir, creating dir (and removing it at
// teardown) when the host has none.
func (l *Lane) mountTmpfs(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		l.onTearDown("remove "+dir, func() error { return os.Remove(dir) })
	}
	if err := mount("e2e", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return err
	}
	l.onTearDown("unmount "+dir, func() error { return unix.Unmount(dir, unix.MNT_DETACH) })
	return nil
}

func mount(src, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(src, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype+src, target, err)
	}
	return nil
}

// network makes the fabric namespace and bridge, the PF, the management
// parent and the VF veths, then records the VFs' host-side baseline.
func (l *Lane) network(n int) error {
	if r := l.run(nil, nil, "ip", "link", "set", "lo", "up"); !r.ok() {
		return errors.New(r.String())
	}
	if r := l.run(nil, nil, "ip", "netns", "add", fabricNS); !r.ok() {
		return errors.New(r.String())
	}
	// Every netns the lane made, pods included, goes at teardown; the veth
	// ends on the host die with their peers.
	l.onTearDown("delete netns", l.deleteAllNetns)

	host := []string{
		"link add " + pfNetdev + " type veth peer name " + pfNetdev + "p netns " + fabricNS,
		"link set " + pfNetdev + " up",
		"link add " + mgmtParent + " type veth peer name mgmtp netns " + fabricNS,
		"link set " + mgmtParent + " up",
	}
	fabric := []string{
		"link set lo up",
		"link add " + fabricBr + " type bridge",
		"addr add " + gatewayIP + "/24 dev " + fabricBr,
		"link set " + fabricBr + " up",
		"link set " + pfNetdev + "p up",
		"addr add " + mgmtPeerIP + "/24 dev mgmtp",
		"link set mgmtp up",
	}
	for _, v := range l.vfs {
		host = append(host, vethCmds(v)...)
		fabric = append(fabric, "link set "+v.peer+" master "+fabricBr+" up")
	}
	if err := l.ipBatch("", host); err != nil {
		return err
	}
	if err := l.ipBatch(fabricNS, fabric); err != nil {
		return err
	}
	links, err := l.links("")
	if err != nil {
		return err
	}
	for _, v := range l.vfs {
		k, ok := links[v.netdev]
		if !ok {
			return fmt.Errorf("VF netdev %s missing after setup", v.netdev)
		}
		l.baseline[v.netdev] = k
	}
	return nil
}

func vethCmds(v vfSpec) []string {
	cmds := []string{"link add " + v.netdev + " type veth peer name " + v.peer + " netns " + fabricNS}
	if v.up {
		cmds = append(cmds, "link set "+v.netdev+" up")
	}
	return cmds
}

// recreateVF makes VF v's veth again after its pod netns took it down with
// it, once the kernel has finished destroying the old pair.
func (l *Lane) recreateVF(v vfSpec) error {
	err := poll(10*time.Second, func() error {
		for _, ns := range []string{"", fabricNS} {
			links, err := l.links(ns)
			if err != nil {
				return err
			}
			for _, name := range []string{v.netdev, v.peer} {
				if _, ok := links[name]; ok {
					return fmt.Errorf("%s still exists in netns %q", name, ns)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("old veth of %s not gone: %w", v.netdev, err)
	}
	if err := l.ipBatch("", vethCmds(v)); err != nil {
		return err
	}
	if err := l.ipBatch(fabricNS, []string{"link set " + v.peer + " master " + fabricBr + " up"}); err != nil {
		return err
	}
	links, err := l.links("")
	if err != nil {
		return err
	}
	l.baseline[v.netdev] = links[v.netdev]
	return nil
}

func (l *Lane) ipBatch(netns string, cmds []string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	if r := l.run(nil, []byte(strings.Join(cmds, "\n")+"\n"), "ip", args...); !r.ok() {
		return errors.New(r.String())
	}
	return nil
}

func (l *Lane) ip(args ...string) error {
	if r := l.run(nil, nil, "ip", args...); !r.ok() {
		return errors.New(r.String())
	}
	return nil
}

// deleteAllNetns deletes every netns under /run/netns: all of them are the
// lane's, /run being its own tmpfs.
func (l *Lane) deleteAllNetns() error {
	ents, err := os.ReadDir("/run/netns")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if r := l.runCtx(contextForTeardown(), nil, nil, "ip", "netns", "del", e.Name()); !r.ok() {
			errs = append(errs, errors.New(r.String()))
		}
	}
	return errors.Join(errs...)
}

// link is one entry of `ip -j addr show`.
type link struct {
	Name      string   `json:"ifname"`
	MAC       string   `json:"address"`
	MTU       int      `json:"mtu"`
	Flags     []string `json:"flags"`
	OperState string   `json:"operstate"`
	Addrs     []struct {
		Family string `json:"family"`
		Local  string `json:"local"`
		Prefix int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func (k link) up() bool { return slices.Contains(k.Flags, "UP") }

// ipv4 lists the link's IPv4 addresses as a.b.c.d/len.
func (k link) ipv4() []string {
	var out []string
	for _, a := range k.Addrs {
		if a.Family == "inet" {
			out = append(out, fmt.Sprintf("%s/%d", a.Local, a.Prefix))
		}
	}
	return out
}

// same reports how k differs from want in what DEL must restore.
func (k link) diff(want link) []string {
	var d []string
	if k.Name != want.Name {
		d = append(d, fmt.Sprintf("name %s, want %s", k.Name, want.Name))
	}
	if !strings.EqualFold(k.MAC, want.MAC) {
		d = append(d, fmt.Sprintf("MAC %s, want %s", k.MAC, want.MAC))
	}
	if k.MTU != want.MTU {
		d = append(d, fmt.Sprintf("MTU %d, want %d", k.MTU, want.MTU))
	}
	if k.up() != want.up() {
		d = append(d, fmt.Sprintf("up=%v, want up=%v", k.up(), want.up()))
	}
	return d
}

// links lists the netdevs of netns ("" = the lane's host), by name.
func (l *Lane) links(netns string) (map[string]link, error) {
	args := []string{"-j", "addr", "show"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	r := l.run(nil, nil, "ip", args...)
	if !r.ok() {
		return nil, errors.New(r.String())
	}
	var ls []link
	if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil {
		return nil, fmt.Errorf("parse `ip %s`: %w", strings.Join(args, " "), err)
	}
	m := make(map[string]link, len(ls))
	for _, k := range ls {
		m[k.Name] = k
	}
	return m, nil
}

func names(m map[string]link) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// leftovers lists what the cases must not leave behind: a VF netdev not
// back on the host as it began, a journal or other file in stateDir, an
// address host-local still holds, a pod netns. locks/ is ignored while it
// is empty: the plugin keeps its lock directory there.
func (l *Lane) leftovers() []string {
	var out []string
	links, err := l.links("")
	if err != nil {
		return []string{err.Error()}
	}
	for _, v := range l.vfs {
		k, ok := links[v.netdev]
		if !ok {
			out = append(out, fmt.Sprintf("VF netdev %s is not on the host", v.netdev))
			continue
		}
		if d := k.diff(l.baseline[v.netdev]); len(d) > 0 {
			out = append(out, fmt.Sprintf("VF netdev %s: %s", v.netdev, strings.Join(d, ", ")))
		}
	}
	if files := stateFiles(l.stateDir); len(files) > 0 {
		out = append(out, "stateDir holds "+strings.Join(files, " "))
	}
	if ips := l.heldIPs(""); len(ips) > 0 {
		out = append(out, "host-local still holds "+strings.Join(ips, " "))
	}
	if ents, _ := os.ReadDir("/run/netns"); len(ents) > 1 {
		var ns []string
		for _, e := range ents {
			if e.Name() != fabricNS {
				ns = append(ns, e.Name())
			}
		}
		out = append(out, "netns left: "+strings.Join(ns, " "))
	}
	return out
}

// stateFiles lists what is left in the journal directory and in the
// node-wide lock directory (the lane's private /run): after DEL both are
// empty, not even a subdirectory remains.
func stateFiles(dir string) []string { return leftovers(dir, state.DefaultLockDir) }

// leftovers lists every entry of the given directories.
func leftovers(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	return out
}

// heldIPs lists the addresses host-local holds for network net ("" = any),
// as net/ip: host-local keeps one file per address, named after it.
func (l *Lane) heldIPs(net string) []string {
	var out []string
	nets := []string{net}
	if net == "" {
		nets = nil
		ents, _ := os.ReadDir(l.ipamDir)
		for _, e := range ents {
			nets = append(nets, e.Name())
		}
	}
	for _, n := range nets {
		ents, _ := os.ReadDir(filepath.Join(l.ipamDir, n))
		for _, e := range ents {
			if strings.Count(e.Name(), ".") == 3 && !strings.HasPrefix(e.Name(), "last_reserved_ip") {
				out = append(out, n+"/"+e.Name())
			}
		}
	}
	return out
}

// repair puts the node back after a case that left something behind, so
// the next case starts from the baseline: journals and addresses dropped,
// missing VF veths re-created, pod netns deleted.
func (l *Lane) repair() error {
	var errs []error
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if e.Name() != fabricNS {
			errs = append(errs, l.ip("netns", "del", e.Name()))
		}
	}
	errs = append(errs, os.RemoveAll(l.stateDir), os.RemoveAll(l.ipamDir), os.MkdirAll(l.ipamDir, 0o755))
	links, err := l.links("")
	if err != nil {
		return err
	}
	for _, v := range l.vfs {
		if k, ok := links[v.netdev]; ok && len(k.diff(l.baseline[v.netdev])) == 0 {
			continue
		}
		// Deleting the peer deletes the VF end too, wherever it is now.
		_ = l.ip("-n", fabricNS, "link", "del", v.peer)
		_ = l.ip("link", "del", v.netdev)
		errs = append(errs, l.recreateVF(v))
	}
	return errors.Join(errs...)
}
