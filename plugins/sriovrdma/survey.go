package sriovrdma

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// userspaceDriver tells the drivers that take a VF away from the kernel's
// network stack (DPDK, VMs): there is no netdev to move, only PF-side
// settings and addresses.
func userspaceDriver(d string) bool {
	switch d {
	case "vfio-pci", "uio_pci_generic", "igb_uio":
		return true
	}
	return false
}

// survey reads what ADD will change and builds the journal record.
func (a *attachment) survey() error {
	dev := a.dev
	mode := state.ModeNetdev
	var orig netdev.Attrs
	switch {
	case dev.Netdev == "" && userspaceDriver(dev.Driver):
		mode = state.ModeUserspace
		if err := a.refuseForUserspace(); err != nil {
			return err
		}
	case dev.Netdev == "":
		return cniError(types.ErrInvalidNetworkConfig,
			"VF %s has no netdev on the host and driver %q is not a userspace driver (vfio-pci, uio_pci_generic, igb_uio); bind it to its kernel network driver or to vfio-pci",
			dev.Addr, orEmpty(dev.Driver))
	default:
		var err error
		if orig, err = a.surveyNetdev(); err != nil {
			return err
		}
	}
	a.r.fact("mode", mode)

	a.rec = &state.Record{
		BootID:       a.boot,
		Created:      a.r.now().UTC(),
		Phase:        state.PhaseAdding,
		Network:      a.cfg.Net.Name,
		ContainerID:  a.args.ContainerID,
		IfName:       a.args.IfName,
		Netns:        a.args.Netns,
		PodNamespace: a.cfg.Args.PodNamespace,
		PodName:      a.cfg.Args.PodName,
		Mode:         mode,
		DeviceID:     dev.Addr,
		PFAddr:       dev.PFAddr,
		PFNetdev:     dev.PFNetdev,
		PFDriver:     dev.PFDriver,
		VFIndex:      dev.VFIndex,
		Driver:       dev.Driver,
		LinkType:     dev.LinkType,
		Orig: state.Original{
			Netdev:    orig.Name,
			MAC:       orig.MAC,
			MTU:       orig.MTU,
			IfIndex:   orig.Index,
			Up:        orig.Up,
			ParentDev: orig.ParentDev,
		},
		IPAM: state.IPAM{
			Type:   a.cfg.IPAMType,
			Config: a.cfg.Raw,
			Args:   a.args.Args,
			Path:   a.args.Path,
		},
		// Journalled before the file exists, so a crash after writing it
		// still leaves DEL its path.
		DeviceInfoFile: a.cfg.DeviceInfoFile,
		DeviceInfoRoot: a.cfg.DeviceInfoRoot,
	}
	if err := a.surveyDeviceInfo(); err != nil {
		return err
	}
	if err := a.surveyIB(); err != nil {
		return err
	}
	if err := a.surveyPF(); err != nil {
		return err
	}
	return a.planRDMA()
}

// surveyNetdev reads the VF netdev on the host and checks the pod has no
// interface of the name it will get.
func (a *attachment) surveyNetdev() (netdev.Attrs, error) {
	dev := a.dev
	orig, err := a.p.Links.Get(a.host, dev.Netdev)
	if err != nil {
		if errors.Is(err, netdev.ErrNotFound) {
			return orig, cniError(CodeDeviceBusy, "VF %s netdev %s is not in the host netns: another pod or plugin holds it", dev.Addr, dev.Netdev)
		}
		return orig, cniError(types.ErrInternal, "read VF %s netdev %s: %v", dev.Addr, dev.Netdev, err)
	}
	if _, err := a.p.Links.Get(a.pod, a.args.IfName); err == nil {
		return orig, cniError(types.ErrInvalidEnvironmentVariables, "CNI_IFNAME %q: an interface of that name already exists in the pod netns %s; choose another interface name", a.args.IfName, a.args.Netns)
	} else if !errors.Is(err, netdev.ErrNotFound) {
		return orig, cniError(types.ErrInternal, "look up %s in the pod netns: %v", a.args.IfName, err)
	}
	return orig, nil
}

// refuseForUserspace names what a userspace VF cannot take: there is no
// kernel netdev for an MTU and no kernel RDMA device to move.
func (a *attachment) refuseForUserspace() error {
	dev := a.dev
	if a.cfg.RDMA == config.RDMARequired {
		return cniError(CodeRDMAUnavailable, "rdma: required, but VF %s is bound to %s and has no kernel RDMA device; use rdma auto or off", dev.Addr, dev.Driver)
	}
	if a.cfg.GUID != nil || a.cfg.PKey != 0 {
		return cniError(types.ErrUnsupportedField, "guid/pkey: VF %s is bound to %s; InfiniBand GUIDs need its kernel driver", dev.Addr, dev.Driver)
	}
	if a.cfg.MTU != 0 {
		a.r.log.Info("mtu does not apply to a VF bound to a userspace driver; the application sets it", "driver", dev.Driver, "mtu", a.cfg.MTU)
	}
	return nil
}

// surveyPF reads the VF's PF-side settings and works out the ones ADD sets.
func (a *attachment) surveyPF() error {
	dev, asked := a.dev, a.cfg.VF
	var cur vf.State
	err := vf.ErrNoVFInfo
	if dev.PFNetdev != "" {
		cur, err = a.p.VFs.Get(dev.PFNetdev, dev.VFIndex)
	}
	if errors.Is(err, vf.ErrNoVFInfo) {
		// The pod-side MAC does not need the PF: it is set on the netdev.
		// A userspace VF has no netdev: its MAC can only come from the PF.
		if asked.MAC != nil && a.rec.Mode == state.ModeUserspace {
			return cniError(types.ErrUnsupportedField,
				"mac %s: VF %s is bound to %s and its PF %s (driver %s) reports no VF settings over netlink, so nothing can set its MAC; remove mac",
				asked.MAC, dev.Addr, dev.Driver, orEmpty(dev.PFNetdev), orEmpty(dev.PFDriver))
		}
		for _, s := range asked.WithoutUntagged().Asked() {
			if !s.NetdevToo {
				return cniError(types.ErrUnsupportedField,
					"%s %s: PF %s (driver %s) reports no VF settings over netlink, so VF %d of %s cannot take it; remove %q from the config or use a PF whose driver supports VF settings",
					s.Field, s.Value, orEmpty(dev.PFNetdev), orEmpty(dev.PFDriver), dev.VFIndex, dev.Addr, s.Field)
			}
		}
		a.r.log.Info("PF reports no VF settings over netlink; PF-side work skipped", "pf", dev.PFNetdev, "driver", dev.PFDriver)
		return nil
	}
	if err != nil {
		return cniError(types.ErrInternal, "read VF %d settings of PF %s: %v", dev.VFIndex, dev.PFNetdev, err)
	}
	want := asked.Want(cur)
	a.rec.Orig.VF = &cur
	a.rec.WantVF = &want
	return nil
}

func orEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// planRDMA decides, by policy, whether the VF's RDMA devices go to the pod.
func (a *attachment) planRDMA() error {
	a.rec.RDMA = state.RDMAOf(a.dev.RDMA)
	names := rdmaNames(a.rec.RDMA)
	a.r.fact("rdma", names)
	policy := a.cfg.RDMA
	if policy == config.RDMAOff {
		a.r.log.Info("rdma off: RDMA devices stay on the host", "rdmaDevices", names)
		return nil
	}
	if len(a.dev.RDMA) == 0 {
		reason := fmt.Sprintf("VF %s has no RDMA device (no infiniband/ entry under its PCI function, no rxe/siw device on %s)", a.dev.Addr, a.dev.Netdev)
		if policy == config.RDMARequired {
			return cniError(CodeRDMAUnavailable, "rdma: required, but %s", reason)
		}
		a.r.log.Info("RDMA skipped, attachment is netdev-only", "reason", reason)
		return nil
	}
	mode, err := a.p.RDMA.NetnsMode()
	if err != nil {
		reason := fmt.Sprintf("cannot read the RDMA netns mode: %v", err)
		if errors.Is(err, rdma.ErrNoRDMA) {
			reason = "this kernel has no RDMA subsystem (RDMA netlink unavailable: ib_core not loaded or not built)"
		}
		if policy == config.RDMARequired {
			return cniError(CodeRDMAUnavailable, "rdma: required, but %s, so RDMA device %s cannot be given to the pod", reason, names)
		}
		a.r.log.Warn("RDMA skipped, attachment is netdev-only", "reason", reason, "rdmaDevices", names)
		return nil
	}
	a.r.fact("rdmaNetnsMode", mode)
	a.rec.RDMAMode = mode
	if mode != rdma.ModeExclusive {
		reason := "the RDMA subsystem is in shared netns mode, where RDMA devices cannot be moved into a pod; switch the node to exclusive mode with `rdma system set netns exclusive` while no pod netns exists (e.g. at boot), or load ib_core with netns_mode=0"
		if policy == config.RDMARequired {
			return cniError(CodeRDMAUnavailable, "rdma: required, but %s", reason)
		}
		a.r.log.Warn("RDMA device not moved, attachment is netdev-only", "reason", reason, "rdmaDevices", names)
		return nil
	}
	a.rec.RDMAInPod = true
	// Verbs inside the pod also need the device's character devices, which
	// the device plugin mounts (isRdma: true); name them for whoever debugs
	// a pod that sees its device but cannot open it.
	var chars []string
	for _, d := range a.rec.RDMA {
		chars = append(chars, a.p.RDMA.CharDevices(d.Name)...)
	}
	a.r.log.Info("RDMA device goes to the pod", "rdmaDevices", names, "charDevices", strings.Join(chars, ","))
	return nil
}

func rdmaNames(ds []state.RDMADevice) string {
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return strings.Join(names, ",")
}

// surveyDeviceInfo records whether the device-info file is this
// attachment's to remove: a file the device plugin wrote first, which ADD
// merges into, is left for Multus, which removes it.
func (a *attachment) surveyDeviceInfo() error {
	if a.rec.DeviceInfoFile == "" {
		return nil
	}
	exists, err := a.deviceInfo().Exists()
	if err != nil {
		return cniError(types.ErrInvalidNetworkConfig, "runtimeConfig.CNIDeviceInfoFile: %v", err)
	}
	a.rec.DeviceInfoOwned = !exists
	return nil
}

func (a *attachment) deviceInfo() devinfo.File {
	return devinfo.File{Root: a.rec.DeviceInfoRoot, Path: a.rec.DeviceInfoFile}
}
