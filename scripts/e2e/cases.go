package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

// cases: the core ones first, then the spec in chains and the hardening
// cases (their own files). Each uses its own VFs, networks and pods,
// so one failing does not change what the next sees; the runner checks the
// node is back to its baseline after each.
var cases = slices.Concat([]tcase{
	{"add", "cnitool ADD of a NAD-shaped config puts the VF in the pod as asked", caseAdd},
	{"ping", "two pods on two VFs ping each other over their VF interfaces", casePing},
	{"check", "CHECK passes, then fails naming the MAC changed by hand", caseCheck},
	{"del", "DEL restores the VF and releases the IP; repeated DEL and DEL after the netns is gone succeed", caseDel},
	{"rdma", "rdma: required fails cleanly without RDMA; rdma: auto attaches netdev-only and logs why", caseRDMA},
	{"bad-input", "bad netconfs get CNI error JSON with the right code and leave the host untouched", caseBadInput},
	{"busy", "a VF in use by one pod is refused for a second pod; the first is unaffected", caseBusy},
	{"macvlan", "macvlan eth0 and sriov-rdma net1 in one pod both work; DEL of net1 leaves eth0", caseMacvlan},
	{"gc", "GC with one of two pods valid restores only the other; cnitool gc leaves nothing; STATUS", caseGC},
	{"versions", "cniVersion 0.4.0 and 1.0.0 configs both work, results converted", caseVersions},
	{"userspace", "a VF bound to vfio-pci (DPDK): addresses reported, no netdev moved, DEL releases", caseUserspace},
	{"prevresult", "ADD after another plugin passes its prevResult on (0.4.0, 1.0.0, 1.1.0), the VF appended", casePrevResult},
	{"check-chain", "CHECK allows a later plugin's MTU, reported or not; a change by hand still fails", caseCheckChain},
	{"version", "VERSION answers in the cniVersion it is asked in", caseVersion},
	{"error-objects", "error objects carry the netconf's cniVersion, else 1.1.0", caseErrorObjects},
	{"spec-codes", "codes below 100 only with the spec's meaning: a gone netns is 3, a bad one 4", caseSpecCodes},
	{"chain", "cnitool: loopback, sriov-rdma (mtu 1400), tuning (mtu 1300): all interfaces, CHECK passes, DEL restores", caseChain},
}, hardeningCases)

// 1. ADD the way Multus delegates: top-level deviceID and pciBusID, the
// pod's identity in CNI_ARGS, the MAC through runtimeConfig.
func caseAdd(t *T) {
	v := t.takeVF(anyVF)
	const mac, mtu = "02:e2:e2:00:00:01", 1400
	net := t.net("e2e-add", "1.0.0", v, map[string]any{
		"mtu": mtu, "capabilities": map[string]any{"mac": true},
	}, false)
	p := t.pod("add-pod")
	res := t.add(net, p, "net1", `{"mac":"`+mac+`"}`)

	if len(res.Interfaces) != 1 {
		t.Fatalf("result has %d interfaces, want 1: %v", len(res.Interfaces), res.raw)
	}
	itf := res.Interfaces[0]
	for _, c := range []struct{ what, got, want string }{
		{"name", itf.Name, "net1"},
		{"mac", strings.ToLower(itf.Mac), mac},
		{"mtu", fmt.Sprint(itf.Mtu), fmt.Sprint(mtu)},
		{"sandbox", itf.Sandbox, p.netns},
		{"pciID", itf.PciID, v.addr},
	} {
		if c.got != c.want {
			t.Errorf("result interface %s = %q, want %q", c.what, c.got, c.want)
		}
	}
	ip := res.ip()
	if ip == "" || !strings.HasPrefix(ip, "10.56.0.") {
		t.Fatalf("result has no host-local address in %s: %v", subnet, res.raw["ips"])
	}
	k := t.wantAttached(p, "net1", res)
	if !strings.EqualFold(k.MAC, mac) || k.MTU != mtu {
		t.Errorf("net1 in the pod has MAC %s MTU %d, want %s %d", k.MAC, k.MTU, mac, mtu)
	}
	t.hostLacks(v)
	t.journalExists(p, "net1", true)
	t.ipHeld(net, ip, true)
}

// 2. Two pods, two VFs, one network: they talk over the fabric bridge.
func casePing(t *T) {
	a, b := t.takeVF(anyVF), t.takeVF(anyVF)
	_, pa, pb, ra, rb := t.twoPods("e2e-ping", "1.0.0", a, b)
	t.wantAttached(pa, "net1", ra)
	t.wantAttached(pb, "net1", rb)
	if ra.ip() == "" || rb.ip() == "" || ra.ip() == rb.ip() {
		t.Fatalf("pods got addresses %q and %q", ra.ip(), rb.ip())
	}
	t.ping(pa, "net1", rb.ip())
	t.ping(pb, "net1", ra.ip())
}

// 3. CHECK compares the live interface with the journal and prevResult.
func caseCheck(t *T) {
	v := t.takeVF(anyVF)
	const mac, changed = "02:e2:e2:00:00:03", "02:e2:e2:00:00:33"
	net := t.net("e2e-check", "1.0.0", v, map[string]any{"mac": mac}, false)
	p := t.pod("check-pod")
	t.add(net, p, "net1", "")
	t.mustCNI("check", net, p, "net1", "")

	if err := t.ip("-n", p.name, "link", "set", "net1", "address", changed); err != nil {
		t.Fatalf("change the MAC by hand: %v", err)
	}
	r := t.cnitoolRun("check", net, p, "net1", "")
	if r.ok() {
		t.Fatalf("CHECK passed after the MAC of net1 changed to %s", changed)
	}
	t.wantOutput(r, fmt.Sprintf("MAC of net1 is %s, expected %s", changed, mac))
}

// 4. DEL puts back what ADD changed, and succeeds when nothing is left.
func caseDel(t *T) {
	v := t.takeVF(anyVF)
	net := t.net("e2e-del", "1.0.0", v, map[string]any{"mac": "02:e2:e2:00:00:04", "mtu": 9000}, false)

	p := t.pod("del-pod")
	res := t.add(net, p, "net1", "")
	ip := res.ip()
	t.ipHeld(net, ip, true)
	t.mustCNI("del", net, p, "net1", "")
	t.vfHome(v)
	t.ipHeld(net, ip, false)
	t.stateEmpty()
	t.podLacks(p, "net1")
	t.mustCNI("del", net, p, "net1", "") // a second DEL

	// The pod netns goes first; its veth "VF" dies with it (a real VF
	// would return to the host). DEL must still succeed and free the IP.
	p2 := t.pod("del-gone")
	res2 := t.add(net, p2, "net1", "")
	ip2 := res2.ip()
	t.journalExists(p2, "net1", true)
	if err := t.ip("netns", "del", p2.name); err != nil {
		t.Fatalf("delete pod netns: %v", err)
	}
	t.mustCNI("del", net, p2, "net1", "")
	t.ipHeld(net, ip2, false)
	t.stateEmpty()
	if err := t.recreateVF(v); err != nil {
		t.Fatalf("re-create the VF veth for the next cases: %v", err)
	}
}

// 5. RDMA policy on a VF with an RDMA device, on a kernel without RDMA.
func caseRDMA(t *T) {
	v := t.takeVF(vfWithRDMA)
	req := t.net("e2e-rdma-req", "1.0.0", v, map[string]any{"rdma": "required"}, false)
	p := t.pod("rdma-pod")

	r := t.cnitoolRun("add", req, p, "net1", "")
	if r.ok() {
		t.mustCNI("del", req, p, "net1", "")
		t.Fatalf("ADD with rdma: required succeeded on a kernel without RDMA")
	}
	t.wantOutput(r, "rdma: required, but this kernel has no RDMA subsystem")
	t.vfHome(v)
	t.noIPs(req)
	t.stateEmpty()
	t.podLacks(p, "net1")

	// The same through the plugin directly, for the CNI error code.
	conf, _ := json.Marshal(t.netconf(req, "1.0.0", v, map[string]any{"rdma": "required"}))
	d := t.pluginRun("ADD", conf, p.cid, p.netns, "net1", p.cniArgs())
	if e, err := parseError(d.stdout); d.ok() || err != nil {
		t.Errorf("direct ADD with rdma: required: %s (%v)", d, err)
	} else if e.Code != 100 || !strings.Contains(e.Msg, "RDMA") {
		t.Errorf("direct ADD with rdma: required: code %d msg %q, want code 100 naming RDMA", e.Code, e.Msg)
	}
	t.vfHome(v)
	t.noIPs(req)
	t.stateEmpty()

	auto := t.net("e2e-rdma-auto", "1.0.0", v, map[string]any{"rdma": "auto"}, false)
	res := t.add(auto, p, "net1", "")
	t.wantAttached(p, "net1", res)
	t.hostLacks(v)
	found := false
	for _, rec := range t.logRecords(auto) {
		reason := rec.str("reason")
		if rec.Msg == "RDMA skipped, attachment is netdev-only" && rec.Level == "WARN" &&
			strings.Contains(reason, "no RDMA subsystem") {
			found = true
		}
	}
	if !found {
		t.Errorf(`log %s has no WARN "RDMA skipped, attachment is netdev-only" with a reason naming "no RDMA subsystem"`, t.logFile(auto))
	}
}

// 6. Bad input, run as a runtime runs the plugin: error JSON on stdout.
func caseBadInput(t *T) {
	v := t.takeVF(anyVF)
	p := t.pod("bad-pod")
	conf := func(set map[string]any) []byte {
		b, _ := json.Marshal(t.netconf("e2e-bad", "1.0.0", v, set))
		return b
	}
	pf := pfAddr
	unknown := "0000:01:1f.6" // VF 63 of the PF: past sriov_numvfs
	inputs := []struct {
		name  string
		stdin []byte
		code  int
		subs  []string
	}{
		{"malformed JSON", []byte(`{"cniVersion": "1.0.0", "name": "e2e-bad", "type": `), 6, nil},
		{"missing deviceID", conf(map[string]any{"deviceID": nil, "pciBusID": nil}), 7, []string{"deviceID"}},
		{"deviceID ../../etc", conf(map[string]any{"deviceID": "../../etc", "pciBusID": nil}), 7, []string{"../../etc"}},
		{"a PF address", conf(map[string]any{"deviceID": pf, "pciBusID": nil}), 7, []string{pf}},
		{"an unknown VF", conf(map[string]any{"deviceID": unknown, "pciBusID": nil}), 7, []string{unknown}},
		{"vlan 5000", conf(map[string]any{"vlan": 5000}), 7, []string{"vlan", "5000"}},
		{"spoofchk maybe", conf(map[string]any{"spoofchk": "maybe"}), 7, []string{"spoofchk", "maybe"}},
		// Valid values, but the veth PF reports no VFs over netlink.
		{"vlan on a PF without VF support", conf(map[string]any{"vlan": 100}), 2, []string{"vlan", pfDriver}},
	}
	before := t.snapshot(p)
	for i, in := range inputs {
		cid := fmt.Sprintf("e2e-bad-%d", i)
		r := t.pluginRun("ADD", in.stdin, cid, p.netns, "net1", p.cniArgs())
		if r.ok() {
			t.Errorf("%s: ADD succeeded", in.name)
			// Undo it so the other inputs still see an untouched host.
			t.pluginRun("DEL", in.stdin, cid, p.netns, "net1", p.cniArgs())
			continue
		}
		if r.code <= 0 {
			t.Errorf("%s: %s", in.name, r)
		}
		e, err := parseError(r.stdout)
		if err != nil {
			t.Errorf("%s: %v", in.name, err)
			continue
		}
		if e.Code != in.code {
			t.Errorf("%s: code %d (%s), want %d", in.name, e.Code, e.Msg, in.code)
		}
		for _, s := range in.subs {
			if !strings.Contains(e.Msg, s) {
				t.Errorf("%s: message %q does not name %q", in.name, e.Msg, s)
			}
		}
		if after := t.snapshot(p); after != before {
			t.Errorf("%s changed the host:\nbefore %s\nafter  %s", in.name, before, after)
			before = after
		}
	}
}

// snapshot is what a failed ADD must not change: host and pod links with
// their MAC, MTU, state and addresses; stateDir; host-local's reservations.
func (t *T) snapshot(p *pod) string {
	var b strings.Builder
	for _, ns := range []string{"", p.name} {
		links, err := t.links(ns)
		if err != nil {
			return err.Error()
		}
		for _, n := range names(links) {
			k := links[n]
			fmt.Fprintf(&b, "%s/%s %s %d %v %v; ", ns, n, k.MAC, k.MTU, k.up(), k.ipv4())
		}
	}
	fmt.Fprintf(&b, "state %v; ips %v", stateFiles(t.stateDir), t.heldIPs(""))
	return b.String()
}

// 7. A VF another live pod holds is refused; a runtime's DEL for the
// refused pod leaves the holder alone.
func caseBusy(t *T) {
	v := t.takeVF(anyVF)
	net := t.net("e2e-busy", "1.0.0", v, nil, false)
	pa, pb := t.pod("busy-a"), t.pod("busy-b")
	ra := t.add(net, pa, "net1", "")
	before := t.wantAttached(pa, "net1", ra)

	r := t.cnitoolRun("add", net, pb, "net1", "")
	if r.ok() {
		t.mustCNI("del", net, pb, "net1", "")
		t.Fatalf("a second pod got VF %s, which busy-a holds", v.addr)
	}
	t.wantOutput(r, "busy", podNamespace+"/busy-a")
	d := t.pluginRun("ADD", mustJSON(t.netconf(net, "1.0.0", v, nil)), pb.cid, pb.netns, "net1", pb.cniArgs())
	if e, err := parseError(d.stdout); d.ok() || err != nil {
		t.Errorf("direct ADD of a busy VF: %s (%v)", d, err)
	} else if e.Code != 101 || !strings.Contains(e.Msg, "busy") {
		t.Errorf("direct ADD of a busy VF: code %d msg %q, want 101 naming busy", e.Code, e.Msg)
	}
	// kubelet sends DEL after a failed ADD.
	t.mustCNI("del", net, pb, "net1", "")
	t.podLacks(pb, "net1")

	after := t.wantAttached(pa, "net1", ra)
	if d := after.diff(before); len(d) > 0 {
		t.Errorf("busy-a's net1 changed: %s", strings.Join(d, ", "))
	}
	t.journalExists(pa, "net1", true)
	t.ipHeld(net, ra.ip(), true)
	t.mustCNI("check", net, pa, "net1", "")
	t.ping(pa, "net1", gatewayIP)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// 8. The dual-NIC pod: macvlan eth0 for management, the VF as net1.
func caseMacvlan(t *T) {
	v := t.takeVF(anyVF)
	p := t.pod("mv-pod")
	const eth0IP = "192.168.77.8/24"
	err := t.ipBatch("", []string{
		"link add mv-pod0 link " + mgmtParent + " type macvlan mode bridge",
		"link set mv-pod0 netns " + p.name,
	})
	if err == nil {
		err = t.ipBatch(p.name, []string{
			"link set mv-pod0 name eth0",
			"addr add " + eth0IP + " dev eth0",
			"link set eth0 up",
		})
	}
	if err != nil {
		t.Fatalf("make macvlan eth0: %v", err)
	}
	t.ping(p, "eth0", mgmtPeerIP)

	net := t.net("e2e-mv", "1.0.0", v, nil, false)
	res := t.add(net, p, "net1", "")
	eth0 := t.podLink(p, "eth0")
	t.wantAttached(p, "net1", res)
	t.ping(p, "eth0", mgmtPeerIP)
	t.ping(p, "net1", gatewayIP)

	t.mustCNI("del", net, p, "net1", "")
	t.podLacks(p, "net1")
	t.vfHome(v)
	after := t.podLink(p, "eth0")
	if d := after.diff(eth0); len(d) > 0 || !slices.Equal(after.ipv4(), eth0.ipv4()) {
		t.Errorf("eth0 changed by DEL of net1: %v, addresses %v -> %v", d, eth0.ipv4(), after.ipv4())
	}
	t.ping(p, "eth0", mgmtPeerIP)
}

// 9. GC. The valid-list GC goes through libcni with an empty result cache:
// with a cache libcni itself DELs every cached attachment missing from the
// list first, and the plugin's GC would find nothing left to do.
func caseGC(t *T) {
	a, b := t.takeVF(anyVF), t.takeVF(vfWithAuxRDMA)
	net, pa, pb, ra, rb := t.twoPods("e2e-gc", "1.1.0", a, b)
	// Another network sharing the state directory: this network's GC is
	// not its judge.
	c := t.takeVF(anyVF)
	other := t.net("e2e-gc-other", "1.1.0", c, sharedNet, true)
	pc := t.pod("gc-c")
	rc := t.add(other, pc, "net1", deviceCap(c))

	list, err := libcni.ConfListFromFile(filepath.Join(t.confDir, net, net+".conflist"))
	if err != nil {
		t.Fatalf("load %s: %v", net, err)
	}
	cache, err := os.MkdirTemp(t.work, "libcni-cache-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(t.cniPath), cache, nil)
	ctx, cancel := context.WithTimeout(t.ctx, cmdTimeout)
	defer cancel()
	err = cni.GCNetworkList(ctx, list, &libcni.GCArgs{
		ValidAttachments: []types.GCAttachment{{ContainerID: pa.cid, IfName: "net1"}},
	})
	if err != nil {
		t.Fatalf("GC with gc-a valid: %v", err)
	}
	// gc-a keeps everything.
	t.wantAttached(pa, "net1", ra)
	t.journalExists(pa, "net1", true)
	t.ipHeld(net, ra.ip(), true)
	// gc-b is restored.
	t.podLacks(pb, "net1")
	t.vfHome(b)
	t.journalExists(pb, "net1", false)
	t.ipHeld(net, rb.ip(), false)
	restored := false
	for _, rec := range t.logRecords(net) {
		if rec.Msg == "GC restored attachment" && rec.str("device") == b.addr {
			restored = true
		}
		if rec.Msg == "GC restored attachment" && rec.str("device") == a.addr {
			t.Errorf("the plugin's GC restored gc-a's VF %s, which was valid", a.addr)
		}
	}
	if !restored {
		t.Errorf(`the plugin's log has no "GC restored attachment" for %s`, b.addr)
	}

	// cnitool gc sends no valid list: everything goes.
	t.mustCNI("gc", net, pa, "", "")
	t.podLacks(pa, "net1")
	t.vfHome(a)
	t.noIPs(net)
	// Neither GC touched the other network's pod.
	t.wantAttached(pc, "net1", rc)
	t.mustCNI("del", other, pc, "net1", "")
	t.vfHome(c)
	t.stateEmpty()

	t.mustCNI("status", net, pa, "", "")
}

// 10. Older and newer results: the plugin converts to the config's version.
func caseVersions(t *T) {
	for _, c := range []struct {
		version string
		v       vfSpec
		list    bool
	}{{"0.4.0", t.takeVF(anyVF), false}, {"1.0.0", t.takeVF(anyVF), true}} {
		net := t.net("e2e-v"+strings.ReplaceAll(c.version, ".", ""), c.version, c.v, nil, c.list)
		p := t.pod("ver-" + strings.ReplaceAll(c.version, ".", ""))
		res := t.add(net, p, "net1", "")
		if res.CNIVersion != c.version {
			t.Errorf("%s: result cniVersion %q", c.version, res.CNIVersion)
		}
		if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "net1" {
			t.Errorf("%s: result interfaces %v", c.version, res.raw["interfaces"])
		}
		if len(res.IPs) == 0 {
			t.Fatalf("%s: result has no IPs: %v", c.version, res.raw)
		}
		rawIP, _ := res.raw["ips"].([]any)[0].(map[string]any)
		_, hasVersion := rawIP["version"]
		switch {
		case c.version == "0.4.0" && res.IPs[0].Version != "4":
			t.Errorf("0.4.0: ips[0].version = %q, want \"4\" (a 0.4.0 result)", res.IPs[0].Version)
		case c.version != "0.4.0" && hasVersion:
			t.Errorf("%s: ips[0] has a version field, as 0.x results do", c.version)
		}
		t.wantAttached(p, "net1", res)
		t.mustCNI("check", net, p, "net1", "")
		t.mustCNI("del", net, p, "net1", "")
		t.vfHome(c.v)
		t.ipHeld(net, res.ip(), false)
	}
	t.stateEmpty()
}

// 11. A VF bound to a userspace driver (vfio-pci, for DPDK) has no netdev:
// ADD journals it, runs IPAM and reports the address with the VF's PCI
// address; nothing enters the pod; DEL releases the address. The fixture
// PF is a veth with no VF settings, so no PF-side setting is asked for.
func caseUserspace(t *T) {
	if t.userspaceVF == "" {
		t.Fatalf("the node has no vfio-pci VF")
	}
	v := vfSpec{addr: t.userspaceVF}
	net := t.net("e2e-dpdk", "1.1.0", v, nil, true)
	p := t.pod("dpdk")
	res := t.add(net, p, "net1", "")
	if len(res.Interfaces) != 1 || res.Interfaces[0].PciID != v.addr || res.Interfaces[0].Sandbox != p.netns {
		t.Errorf("result interfaces %v, want one with pciID %s and sandbox %s", res.raw["interfaces"], v.addr, p.netns)
	}
	if len(res.IPs) != 1 {
		t.Fatalf("result IPs %v, want the host-local address", res.raw["ips"])
	}
	t.ipHeld(net, res.ip(), true)
	t.podLacks(p, "net1")
	t.journalExists(p, "net1", true)
	rec := t.journalRecord(p, "net1")
	if rec["mode"] != "userspace" {
		t.Errorf("journal mode %v, want userspace", rec["mode"])
	}
	t.mustCNI("check", net, p, "net1", "")
	t.mustCNI("del", net, p, "net1", "")
	t.ipHeld(net, res.ip(), false)
	t.journalExists(p, "net1", false)
	t.mustCNI("del", net, p, "net1", "")
	t.stateEmpty()
}

// journalRecord reads an attachment's journal as JSON.
func (t *T) journalRecord(p *pod, ifname string) map[string]any {
	b, err := os.ReadFile(t.journal(p, ifname))
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("journal is not JSON: %v", err)
	}
	return m
}
