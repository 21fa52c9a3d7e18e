package sriovrdma

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

func mustCIDR(t *testing.T, s string) net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return *n
}

func TestChainResultKeepsPrevAndAppendsOurs(t *testing.T) {
	prev := &current.Result{
		CNIVersion: "1.1.0",
		Interfaces: []*current.Interface{{Name: "lo", Mac: "00:00:00:00:00:00", Sandbox: "/run/netns/p"}, {Name: "eth0", Sandbox: "/run/netns/p"}},
		IPs: []*current.IPConfig{
			{Interface: current.Int(0), Address: mustCIDR(t, "127.0.0.1/8")},
			{Interface: current.Int(1), Address: mustCIDR(t, "192.168.1.5/24")},
		},
		Routes: []*types.Route{{Dst: mustCIDR(t, "0.0.0.0/0"), GW: net.ParseIP("192.168.1.1")}},
		DNS:    types.DNS{Nameservers: []string{"10.0.0.10"}, Domain: "cluster.local", Search: []string{"ns.svc.cluster.local"}},
	}
	own := &current.Result{
		CNIVersion: "1.1.0",
		Interfaces: []*current.Interface{{Name: "net1", Mac: "02:00:00:00:00:01", Mtu: 1400, Sandbox: "/run/netns/p", PciID: "0000:01:10.0"}},
		IPs:        []*current.IPConfig{{Interface: current.Int(0), Address: mustCIDR(t, "10.9.0.2/24"), Gateway: net.ParseIP("10.9.0.1")}},
		Routes: []*types.Route{
			{Dst: mustCIDR(t, "10.10.0.0/16")},
			{Dst: mustCIDR(t, "0.0.0.0/0"), GW: net.ParseIP("192.168.1.1")}, // prev has it
		},
		DNS: types.DNS{Nameservers: []string{"10.9.0.53", "10.0.0.10"}, Domain: "rdma.local", Search: []string{"rdma.local"}, Options: []string{"ndots:2"}},
	}
	got := chainResult(prev, own)

	var names []string
	for _, itf := range got.Interfaces {
		names = append(names, itf.Name)
	}
	if !slices.Equal(names, []string{"lo", "eth0", "net1"}) {
		t.Errorf("interfaces %v, want lo eth0 net1", names)
	}
	if got.Interfaces[2].PciID != "0000:01:10.0" || got.Interfaces[2].Mtu != 1400 {
		t.Errorf("our interface lost its fields: %+v", got.Interfaces[2])
	}
	wantIPs := []string{"127.0.0.1/8@0", "192.168.1.5/24@1", "10.9.0.2/24@2"}
	var ips []string
	for _, ipc := range got.IPs {
		ips = append(ips, fmt.Sprintf("%s@%d", ipc.Address.String(), *ipc.Interface))
	}
	if !slices.Equal(ips, wantIPs) {
		t.Errorf("ips %v, want %v", ips, wantIPs)
	}
	var routes []string
	for _, r := range got.Routes {
		routes = append(routes, r.Dst.String())
	}
	if !slices.Equal(routes, []string{"0.0.0.0/0", "10.10.0.0/16"}) {
		t.Errorf("routes %v, want the union 0.0.0.0/0 10.10.0.0/16", routes)
	}
	wantDNS := types.DNS{
		Nameservers: []string{"10.0.0.10", "10.9.0.53"},
		Domain:      "cluster.local",
		Search:      []string{"ns.svc.cluster.local", "rdma.local"},
		Options:     []string{"ndots:2"},
	}
	if a, b := mustJSON(t, got.DNS), mustJSON(t, wantDNS); a != b {
		t.Errorf("dns %s, want %s", a, b)
	}
	// The inputs are not changed: own is what the journal records.
	if *own.IPs[0].Interface != 0 || len(prev.Interfaces) != 2 {
		t.Errorf("chainResult changed its inputs")
	}
	if chainResult(nil, own) != own {
		t.Errorf("without a prevResult the result is not ours alone")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ADD after another plugin: its prevResult comes out whole, ours after it,
// at the netconf's version; only IPAM's addresses go on the VF; the
// journal keeps our part; CHECK with the final result passes; DEL restores.
func TestAddAfterAnotherPluginKeepsItsResult(t *testing.T) {
	for _, tc := range []struct {
		version string
		prev    map[string]any
	}{
		{"1.1.0", map[string]any{
			"cniVersion": "1.1.0",
			"interfaces": []any{map[string]any{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": "SANDBOX"}},
			"ips":        []any{map[string]any{"interface": 0, "address": "127.0.0.1/8"}},
			"routes":     []any{map[string]any{"dst": "172.16.0.0/12"}},
			"dns":        map[string]any{"nameservers": []string{"10.0.0.10"}},
		}},
		{"0.4.0", map[string]any{
			"cniVersion": "0.4.0",
			"interfaces": []any{map[string]any{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": "SANDBOX"}},
			"ips":        []any{map[string]any{"version": "4", "interface": 0, "address": "127.0.0.1/8"}},
			"routes":     []any{map[string]any{"dst": "172.16.0.0/12"}},
			"dns":        map[string]any{"nameservers": []string{"10.0.0.10"}},
		}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1})
			before := n.snapshot()
			p := n.newPod("pod-a")
			tc.prev["interfaces"].([]any)[0].(map[string]any)["sandbox"] = p.ns.Path()
			conf := n.conf(0, map[string]any{"cniVersion": tc.version, "prevResult": tc.prev})
			n.stdout.Reset()
			if err := n.inHost(func() error { return n.p.Add(n.args(p, conf)) }); err != nil {
				t.Fatalf("ADD: %v", err)
			}
			var raw map[string]any
			if err := json.Unmarshal(n.stdout.Bytes(), &raw); err != nil {
				t.Fatalf("ADD printed %q: %v", n.stdout.String(), err)
			}
			if raw["cniVersion"] != tc.version {
				t.Errorf("result cniVersion %v, want %s", raw["cniVersion"], tc.version)
			}
			res := &current.Result{}
			if err := json.Unmarshal(n.stdout.Bytes(), res); err != nil {
				t.Fatal(err)
			}
			if len(res.Interfaces) != 2 || res.Interfaces[0].Name != "lo" || res.Interfaces[1].Name != "net1" {
				t.Fatalf("result interfaces %s, want lo then net1", mustJSON(t, res.Interfaces))
			}
			if len(res.IPs) != 2 || res.IPs[0].Address.String() != "127.0.0.1/8" || *res.IPs[0].Interface != 0 ||
				res.IPs[1].Address.String() != "10.9.0.2/24" || *res.IPs[1].Interface != 1 {
				t.Errorf("result ips %s, want lo's 127.0.0.1/8 at 0 and IPAM's 10.9.0.2/24 at 1", mustJSON(t, res.IPs))
			}
			if len(res.Routes) != 1 || res.Routes[0].Dst.String() != "172.16.0.0/12" {
				t.Errorf("result routes %s, want prevResult's", mustJSON(t, res.Routes))
			}
			if !slices.Equal(res.DNS.Nameservers, []string{"10.0.0.10"}) {
				t.Errorf("result dns %s, want prevResult's", mustJSON(t, res.DNS))
			}
			// Only IPAM's address is on the VF: prevResult's belong to lo.
			addrs, err := n.p.Addr.Addrs(p.ns, "net1")
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if a.IP.IsLoopback() {
					t.Errorf("net1 got prevResult's address %s", a.String())
				}
			}
			rec := journalOf(t, n, p)
			var mine current.Result
			if err := json.Unmarshal(rec.Result, &mine); err != nil || len(mine.Interfaces) != 1 || mine.Interfaces[0].Name != "net1" {
				t.Errorf("journal result %s, want only this attachment's interface", rec.Result)
			}
			if err := n.check(p, conf, res); err != nil {
				t.Errorf("CHECK with the chain's result: %v", err)
			}
			n.mustDel(p, conf)
			n.sameAs(before, "DEL did not restore the node")
		})
	}
}

func journalOf(t *testing.T, n *node, p *pod) *state.Record {
	t.Helper()
	rec, err := state.Store{Dir: n.stateDir}.Read(p.id, p.ifname)
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	return rec
}

// A prevResult that does not parse is refused before anything changes.
func TestAddRefusesABadPrevResult(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	conf := n.conf(0, map[string]any{"prevResult": map[string]any{"cniVersion": "1.1.0", "interfaces": "lo"}})
	n.refusedAdd(n.newPod("pod-a"), conf, CodeInvalidConfig, "prevResult")
}
