package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
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

// startIPAM runs IPAM ADD in the background: the exec and the plugin's
// work overlap the kernel's namespace moves. Its undo (IPAM DEL) waits for
// it to finish.
func (a *attachment) startIPAM() func() (*current.Result, error) {
	if a.cfg.IPAMType == "" {
		return func() (*current.Result, error) {
			return &current.Result{CNIVersion: current.ImplementedSpecVersion}, nil
		}
	}
	call := ipamCall(a.rec, a.args.Netns)
	type out struct {
		res types.Result
		err error
	}
	ch := make(chan out, 1)
	var once sync.Once
	var got out
	wait := func() out {
		once.Do(func() { got = <-ch })
		return got
	}
	a.undo.items = append(a.undo.items, undoItem{"ipam", func() error {
		wait()
		return a.p.IPAM.Del(context.Background(), call)
	}})
	a.p.fault("add:ipam")
	go func() {
		res, err := a.p.IPAM.Add(context.Background(), call)
		ch <- out{res, err}
	}()
	return func() (*current.Result, error) {
		o := wait()
		a.r.mark("ipam-wait")
		if o.err != nil {
			return nil, fmt.Errorf("ipam %s: %w", a.cfg.IPAMType, o.err)
		}
		res, err := current.NewResultFromResult(o.res)
		if err != nil {
			return nil, fmt.Errorf("ipam %s: convert result: %w", a.cfg.IPAMType, err)
		}
		return res, nil
	}
}

func ipamCall(rec *state.Record, netns string) ipam.Call {
	return ipam.Call{
		Type:        rec.IPAM.Type,
		Conf:        rec.IPAM.Config,
		ContainerID: rec.ContainerID,
		Netns:       netns,
		IfName:      rec.IfName,
		Args:        rec.IPAM.Args,
		Path:        rec.IPAM.Path,
	}
}

// setVFMAC gives the VF netdev the pod's MAC from the VF's own side, while
// it is still on the host and before the PF's settings. Drivers such as igb
// refuse a VF's own MAC change once the PF has set an administrative MAC
// (even to the same value) unless the VF is trusted; written in this order,
// the PF already reports the VF's MAC as asked and applyPF does not set it
// again, so the pod's MAC needs neither trust nor a driver reload.
func (a *attachment) setVFMAC() error {
	if a.rec.Mode == state.ModeUserspace || a.cfg.MAC == nil || strings.EqualFold(a.cfg.MAC.String(), a.rec.Orig.MAC) {
		return nil
	}
	return a.p.Links.SetMAC(a.host, a.hostNetdev, a.cfg.MAC)
}

// restoreVFMAC puts the original MAC back on the VF netdev while it is on
// the host; once it has moved, the netdev's return home restores it.
func (a *attachment) restoreVFMAC() error {
	l, err := a.p.Links.Get(a.host, a.hostNetdev)
	if errors.Is(err, netdev.ErrNotFound) || (err == nil && !isOurs(l, a.rec)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s on the host: %w", a.hostNetdev, err)
	}
	return a.p.restoreLinkAttrs(a.host, a.hostNetdev, a.rec)
}

// applyPF sets the PF-side settings; a refusal names the setting and the
// driver. The VF's state is read again first: setVFMAC may have changed the
// MAC the PF reports.
func (a *attachment) applyPF() error {
	if a.rec.WantVF == nil {
		return nil
	}
	cur := *a.rec.Orig.VF
	if a.cfg.MAC != nil {
		live, err := a.p.VFs.Get(a.rec.PFNetdev, a.rec.VFIndex)
		if err != nil {
			return fmt.Errorf("read VF %d of PF %s: %w", a.rec.VFIndex, a.rec.PFNetdev, err)
		}
		cur = live
	}
	err := vf.Apply(a.p.VFs, a.rec.PFNetdev, a.rec.VFIndex, cur, *a.rec.WantVF)
	var se *vf.SettingError
	if errors.As(err, &se) {
		code := types.ErrInternal
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) {
			code = types.ErrUnsupportedField
		}
		return cniError(code, "VF %d of PF %s (driver %s) refused %s %s: %v", a.rec.VFIndex, a.rec.PFNetdev, orEmpty(a.rec.PFDriver), se.Setting, se.Value, se.Err)
	}
	return err
}

// restorePF undoes the PF-side settings. The VF's own MAC goes back first,
// while the PF still holds no administrative MAC: then the PF already
// reports the original MAC and sets none, which on igb would lock the VF
// out of its own MAC (see setVFMAC).
func (a *attachment) restorePF() error {
	return errors.Join(a.restoreVFMAC(), a.p.restorePF(a.r, a.rec))
}

// rdmaToPod moves hardware RDMA devices into the pod before the netdev: on
// InfiniBand, moving the RDMA device re-creates the IPoIB netdev.
func (a *attachment) rdmaToPod() error {
	if !a.rec.RDMAInPod {
		return nil
	}
	for _, d := range a.rec.RDMA {
		if d.Kind.ReCreated() {
			continue
		}
		if err := a.p.RDMA.Move(d.Name, a.host, a.pod); err != nil {
			return fmt.Errorf("move RDMA device %s into the pod: %w", d.Name, err)
		}
	}
	return nil
}

func (a *attachment) rdmaHome() error {
	return a.p.hardRDMAHome(a.r, a.rec, a.host, a.pod)
}

// netdevToPod moves the VF netdev into the pod and renames it in one
// request. The link is then known by the index the kernel reports, not by
// the name asked for: a name the kernel did not keep fails ADD, and the
// rollback finds the VF by that index.
func (a *attachment) netdevToPod() error {
	if a.rec.Mode == state.ModeUserspace {
		return nil
	}
	moved, err := a.p.Links.MoveRename(a.host, a.hostNetdev, a.pod, a.args.IfName)
	if err != nil {
		return err
	}
	a.rec.PodIfIndex = moved.Index
	if moved.Name != a.args.IfName {
		return fmt.Errorf("the kernel named VF netdev %s %q in the pod, not %q as asked", a.hostNetdev, moved.Name, a.args.IfName)
	}
	return nil
}

func (a *attachment) netdevHome() error {
	return a.p.netdevHome(a.r, a.rec, a.host, a.pod, 0)
}

// softRDMAInPod re-creates a software RDMA device on the VF, now in the pod:
// the kernel destroyed it when its netdev left the host. The kernel
// registers the new device in the initial namespace, so it is moved after.
func (a *attachment) softRDMAInPod() error {
	if !a.rec.RDMAInPod {
		return nil
	}
	for _, d := range a.rec.RDMA {
		if !d.Kind.ReCreated() {
			continue
		}
		if err := a.p.RDMA.AddSoft(a.pod, d.Name, d.Type, a.args.IfName); err != nil {
			return fmt.Errorf("re-create %s device %s on %s: %w", d.Type, d.Name, a.args.IfName, err)
		}
		err := a.p.RDMA.Move(d.Name, a.host, a.pod)
		if errors.Is(err, rdma.ErrMoveUnsupported) && a.cfg.RDMA == config.RDMAAuto {
			a.r.log.Warn("RDMA skipped, attachment is netdev-only", "reason",
				fmt.Sprintf("this kernel cannot move %s device %s between namespaces (%v)", d.Type, d.Name, err))
			if derr := a.p.RDMA.DelSoft(a.host, d.Name); derr != nil {
				return fmt.Errorf("drop unmovable %s: %w", d.Name, derr)
			}
			a.rec.RDMAInPod = false
			return nil
		}
		if errors.Is(err, rdma.ErrMoveUnsupported) {
			return cniError(CodeRDMAUnavailable, "rdma: required, but this kernel cannot move %s device %s into the pod: %v", d.Type, d.Name, err)
		}
		if err != nil {
			return fmt.Errorf("move RDMA device %s into the pod: %w", d.Name, err)
		}
	}
	return nil
}

func (a *attachment) softRDMAOutOfPod() error {
	return a.p.softRDMAOut(a.rec, a.pod)
}

// setLinkAttrs gives the netdev the configured MAC and MTU while it is
// still down after the move. Its undo is the netdev's return home, which
// puts both back.
func (a *attachment) setLinkAttrs() error {
	if a.rec.Mode == state.ModeUserspace {
		return nil
	}
	name := a.args.IfName
	if a.cfg.MAC != nil {
		// Usually set already on the host (setVFMAC); a driver that
		// resets it on the move, or a PF whose admin MAC the netdev only
		// takes at probe, leaves it to set here.
		l, err := a.p.Links.Get(a.pod, name)
		if err != nil {
			return fmt.Errorf("read %s in the pod: %w", name, err)
		}
		if !strings.EqualFold(a.cfg.MAC.String(), l.MAC) {
			if err := a.p.Links.SetMAC(a.pod, name, a.cfg.MAC); err != nil {
				return err
			}
		}
	}
	if a.cfg.MTU != 0 && a.cfg.MTU != a.rec.Orig.MTU {
		if err := a.p.Links.SetMTU(a.pod, name, a.cfg.MTU); err != nil {
			return err
		}
	}
	return nil
}

// configureAddresses puts IPAM's addresses and routes on the interface and
// brings it up, which makes the kernel announce them; with no address the
// interface is just brought up.
func (a *attachment) configureAddresses(res *current.Result) error {
	if a.rec.Mode == state.ModeUserspace {
		// No kernel interface: the addresses are reported for the
		// application (DPDK) to use, not set.
		return nil
	}
	if len(res.IPs) == 0 {
		return a.p.Links.SetUp(a.pod, a.args.IfName, true)
	}
	return a.p.Addr.Configure(a.pod, a.args.IfName, res)
}

// podResult is this attachment's part of the CNI result: one interface,
// the VF in the pod as it now is, with every IPAM address pointing at it.
// It is what the addresses are configured from and the journal records;
// chainResult puts it after a prevResult.
func (a *attachment) podResult(ipamRes *current.Result) (*current.Result, error) {
	itf := &current.Interface{Name: a.args.IfName, Sandbox: a.args.Netns, PciID: a.dev.Addr}
	if a.rec.Mode == state.ModeUserspace {
		// The VF's MAC is its admin MAC on the PF.
		if a.rec.WantVF != nil {
			itf.Mac = a.rec.WantVF.MAC
		}
	} else {
		l, err := a.p.Links.Get(a.pod, a.args.IfName)
		if err != nil {
			return nil, fmt.Errorf("read %s in the pod: %w", a.args.IfName, err)
		}
		a.rec.PodIfIndex = l.Index
		itf.Mac, itf.Mtu = l.MAC, l.MTU
	}
	res := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{itf},
		Routes:     ipamRes.Routes,
		DNS:        ipamRes.DNS,
	}
	for _, ipc := range ipamRes.IPs {
		c := *ipc
		c.Interface = current.Int(0)
		res.IPs = append(res.IPs, &c)
	}
	return res, nil
}

// podRDMADevice is the RDMA device the pod can use: moved into it
// (exclusive mode) or visible from it (shared mode); "" for none.
func podRDMADevice(rec *state.Record) string {
	if len(rec.RDMA) == 0 || (!rec.RDMAInPod && rec.RDMAMode != rdma.ModeShared) {
		return ""
	}
	return rec.RDMA[0].Name
}

// findRoCEv2GID finds the RoCE v2 GID that carries the pod's address, the
// one NCCL must use (NCCL_IB_GID_INDEX), waiting briefly for the kernel to
// add it. An Ethernet VF whose RDMA device never shows one cannot carry
// RoCE v2 traffic: that fails rdma: required and is logged otherwise.
func (a *attachment) findRoCEv2GID(res *current.Result) error {
	dev := podRDMADevice(a.rec)
	if dev == "" || a.rec.LinkType != "ether" || len(res.IPs) == 0 || a.cfg.RDMA == config.RDMAOff {
		return nil
	}
	ips := make([]net.IP, 0, len(res.IPs))
	for _, ipc := range res.IPs {
		ips = append(ips, ipc.Address.IP)
	}
	in := a.pod
	if !a.rec.RDMAInPod {
		in = a.host // shared mode: the device lives in the initial namespace
	}
	idx, err := a.p.RDMA.RoCEv2GIDIndex(in, dev, ips, a.p.GIDWait)
	if err != nil {
		if a.cfg.RDMA == config.RDMARequired {
			return cniError(CodeRDMAUnavailable, "rdma: required, but %v within %s; confirm the NIC has RoCE v2 enabled", err, a.p.GIDWait)
		}
		a.r.log.Warn("no RoCE v2 GID for the pod's address; confirm the NIC has RoCE v2 enabled", "rdma", dev, "error", err)
		return nil
	}
	a.rec.RoCEv2GID = &idx
	a.r.fact("roceV2GIDIndex", idx)
	a.r.log.Info("RoCE v2 GID for the pod's address", "rdma", dev, "gidIndex", idx)
	return nil
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

// writeDeviceInfo writes the device-info file Multus asked for.
func (a *attachment) writeDeviceInfo() error {
	if a.rec.DeviceInfoFile == "" {
		return nil
	}
	return a.deviceInfo().Write(devinfo.PCI{
		PCIAddress:     a.rec.DeviceID,
		RDMADevice:     podRDMADevice(a.rec),
		PFPCIAddress:   a.rec.PFAddr,
		RoCEv2GIDIndex: a.rec.RoCEv2GID,
	})
}

func (a *attachment) removeDeviceInfo() error {
	return removeDeviceInfo(a.rec)
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
