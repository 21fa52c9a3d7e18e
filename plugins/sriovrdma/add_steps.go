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
	a.undo.push("ipam", func() error {
		wait()
		return a.p.IPAM.Del(context.Background(), call)
	})
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

// restoreMACAndPF undoes the PF-side settings. The VF's own MAC goes back first,
// while the PF still holds no administrative MAC: then the PF already
// reports the original MAC and sets none, which on igb would lock the VF
// out of its own MAC (see setVFMAC).
func (a *attachment) restoreMACAndPF() error {
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

func (a *attachment) hardRDMAHome() error {
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

func (a *attachment) softRDMAOut() error {
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
