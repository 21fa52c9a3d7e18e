package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
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
