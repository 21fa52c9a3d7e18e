package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Check compares the live attachment with the journal and prevResult: the
// netdev's name, MAC and MTU, its addresses, the RDMA devices in the pod and
// the PF-side settings; then asks IPAM to check its side.
func (p *Plugin) Check(args *skel.CmdArgs) (err error) {
	r := p.begin("CHECK", args)
	defer func() { err = r.finish(err) }()

	cfg, err := config.Load(args.StdinData, args.Args)
	if err != nil {
		return err
	}
	r.useConfig(cfg)
	prev, err := prevResult(cfg)
	if err != nil {
		return err
	}
	store := state.Store{Dir: cfg.StateDir}
	rec, err := store.Read(args.ContainerID, args.IfName)
	if err != nil {
		return cniError(types.ErrInternal, "no attachment of container %s interface %s is recorded in %s: %v", args.ContainerID, args.IfName, cfg.StateDir, err)
	}
	if rec.Phase != state.PhaseCommitted {
		return cniError(types.ErrInternal, "attachment %s is not complete (phase %s)", rec.Key(), rec.Phase)
	}
	pod, err := openNetns(args.Netns)
	if err != nil {
		return err
	}
	defer func() { _ = pod.Close() }()

	var problems []string
	if rec.Mode != state.ModeUserspace {
		problems = append(problems, p.checkNetdev(pod, args.IfName, rec, prev, cfg)...)
		problems = append(problems, p.checkRDMA(pod, rec)...)
	}
	problems = append(problems, p.checkPF(rec)...)
	r.mark("compare")
	if len(problems) > 0 {
		return cniError(types.ErrInternal, "check %s (%s): %s", args.IfName, rec.DeviceID, strings.Join(problems, "; "))
	}
	if cfg.IPAMType != "" {
		if err := p.IPAM.Check(context.Background(), ipam.Call{
			Type: cfg.IPAMType, Conf: cfg.Raw, ContainerID: args.ContainerID,
			Netns: args.Netns, IfName: args.IfName, Args: args.Args, Path: args.Path,
		}); err != nil {
			return fmt.Errorf("check %s: %w", args.IfName, err)
		}
		r.mark("ipam")
	}
	return nil
}

// prevResult is the result ADD returned, which config.Load has parsed.
func prevResult(cfg *config.Config) (*current.Result, error) {
	if cfg.Net.PrevResult == nil {
		return nil, cniError(types.ErrInvalidNetworkConfig, "prevResult: missing; CHECK needs the result ADD returned")
	}
	res, err := current.NewResultFromResult(cfg.Net.PrevResult)
	if err != nil {
		return nil, cniError(types.ErrDecodingFailure, "prevResult: %v", err)
	}
	return res, nil
}

func (p *Plugin) checkNetdev(pod ns.NetNS, ifName string, rec *state.Record, prev *current.Result, cfg *config.Config) []string {
	l, err := p.Links.Get(pod, ifName)
	if errors.Is(err, netdev.ErrNotFound) {
		return []string{fmt.Sprintf("interface %s is missing from the pod netns", ifName)}
	}
	if err != nil {
		return []string{fmt.Sprintf("read %s: %v", ifName, err)}
	}
	if !isOurs(l, rec) {
		return []string{fmt.Sprintf("interface %s is not VF %s", ifName, rec.DeviceID)}
	}
	var out []string
	idx := -1
	for i, itf := range prev.Interfaces {
		if itf.Name == ifName && (itf.Sandbox == "" || itf.Sandbox == rec.Netns) {
			idx = i
			break
		}
	}
	if idx < 0 {
		out = append(out, fmt.Sprintf("prevResult has no interface %s", ifName))
	} else {
		want := prev.Interfaces[idx]
		if want.Mac != "" && !strings.EqualFold(want.Mac, l.MAC) {
			out = append(out, fmt.Sprintf("MAC of %s is %s, expected %s", ifName, l.MAC, strings.ToLower(want.Mac)))
		}
		if want.Mtu != 0 && want.Mtu != l.MTU {
			out = append(out, fmt.Sprintf("MTU of %s is %d, expected %d", ifName, l.MTU, want.Mtu))
		}
	}
	if cfg.MTU != 0 && cfg.MTU != l.MTU {
		out = append(out, fmt.Sprintf("MTU of %s is %d, config asks %d", ifName, l.MTU, cfg.MTU))
	}
	if !l.Up {
		out = append(out, fmt.Sprintf("%s is down", ifName))
	}
	if rec.IB != nil && guidOf(l.MAC) != rec.IB.WantGUID {
		out = append(out, fmt.Sprintf("GUID of %s is %s, expected %s", ifName, orEmpty(guidOf(l.MAC)), rec.IB.WantGUID))
	}
	have, err := p.Addr.Addrs(pod, ifName)
	if err != nil {
		return append(out, fmt.Sprintf("read addresses of %s: %v", ifName, err))
	}
	for _, ipc := range prev.IPs {
		if ipc.Interface != nil && *ipc.Interface != idx {
			continue
		}
		found := false
		for _, h := range have {
			if h.IP.Equal(ipc.Address.IP) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("address %s is missing from %s", ipc.Address.String(), ifName))
		}
	}
	return out
}

func (p *Plugin) checkRDMA(pod ns.NetNS, rec *state.Record) []string {
	if !rec.RDMAInPod {
		return nil
	}
	var out []string
	for _, d := range rec.RDMA {
		ok, err := p.RDMA.Exists(pod, d.Name)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("look up RDMA device %s: %v", d.Name, err))
		case !ok:
			kind := "RDMA device"
			if d.Kind == string(pci.RDMASoftware) {
				kind = "software RDMA device"
			}
			out = append(out, fmt.Sprintf("%s %s is missing from the pod netns", kind, d.Name))
		}
	}
	return out
}

func (p *Plugin) checkPF(rec *state.Record) []string {
	if rec.WantVF == nil {
		return nil
	}
	live, err := p.VFs.Get(rec.PFNetdev, rec.VFIndex)
	if err != nil {
		return []string{fmt.Sprintf("read VF %d of %s: %v", rec.VFIndex, rec.PFNetdev, err)}
	}
	var out []string
	for _, m := range vf.Mismatches(live, *rec.WantVF) {
		out = append(out, fmt.Sprintf("VF %d of %s: %s", rec.VFIndex, rec.PFNetdev, m))
	}
	return out
}
