package sriovrdma

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// surveyIB checks what an InfiniBand VF can take and records the GUID
// change: Ethernet settings (MAC, VLAN, spoof checking, trust, rates) mean
// nothing on IB, and no kernel interface sets a VF's partition key.
func (a *attachment) surveyIB() error {
	dev, cfg := a.dev, a.cfg
	if a.rec.LinkType != "infiniband" {
		if cfg.GUID != nil {
			return cniError(types.ErrUnsupportedField, "guid %s: VF %s is %s, not InfiniBand; remove guid (and runtimeConfig.infinibandGUID)", cfg.GUID, dev.Addr, orEmpty(a.rec.LinkType))
		}
		if cfg.PKey != 0 {
			return cniError(types.ErrUnsupportedField, "pkey %#04x: VF %s is %s, not InfiniBand; remove pkey", cfg.PKey, dev.Addr, orEmpty(a.rec.LinkType))
		}
		return nil
	}
	if cfg.PKey != 0 {
		return cniError(types.ErrUnsupportedField,
			"pkey %#04x: Linux has no interface to set a VF's partition key; add the VF's GUID to the partition in the subnet manager (e.g. ib-kubernetes with UFM) and remove pkey", cfg.PKey)
	}
	if cfg.MAC != nil {
		return cniError(types.ErrUnsupportedField, "mac %s: VF %s is InfiniBand; its address comes from its GUID: set guid instead", cfg.MAC, dev.Addr)
	}
	for _, s := range cfg.VF.WithoutUntagged().Asked() {
		if !s.InfiniBand && s.Field != "mac" {
			return cniError(types.ErrUnsupportedField, "%s %s: VF %s is InfiniBand; only %s and guid apply (use pkey partitions in the subnet manager instead of VLANs)",
				s.Field, s.Value, dev.Addr, strings.Join(vf.InfiniBandFields(), ", "))
		}
	}
	if cfg.GUID == nil {
		return nil
	}
	a.rec.IB = &state.IB{OrigGUID: guidOf(a.rec.Orig.MAC), WantGUID: strings.ToLower(cfg.GUID.String())}
	return nil
}

// guidOf is the port GUID an IPoIB hardware address ends with (20 bytes:
// 4 of flags and QPN, 8 of subnet prefix, 8 of GUID); "" when it is zero,
// i.e. no GUID was ever set.
func guidOf(mac string) string {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 20 {
		return ""
	}
	g := hw[12:]
	if strings.Trim(g.String(), "0:") == "" {
		return ""
	}
	return strings.ToLower(g.String())
}

// applyGUID gives an InfiniBand VF its GUID. mlx5 takes it at the VF's next
// probe, so the VF is rebound; the probe re-creates the IPoIB netdev and
// the RDMA device, maybe under new names, which the journal then records.
func (a *attachment) applyGUID() error {
	if a.rec.IB == nil {
		return nil
	}
	guid, err := net.ParseMAC(a.rec.IB.WantGUID)
	if err != nil {
		return fmt.Errorf("guid %q: %w", a.rec.IB.WantGUID, err)
	}
	if err := a.p.VFs.SetGUID(a.rec.PFNetdev, a.rec.VFIndex, guid); err != nil {
		return cniError(types.ErrInternal, "VF %d of PF %s (driver %s) refused guid %s: %v", a.rec.VFIndex, a.rec.PFNetdev, orEmpty(a.rec.PFDriver), guid, err)
	}
	name, err := a.p.rebind(a.rec.DeviceID)
	if err != nil {
		return err
	}
	a.hostNetdev = name
	dev, err := a.p.Devices.Resolve(a.rec.DeviceID)
	if err != nil {
		return fmt.Errorf("resolve %s after its rebind: %w", a.rec.DeviceID, err)
	}
	a.rec.RDMA = state.RDMAOf(dev.RDMA)
	if err := a.store.Update(a.rec); err != nil {
		return fmt.Errorf("journal the rebound device: %w", err)
	}
	return nil
}

func (a *attachment) restoreGUID() error {
	return a.p.restoreGUID(a.r, a.rec, a.host)
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
