package sriovrdma

import (
	"github.com/containernetworking/cni/pkg/skel"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// salvage pieces a record together from a corrupt journal and the netconf
// DEL was given: the PCI address (journal, else deviceID) finds the VF, the
// pod netns and CNI_IFNAME find its netdev, today's netconf releases the
// address. The original netdev name, MAC and PF settings come back only if
// the torn journal still holds them; the name otherwise becomes the one
// derived from the PCI address. nil when no valid PCI address is known.
func (p *Plugin) salvage(cfg *config.Config, args *skel.CmdArgs, journal string) *state.Record {
	raw, err := state.ReadRaw(journal)
	if err != nil {
		return nil
	}
	rec := state.Salvage(raw)
	rec.ContainerID, rec.IfName = args.ContainerID, args.IfName
	if rec.Netns == "" {
		rec.Netns = args.Netns
	}
	if !pci.ValidAddress(rec.DeviceID) {
		rec.DeviceID = cfg.DeviceID
	}
	if !pci.ValidAddress(rec.DeviceID) {
		return nil
	}
	// The IPAM config is the one piece a torn journal cannot give back.
	rec.IPAM = state.IPAM{Type: cfg.IPAMType, Config: cfg.Raw, Args: args.Args, Path: args.Path}
	return p.completeSalvaged(rec)
}

// salvageOwn is GC's salvage: GC has no attachment of its own to vouch for
// a torn journal, so only one that still names this network, the
// attachment its file is named after, and a valid PCI address is GC's to
// restore; nil for any other, which stays for the DEL that owns it.
func (p *Plugin) salvageOwn(cfg *config.Config, key, journal, cniPath string) *state.Record {
	raw, err := state.ReadRaw(journal)
	if err != nil {
		return nil
	}
	rec := state.Salvage(raw)
	if k, err := state.Key(rec.ContainerID, rec.IfName); err != nil || k != key {
		return nil
	}
	if rec.Network == "" || rec.Network != cfg.Net.Name || !pci.ValidAddress(rec.DeviceID) {
		return nil
	}
	if cfg.IPAMType != "" {
		rec.IPAM = state.IPAM{Type: cfg.IPAMType, Config: cfg.Raw, Args: rec.IPAM.Args, Path: cniPath}
	}
	return p.completeSalvaged(rec)
}

// completeSalvaged fills what a salvaged record needs to be restored: the
// PF as sysfs describes it now, a home name, and the boot.
func (p *Plugin) completeSalvaged(rec *state.Record) *state.Record {
	rec.Salvaged = true
	if dev, err := p.Devices.Resolve(rec.DeviceID); err == nil {
		rec.PFAddr, rec.PFNetdev, rec.PFDriver, rec.VFIndex = dev.PFAddr, dev.PFNetdev, dev.PFDriver, dev.VFIndex
	}
	if rec.Orig.Netdev == "" {
		rec.Orig.Netdev = fallbackName(rec.DeviceID)
	}
	if rec.BootID == "" {
		// Unknown: treat it as this boot, so the device is looked for.
		rec.BootID, _ = p.BootID()
	}
	return rec
}
