package sriovrdma

import (
	"context"
	"encoding/json"
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
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Check compares the live attachment with what is expected of it: the
// netdev's MAC, MTU and addresses with the chain's final result
// (prevResult), which plugins after this one may have changed; the
// netdev's identity, the RDMA devices in the pod and the PF-side settings,
// which no other plugin touches, with the journal. Then it asks IPAM to
// check its side.
func (p *Plugin) Check(args *skel.CmdArgs) (err error) {
	r := p.begin("CHECK", args)
	defer func() { err = r.finish(err) }()

	cfg, err := config.LoadWith(args.StdinData, args.Args, p.Options)
	if err != nil {
		return err
	}
	r.useConfig(cfg, p.NodeErr)
	prev, err := prevResult(cfg)
	if err != nil {
		return err
	}
	// A pod whose netns is gone is a container that does not exist (3),
	// whatever its journal says.
	pod, err := openNetns(args.Netns)
	if err != nil {
		return err
	}
	defer func() { _ = pod.Close() }()
	store := state.Store{Dir: cfg.StateDir, Root: cfg.StateRoot}
	rec, err := store.Read(args.ContainerID, args.IfName)
	if err != nil {
		return cniError(types.ErrInternal, "no attachment of container %s interface %s is recorded in %s: %v", args.ContainerID, args.IfName, cfg.StateDir, err)
	}
	if rec.Phase != state.PhaseCommitted {
		return cniError(types.ErrInternal, "attachment %s is not complete (phase %s)", rec.Key(), rec.Phase)
	}

	var problems []string
	if rec.Mode != state.ModeUserspace {
		problems = append(problems, p.checkNetdev(r, pod, args.IfName, rec, prev, cfg)...)
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

// checkNetdev compares the VF in the pod with what the chain's final
// result (prevResult) says of it: a plugin after this one may have changed
// its MAC, MTU or addresses and reported it, and CHECK must allow for that.
// The config's mac is the expectation only where prevResult has none.
func (p *Plugin) checkNetdev(r *run, pod ns.NetNS, ifName string, rec *state.Record, prev *current.Result, cfg *config.Config) []string {
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
	want := &current.Interface{}
	if idx < 0 {
		out = append(out, fmt.Sprintf("prevResult has no interface %s", ifName))
	} else {
		want = prev.Interfaces[idx]
	}
	switch {
	case want.Mac != "" && !strings.EqualFold(want.Mac, l.MAC):
		out = append(out, fmt.Sprintf("MAC of %s is %s, expected %s (prevResult)", ifName, l.MAC, strings.ToLower(want.Mac)))
	case want.Mac == "" && cfg.MAC != nil && !strings.EqualFold(cfg.MAC.String(), l.MAC):
		out = append(out, fmt.Sprintf("MAC of %s is %s, expected %s (config)", ifName, l.MAC, cfg.MAC))
	}
	out = append(out, checkMTU(r, ifName, l.MTU, want.Mtu, reportedMTU(rec), cfg.MTU)...)
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
		// An address without an interface index is ours only when ours is
		// the only interface the result has.
		if ipc.Interface == nil && len(prev.Interfaces) > 1 || ipc.Interface != nil && *ipc.Interface != idx {
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

// checkMTU holds the interface to an MTU only a later plugin reported:
// one in prevResult that differs from what ADD reported. An MTU that
// prevResult does not speak of, or only echoes from ADD, is not enforced,
// config's included, because a later plugin may set it without saying so
// (tuning v1.10.0 reports a MAC it sets but never an MTU, and results
// before 1.1.0 cannot carry one); the difference is logged.
func checkMTU(r *run, ifName string, live, inPrev, reported, configured int) []string {
	if inPrev != 0 && inPrev != reported {
		if live != inPrev {
			return []string{fmt.Sprintf("MTU of %s is %d, expected %d (prevResult)", ifName, live, inPrev)}
		}
		return nil
	}
	set := configured
	if set == 0 {
		set = reported
	}
	if set != 0 && live != set {
		r.log.Info("MTU differs from the one ADD set; a later plugin in the chain may have set it without reporting it",
			"ifname", ifName, "mtu", live, "addSet", set)
	}
	return nil
}

// reportedMTU is the MTU ADD reported for the attachment's interface, from
// the result the journal recorded at commit; 0 when unknown.
func reportedMTU(rec *state.Record) int {
	var res current.Result
	if len(rec.Result) == 0 || json.Unmarshal(rec.Result, &res) != nil {
		return 0
	}
	for _, itf := range res.Interfaces {
		if itf.Name == rec.IfName {
			return itf.Mtu
		}
	}
	return 0
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
			if d.Kind.ReCreated() {
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
