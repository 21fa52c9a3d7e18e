package sriovrdma

import (
	"slices"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
)

// chainPrev is the prevResult a plugin earlier in the chain handed ADD
// (config.Load parsed it at the netconf's version), in the library's
// newest form; nil when ADD runs first or alone. It is read before
// anything on the host changes, so a bad one costs nothing.
func chainPrev(cfg *config.Config) (*current.Result, error) {
	if cfg.Net.PrevResult == nil {
		return nil, nil
	}
	res, err := current.NewResultFromResult(cfg.Net.PrevResult)
	if err != nil {
		return nil, cniError(CodeInvalidConfig, "invalid prevResult: %v", err)
	}
	return res, nil
}

// chainResult is what ADD prints in a chain: every interface, address,
// route and DNS entry of prev as it was (its addresses keep their
// interfaces, whose indexes do not move), then ours appended, our
// addresses pointing at our interfaces' new indexes. Routes are the union
// of both. DNS keeps prev's entries first, in their order, and adds the
// nameservers, search domains and options of ours that prev lacks; prev's
// domain wins, ours fills it only when prev has none.
func chainResult(prev, own *current.Result) *current.Result {
	if prev == nil {
		return own
	}
	out := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	for _, itf := range prev.Interfaces {
		c := *itf
		out.Interfaces = append(out.Interfaces, &c)
	}
	offset := len(out.Interfaces)
	for _, itf := range own.Interfaces {
		c := *itf
		out.Interfaces = append(out.Interfaces, &c)
	}
	for _, ipc := range prev.IPs {
		out.IPs = append(out.IPs, ipc.Copy())
	}
	for _, ipc := range own.IPs {
		c := ipc.Copy()
		if c.Interface != nil {
			c.Interface = current.Int(offset + *c.Interface)
		}
		out.IPs = append(out.IPs, c)
	}
	for _, r := range prev.Routes {
		out.Routes = append(out.Routes, r.Copy())
	}
	for _, r := range own.Routes {
		if !slices.ContainsFunc(out.Routes, func(have *types.Route) bool { return sameRoute(have, r) }) {
			out.Routes = append(out.Routes, r.Copy())
		}
	}
	out.DNS = mergeDNS(prev.DNS, own.DNS)
	return out
}

func sameRoute(a, b *types.Route) bool {
	return a.Dst.String() == b.Dst.String() && a.GW.Equal(b.GW) && a.MTU == b.MTU && a.AdvMSS == b.AdvMSS &&
		a.Priority == b.Priority && sameInt(a.Table, b.Table) && sameInt(a.Scope, b.Scope)
}

func sameInt(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// mergeDNS: the resolver reads nameservers in order, so those a plugin
// earlier in the chain configured stay first.
func mergeDNS(prev, own types.DNS) types.DNS {
	out := *prev.Copy()
	if out.Domain == "" {
		out.Domain = own.Domain
	}
	out.Nameservers = appendMissing(out.Nameservers, own.Nameservers)
	out.Search = appendMissing(out.Search, own.Search)
	out.Options = appendMissing(out.Options, own.Options)
	return out
}

func appendMissing(to, from []string) []string {
	for _, s := range from {
		if !slices.Contains(to, s) {
			to = append(to, s)
		}
	}
	return to
}
