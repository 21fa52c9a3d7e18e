package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// restore undoes a journalled attachment: IPAM DEL starts first, and while
// its exec runs (unless the node rebooted since) the RDMA devices, the
// netdev and the PF-side settings go back to what the journal recorded;
// when both are done, the journal goes. Every step is harmless when its
// change never happened or was already undone, so restore finishes what a
// crashed ADD or DEL left. The caller holds the VF's lock and has checked
// that the attachment still owns the VF.
//
// wait bounds the wait for a VF netdev still on its way back from a pod
// netns whose path is gone (see ErrInLimbo); 0 looks once.
func (p *Plugin) restore(r *run, host ns.NetNS, boot string, rec *state.Record, journal string, wait time.Duration) error {
	released := p.startReleaseIP(rec)
	p.fault("del:after-ipam")
	var devErr error
	if rec.BootID != boot {
		// The reboot reset the VF and emptied every pod netns; the journal's
		// originals describe a device that no longer exists as recorded.
		r.log.Info("journal from an earlier boot: address released, device left as the reboot made it",
			"journal", rec.Key(), "bootID", rec.BootID)
	} else {
		devErr = p.restoreDevice(r, host, rec, wait)
	}
	ipErr := released()
	r.mark("ipam-wait")
	if err := errors.Join(ipErr, devErr); err != nil {
		return err
	}
	if err := removeDeviceInfo(rec); err != nil {
		return err
	}
	p.fault("del:before-journal-remove")
	if err := state.RemoveFile(journal); err != nil {
		return err
	}
	r.mark("journal")
	return nil
}

// removeDeviceInfo removes the device-info file if this attachment created
// it; one the device plugin wrote first is Multus's to remove.
func removeDeviceInfo(rec *state.Record) error {
	if !rec.DeviceInfoOwned || rec.DeviceInfoRoot == "" {
		return nil
	}
	return devinfo.File{Root: rec.DeviceInfoRoot, Path: rec.DeviceInfoFile}.Remove()
}

// startReleaseIP starts IPAM DEL in the background and returns a wait for
// its outcome: the plugin's exec overlaps the kernel's namespace move, as
// in ADD, and DELs of many pods no longer queue all their IPAM execs before
// their first move.
func (p *Plugin) startReleaseIP(rec *state.Record) func() error {
	if rec.IPAM.Type == "" {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- p.releaseIP(rec) }()
	return func() error { return <-done }
}

// releaseIP runs IPAM DEL with the config recorded at ADD, so a changed or
// missing netconf cannot leak the address.
func (p *Plugin) releaseIP(rec *state.Record) error {
	if rec.IPAM.Type == "" {
		return nil
	}
	if err := p.IPAM.Del(context.Background(), ipamCall(rec, rec.Netns)); err != nil {
		return fmt.Errorf("release address of %s: %w", rec.Key(), err)
	}
	return nil
}

// ErrInLimbo: the pod netns's path is gone but the VF netdev has not come
// back to the host: a process still holds the namespace, or the kernel is
// still tearing it down. The journal must stay until it is back.
var ErrInLimbo = errors.New("VF netdev has not come back from the pod netns")

// restoreDevice brings the VF home: RDMA devices first (looked up inside the
// pod), then the netdev under its original name, then software RDMA devices
// re-created on it, then the PF-side settings. What is gone for good (the
// VF itself) counts as restored.
func (p *Plugin) restoreDevice(r *run, host ns.NetNS, rec *state.Record, wait time.Duration) error {
	if p.vfGone(r, rec) {
		return nil
	}
	pod, err := ns.GetNS(rec.Netns)
	if err != nil {
		pod = nil // gone: the kernel returns a real VF to the host
		r.log.Info("pod netns gone", "netns", rec.Netns, "reason", err)
	} else {
		defer func() { _ = pod.Close() }()
	}
	var errs []error
	if err := p.hardRDMAHome(r, rec, host, pod); err != nil {
		errs = append(errs, err)
	}
	p.fault("del:after-rdma")
	if err := p.softRDMAOut(rec, pod); err != nil {
		errs = append(errs, err)
	}
	if rec.Mode != state.ModeUserspace {
		if err := p.netdevHome(r, rec, host, pod, wait); err != nil {
			errs = append(errs, err)
		}
	}
	p.fault("del:after-netdev")
	if err := p.restoreGUID(r, rec, host); err != nil {
		errs = append(errs, err)
	}
	if err := p.restorePF(r, rec); err != nil {
		errs = append(errs, err)
	}
	r.mark("restore")
	return errors.Join(errs...)
}

// vfGone reports a VF that no longer exists (sriov_numvfs lowered, the PF's
// driver reloaded): nothing of it is left to restore, and waiting for it
// would hang the pod's deletion forever. It also follows a PF renamed since
// ADD, found by its PCI address.
func (p *Plugin) vfGone(r *run, rec *state.Record) bool {
	dev, err := p.Devices.Resolve(rec.DeviceID)
	switch {
	case errors.Is(err, pci.ErrNotFound):
		r.log.Warn("VF no longer exists on this node (its PF's VFs were removed or its driver reloaded); nothing of it left to restore",
			"device", rec.DeviceID, "pf", rec.PFAddr, "netdev", rec.Orig.Netdev)
		return true
	case err != nil:
		r.log.Warn("cannot read the VF from sysfs; restoring from the journal", "device", rec.DeviceID, "error", err)
	case rec.PFAddr != "" && dev.PFAddr == rec.PFAddr && dev.PFNetdev != rec.PFNetdev:
		r.log.Info("PF netdev renamed since ADD; restoring through its current name", "pf", rec.PFAddr, "was", rec.PFNetdev, "now", dev.PFNetdev)
		rec.PFNetdev = dev.PFNetdev
	}
	return false
}

// hardRDMAHome moves hardware RDMA devices back from the pod. The request
// runs on a thread inside the pod netns: from the host the kernel answers
// ENODEV.
func (p *Plugin) hardRDMAHome(r *run, rec *state.Record, host, pod ns.NetNS) error {
	if !rec.RDMAInPod || pod == nil {
		return nil
	}
	var errs []error
	for _, d := range rec.RDMA {
		if d.Kind.ReCreated() {
			continue
		}
		in, err := p.RDMA.Exists(pod, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !in {
			continue
		}
		if err := p.RDMA.Move(d.Name, pod, host); err != nil {
			errs = append(errs, fmt.Errorf("move RDMA device %s home: %w", d.Name, err))
			continue
		}
		r.log.Debug("RDMA device home", "rdma", d.Name)
	}
	return errors.Join(errs...)
}

// softRDMAOut deletes the software RDMA devices ADD re-created for the pod.
// Moving the netdev home would destroy them anyway; deleting them first
// keeps the pod's verbs users from seeing a half-gone device. A copy left
// on the host by a failed move is bound to the same netdev and goes with
// it the same way; a host device of that name bound to the netdev at home
// is the node's own, so only the pod is looked at.
func (p *Plugin) softRDMAOut(rec *state.Record, pod ns.NetNS) error {
	if !rec.RDMAInPod || pod == nil {
		return nil
	}
	var errs []error
	for _, d := range rec.RDMA {
		if !d.Kind.ReCreated() {
			continue
		}
		ok, err := p.RDMA.Exists(pod, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			if err := p.RDMA.DelSoft(pod, d.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// recreateSoftRDMA puts back, on the host, the software RDMA devices the
// kernel destroyed when the netdev left.
func (p *Plugin) recreateSoftRDMA(r *run, rec *state.Record, host ns.NetNS, netdevName string) error {
	var errs []error
	for _, d := range rec.RDMA {
		if !d.Kind.ReCreated() {
			continue
		}
		ok, err := p.RDMA.Exists(host, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			continue
		}
		if err := p.RDMA.AddSoft(host, d.Name, d.Type, netdevName); err != nil {
			if errors.Is(err, rdma.ErrNoRDMA) {
				continue
			}
			errs = append(errs, fmt.Errorf("re-create %s device %s on %s: %w", d.Type, d.Name, netdevName, err))
			continue
		}
		r.log.Info("software RDMA device re-created on the host", "rdma", d.Name, "netdev", netdevName)
	}
	return errors.Join(errs...)
}

// netdevHome finds the VF's netdev wherever it is — in the pod under
// CNI_IFNAME or another name the kernel gave it, already home, or returned
// by the kernel under another name when the pod netns went away — and puts
// it back under its original name with its original MAC, MTU and state,
// then re-creates software RDMA devices on it.
//
// A VF netdev found nowhere is an error while the pod netns is reachable
// (the journal stays). With the pod netns gone, a netdev with a bus device
// comes back once the kernel has torn the namespace down: it is waited for,
// up to wait, and then ErrInLimbo keeps the journal for a retried DEL. A
// virtual stand-in (no bus device) is destroyed with its namespace: logged,
// nothing to return.
func (p *Plugin) netdevHome(r *run, rec *state.Record, host, pod ns.NetNS, wait time.Duration) error {
	name, err := p.findAndReturn(r, rec, host, pod)
	if err != nil {
		return err
	}
	if name == "" && pod == nil && rec.Orig.ParentDev != "" {
		if name, err = p.awaitReturn(r, rec, host, wait); err != nil {
			return err
		}
	}
	if name == "" {
		if pod != nil {
			return fmt.Errorf("VF %s netdev is neither in the pod (as %s or by its index) nor on the host (as %s or by its PCI address)",
				rec.DeviceID, rec.IfName, rec.Orig.Netdev)
		}
		r.log.Warn("VF netdev not found on the host, and a virtual netdev dies with its namespace; nothing to return", "device", rec.DeviceID, "netdev", rec.Orig.Netdev)
		return nil
	}
	if err := p.restoreLinkAttrs(host, name, rec); err != nil {
		return err
	}
	return p.recreateSoftRDMA(r, rec, host, name)
}

// awaitReturn waits, up to wait, for the kernel to return the VF netdev to
// the host, and renames it home.
func (p *Plugin) awaitReturn(r *run, rec *state.Record, host ns.NetNS, wait time.Duration) (string, error) {
	start := time.Now()
	pause := 5 * time.Millisecond
	for {
		name, err := p.findOnHost(r, rec, host)
		if err != nil || name != "" {
			if name != "" {
				r.log.Info("VF netdev came back from the pod netns", "device", rec.DeviceID, "after", time.Since(start).Round(time.Millisecond).String())
			}
			return name, err
		}
		if time.Since(start) >= wait {
			return "", fmt.Errorf("%w: VF %s is not back on the host %s after the path of pod netns %s went away; a process may still hold that namespace",
				ErrInLimbo, rec.DeviceID, time.Since(start).Round(time.Millisecond), rec.Netns)
		}
		time.Sleep(min(pause, max(wait-time.Since(start), time.Millisecond)))
		pause = min(2*pause, 100*time.Millisecond)
	}
}

func (p *Plugin) findAndReturn(r *run, rec *state.Record, host, pod ns.NetNS) (string, error) {
	if pod != nil {
		l, found, err := p.findInPod(r, rec, pod)
		if err != nil {
			return "", err
		}
		if found {
			home, herr := p.homeName(r, rec, host)
			if herr != nil {
				return "", herr
			}
			if _, err := p.Links.MoveRename(pod, l.Name, host, home); err != nil {
				return "", fmt.Errorf("return netdev %s home as %s: %w", l.Name, home, err)
			}
			return home, nil
		}
	}
	return p.findOnHost(r, rec, host)
}

// findInPod looks for the VF in the pod: under CNI_IFNAME, else by its bus
// device or its index, in case the kernel named it otherwise.
func (p *Plugin) findInPod(r *run, rec *state.Record, pod ns.NetNS) (netdev.Attrs, bool, error) {
	l, err := p.Links.Get(pod, rec.IfName)
	switch {
	case err == nil && isOurs(l, rec):
		return l, true, nil
	case err == nil:
		r.log.Warn("interface in the pod is not this VF; left alone", "ifname", rec.IfName, "parentDev", l.ParentDev, "index", l.Index)
	case !errors.Is(err, netdev.ErrNotFound):
		return l, false, fmt.Errorf("look up %s in the pod: %w", rec.IfName, err)
	}
	all, err := p.Links.List(pod)
	if err != nil {
		return netdev.Attrs{}, false, fmt.Errorf("list the pod's links: %w", err)
	}
	for _, c := range all {
		if c.Name == rec.IfName {
			continue
		}
		if (c.ParentDev != "" && c.ParentDev == rec.DeviceID) || (c.ParentDev == "" && rec.Orig.ParentDev == "" && c.Index == podIndex(rec)) {
			r.log.Warn("VF found in the pod under another name than CNI_IFNAME", "ifname", rec.IfName, "name", c.Name, "index", c.Index)
			return c, true, nil
		}
	}
	return netdev.Attrs{}, false, nil
}

// podIndex is the VF netdev's index in the pod: the one the kernel
// reported after the move, else the host index, which a move keeps unless
// the pod already used it.
func podIndex(rec *state.Record) int {
	if rec.PodIfIndex != 0 {
		return rec.PodIfIndex
	}
	return rec.Orig.IfIndex
}

// findOnHost finds the VF netdev on the host, under its original name or,
// returned by the kernel under another, by its PCI address, and renames it
// home. "" when it is not there.
func (p *Plugin) findOnHost(r *run, rec *state.Record, host ns.NetNS) (string, error) {
	if l, err := p.Links.Get(host, rec.Orig.Netdev); err == nil && isOurs(l, rec) {
		return l.Name, nil
	}
	// The kernel returns a physical netdev to the initial namespace when its
	// namespace dies, renamed if its name was taken: find it by PCI address.
	names, err := p.Devices.NetdevsOf(rec.DeviceID)
	if err != nil {
		return "", fmt.Errorf("find netdev of %s: %w", rec.DeviceID, err)
	}
	for _, n := range names {
		if _, err := p.Links.Get(host, n); err != nil {
			continue
		}
		if n == rec.Orig.Netdev {
			return n, nil
		}
		home, herr := p.homeName(r, rec, host)
		if herr != nil {
			return "", herr
		}
		if err := p.Links.Rename(host, n, home); err != nil {
			return "", fmt.Errorf("rename returned netdev %s to %s: %w", n, home, err)
		}
		r.log.Info("netdev returned by the kernel renamed back", "from", n, "to", home)
		return home, nil
	}
	return "", nil
}

// isOurs tells the VF from a look-alike: a netdev with a PCI parent must
// sit on our VF; a virtual stand-in (no parent) must keep its ifindex.
func isOurs(l netdev.Attrs, rec *state.Record) bool {
	if l.ParentDev != "" {
		return l.ParentDev == rec.DeviceID
	}
	// A salvaged record may have lost the ifindex: CNI_IFNAME in this
	// attachment's own netns is the attachment's interface.
	return l.Index == rec.Orig.IfIndex || (rec.PodIfIndex != 0 && l.Index == rec.PodIfIndex) || rec.Salvaged
}

// homeName is the original name, or, when another device took it meanwhile,
// a name derived from the PCI address (stable, so a later DEL or an operator
// finds it).
func (p *Plugin) homeName(r *run, rec *state.Record, host ns.NetNS) (string, error) {
	l, err := p.Links.Get(host, rec.Orig.Netdev)
	if errors.Is(err, netdev.ErrNotFound) {
		return rec.Orig.Netdev, nil
	}
	if err != nil {
		return "", fmt.Errorf("look up %s on the host: %w", rec.Orig.Netdev, err)
	}
	alt := fallbackName(rec.DeviceID)
	r.log.Warn("original netdev name taken on the host; using a name derived from the PCI address",
		"name", rec.Orig.Netdev, "takenBy", l.Index, "fallback", alt)
	return alt, nil
}

// fallbackName turns 0000:01:10.2 into vf0000011002 (IFNAMSIZ allows 15).
func fallbackName(addr string) string {
	return "vf" + strings.NewReplacer(":", "", ".", "").Replace(addr)
}

// restoreLinkAttrs puts back MAC, MTU and up/down on the host.
func (p *Plugin) restoreLinkAttrs(host ns.NetNS, name string, rec *state.Record) error {
	l, err := p.Links.Get(host, name)
	if err != nil {
		return fmt.Errorf("read %s on the host: %w", name, err)
	}
	if rec.Orig.MAC != "" && !strings.EqualFold(l.MAC, rec.Orig.MAC) {
		mac, err := net.ParseMAC(rec.Orig.MAC)
		if err != nil {
			return fmt.Errorf("journalled mac %q: %w", rec.Orig.MAC, err)
		}
		if err := p.Links.SetMAC(host, name, mac); err != nil {
			return err
		}
	}
	if rec.Orig.MTU != 0 && l.MTU != rec.Orig.MTU {
		if err := p.Links.SetMTU(host, name, rec.Orig.MTU); err != nil {
			return err
		}
	}
	if l.Up != rec.Orig.Up {
		if err := p.Links.SetUp(host, name, rec.Orig.Up); err != nil {
			return err
		}
	}
	return nil
}

// restorePF puts every PF-side attribute back, also those the config never
// touched.
func (p *Plugin) restorePF(r *run, rec *state.Record) error {
	if rec.Orig.VF == nil {
		return nil
	}
	rep, err := vf.RestoreReport(p.VFs, rec.PFNetdev, rec.VFIndex, *rec.Orig.VF)
	if errors.Is(err, vf.ErrNoVFInfo) {
		// The PF no longer lists the VF (its VFs were re-created, its netdev
		// is gone): there are no settings left to put back.
		r.log.Warn("PF reports no settings for the VF any more; PF-side settings not restored",
			"device", rec.DeviceID, "pf", rec.PFNetdev, "vf", rec.VFIndex, "error", err)
		return nil
	}
	if rep.FallbackMAC != "" {
		r.log.Warn("driver refused the original admin MAC; set a unique locally administered MAC instead",
			"device", rec.DeviceID, "pf", rec.PFNetdev, "vf", rec.VFIndex, "original", rec.Orig.VF.MAC, "fallbackMAC", rep.FallbackMAC)
	}
	if err != nil {
		return fmt.Errorf("restore VF %d settings on PF %s: %w", rec.VFIndex, rec.PFNetdev, err)
	}
	return nil
}

// rebindWait bounds the wait for a rebound VF's netdev; mlx5's probe takes
// well under a second.
const rebindWait = 10 * time.Second

// rebind rebinds the VF to its driver and returns its netdev's new name.
func (p *Plugin) rebind(device string) (string, error) {
	if err := p.Devices.Rebind(device); err != nil {
		return "", fmt.Errorf("rebind %s to apply its GUID: %w", device, err)
	}
	name, err := p.Devices.WaitNetdev(device, rebindWait)
	if err != nil {
		return "", fmt.Errorf("rebind %s: %w", device, err)
	}
	return name, nil
}

// restoreGUID puts an InfiniBand VF's GUID back (the all-F "unset" value
// when it had none) and rebinds it, with its netdev at home: the probe
// re-creates the netdev, which then gets its original name back.
func (p *Plugin) restoreGUID(r *run, rec *state.Record, host ns.NetNS) error {
	if rec.IB == nil {
		return nil
	}
	orig := vf.UnsetGUID()
	if rec.IB.OrigGUID != "" {
		g, err := net.ParseMAC(rec.IB.OrigGUID)
		if err != nil {
			return fmt.Errorf("journalled guid %q: %w", rec.IB.OrigGUID, err)
		}
		orig = g
	}
	if err := p.VFs.SetGUID(rec.PFNetdev, rec.VFIndex, orig); err != nil {
		return fmt.Errorf("restore guid of VF %d on %s: %w", rec.VFIndex, rec.PFNetdev, err)
	}
	name, err := p.rebind(rec.DeviceID)
	if err != nil {
		return err
	}
	if name != rec.Orig.Netdev && rec.Orig.Netdev != "" {
		home, err := p.homeName(r, rec, host)
		if err != nil {
			return err
		}
		if err := p.Links.Rename(host, name, home); err != nil {
			return fmt.Errorf("rename rebound %s to %s: %w", name, home, err)
		}
		name = home
	}
	if err := p.restoreLinkAttrs(host, name, rec); err != nil {
		return err
	}
	r.log.Info("InfiniBand GUID restored", "device", rec.DeviceID, "guid", orig.String())
	return nil
}

// hostAndBoot opens the host netns and reads the boot ID: what every verb
// that restores an attachment works from.
func (p *Plugin) hostAndBoot() (ns.NetNS, string, error) {
	boot, err := p.BootID()
	if err != nil {
		return nil, "", cniError(types.ErrIOFailure, "read boot id: %v", err)
	}
	host, err := ns.GetCurrentNS()
	if err != nil {
		return nil, "", cniError(types.ErrInternal, "open host netns: %v", err)
	}
	return host, boot, nil
}
