package main

// CNI spec conformance in chains, against SPEC 1.1.0 (and 0.4.0 where it
// differs): a prevResult passed on by ADD, CHECK after a later plugin,
// VERSION and error objects in the request's cniVersion, codes 0-99 only
// with their spec meaning. Each is driven the way a runtime drives the
// binary (the netconf on stdin, CNI_* in the environment), and `chain`
// runs a real conflist through cnitool: loopback, sriov-rdma, tuning.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// specOut is what a case needs to know of one direct invocation.
type specOut struct {
	result
	res *cniResult // on success of ADD
	err *cniError  // on failure
}

// direct runs the binary as a runtime does, for pod p, interface net1.
func (t *T) direct(verb string, conf map[string]any, p *pod) specOut {
	stdin, err := json.Marshal(conf)
	if err != nil {
		t.Fatalf("encode netconf: %v", err)
	}
	o := specOut{result: t.pluginRun(verb, stdin, p.cid, p.netns, "net1", p.cniArgs())}
	switch {
	case !o.ok():
		if o.err, err = parseError(o.stdout); err != nil {
			t.Errorf("%s: %v (%s)", verb, err, o.result)
		}
	case verb == "ADD":
		if o.res, err = parseResult(o.stdout); err != nil {
			t.Fatalf("ADD: %v", err)
		}
	}
	return o
}

// directAdd runs ADD, which must succeed, and registers its DEL.
func (t *T) directAdd(conf map[string]any, p *pod) *cniResult {
	o := t.direct("ADD", conf, p)
	if !o.ok() {
		t.Fatalf("ADD: %s", o.result)
	}
	t.Cleanup(func() {
		del := maps.Clone(conf)
		delete(del, "prevResult")
		if o := t.direct("DEL", del, p); !o.ok() {
			t.Errorf("cleanup DEL: %s", o.result)
		}
	})
	return o.res
}

// loopbackResult is the result loopback v1.10.0 gives for pod p, the
// plugin a prevResult most often comes from.
func loopbackResult(version string, p *pod) map[string]any {
	ip := map[string]any{"interface": 0, "address": "127.0.0.1/8"}
	if strings.HasPrefix(version, "0.") {
		ip["version"] = "4"
	}
	return map[string]any{
		"cniVersion": version,
		"interfaces": []any{map[string]any{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": p.netns}},
		"ips":        []any{ip},
		"routes":     []any{map[string]any{"dst": "172.16.0.0/12"}},
		"dns":        map[string]any{"nameservers": []string{"10.96.0.10"}, "search": []string{"e2e.svc.cluster.local"}},
	}
}

// 1. ADD after another plugin prints the prevResult it was given, at the
// netconf's version, with the VF appended and its address at its index.
func casePrevResult(t *T) {
	v := t.takeVF(anyVF)
	for _, version := range []string{"0.4.0", "1.0.0", "1.1.0"} {
		p := t.pod("prev-" + strings.ReplaceAll(version, ".", ""))
		conf := t.netconf("e2e-prev", version, v, map[string]any{"prevResult": loopbackResult(version, p)})
		res := t.directAdd(conf, p)
		if res.CNIVersion != version {
			t.Errorf("%s: result cniVersion %q", version, res.CNIVersion)
		}
		var names []string
		for _, itf := range res.Interfaces {
			names = append(names, itf.Name)
		}
		if !slices.Equal(names, []string{"lo", "net1"}) {
			t.Fatalf("%s: result interfaces %v, want lo (prevResult) then net1: %v", version, names, res.raw["interfaces"])
		}
		if res.Interfaces[1].PciID != v.addr && version == "1.1.0" {
			t.Errorf("%s: net1 pciID %q, want %s", version, res.Interfaces[1].PciID, v.addr)
		}
		var ips []string
		for _, ipc := range res.IPs {
			at := -1
			if ipc.Interface != nil {
				at = *ipc.Interface
			}
			ips = append(ips, fmt.Sprintf("%s@%d", ipc.Address, at))
		}
		if len(ips) != 2 || ips[0] != "127.0.0.1/8@0" || !strings.HasPrefix(ips[1], "10.56.0.") || !strings.HasSuffix(ips[1], "@1") {
			t.Errorf("%s: result ips %v, want 127.0.0.1/8 at 0 (prevResult) and host-local's at 1", version, ips)
		}
		routes, _ := res.raw["routes"].([]any)
		dns, _ := res.raw["dns"].(map[string]any)
		if len(routes) != 1 || fmt.Sprint(dns["nameservers"]) != "[10.96.0.10]" {
			t.Errorf("%s: routes %v, dns %v: want prevResult's kept", version, res.raw["routes"], res.raw["dns"])
		}
		// Only host-local's address goes on the VF.
		k := t.podLink(p, "net1")
		if got := k.ipv4(); len(got) != 1 || got[0] != res.IPs[1].Address {
			t.Errorf("%s: net1 has %v, want only %s", version, got, res.IPs[1].Address)
		}
		d := t.direct("DEL", conf, p)
		if !d.ok() {
			t.Fatalf("%s: DEL: %s", version, d.result)
		}
		t.vfHome(v)
		t.ipHeld("e2e-prev", res.lastIP(), false)
		t.stateEmpty()
	}
}

// 2. CHECK with the chain's final result: a later plugin's MTU, reported or
// not, is allowed; a reported one undone by hand, or a MAC changed by hand,
// is not.
func caseCheckChain(t *T) {
	v := t.takeVF(anyVF)
	p := t.pod("checkchain")
	conf := t.netconf("e2e-checkchain", "1.1.0", v, map[string]any{"mtu": 1400})
	add := t.directAdd(conf, p)
	// prevResult is ADD's result as a later plugin would pass it on, with
	// net1's MTU as that plugin reported it.
	withPrev := func(mtu int) map[string]any {
		var prev map[string]any
		if err := json.Unmarshal(mustJSON(add.raw), &prev); err != nil {
			t.Fatalf("%v", err)
		}
		prev["interfaces"].([]any)[0].(map[string]any)["mtu"] = mtu
		c := maps.Clone(conf)
		c["prevResult"] = prev
		return c
	}
	mtu := func(n int) {
		if err := t.ip("-n", p.name, "link", "set", "net1", "mtu", fmt.Sprint(n)); err != nil {
			t.Fatalf("set MTU by hand: %v", err)
		}
	}
	mtu(1300) // a later plugin's
	for _, c := range []struct {
		what string
		prev int
	}{{"reported by the later plugin", 1300}, {"not reported (tuning v1.10.0)", 1400}} {
		if o := t.direct("CHECK", withPrev(c.prev), p); !o.ok() {
			t.Errorf("CHECK, config mtu 1400, MTU 1300 %s: %s", c.what, o.result)
		}
	}
	mtu(1400) // the later plugin's change undone by hand
	o := t.direct("CHECK", withPrev(1300), p)
	if o.ok() || o.err == nil || o.err.Code != 999 || !strings.Contains(o.err.Msg, "MTU of net1 is 1400, expected 1300 (prevResult)") {
		t.Errorf("CHECK after the reported MTU was undone: %s, want code 999 naming the MTU", o.result)
	}
	if err := t.ip("-n", p.name, "link", "set", "net1", "address", "02:e2:e2:00:00:77"); err != nil {
		t.Fatalf("change the MAC by hand: %v", err)
	}
	o = t.direct("CHECK", withPrev(1400), p)
	if o.ok() || o.err == nil || !strings.Contains(o.err.Msg, "MAC of net1 is 02:e2:e2:00:00:77") {
		t.Errorf("CHECK after the MAC changed by hand: %s, want it named", o.result)
	}
}

// 3. VERSION answers in the cniVersion it was asked in.
func caseVersion(t *T) {
	for _, c := range []struct{ stdin, want string }{
		{`{"cniVersion":"0.4.0"}`, "0.4.0"},
		{`{"cniVersion":"1.0.0"}`, "1.0.0"},
		{`{"cniVersion":"1.1.0"}`, "1.1.0"},
		{``, "1.1.0"},
		{`{"cniVersion":"not-a-version"}`, "1.1.0"},
	} {
		r := t.run([]string{"CNI_COMMAND=VERSION"}, []byte(c.stdin), t.plugin)
		var got struct {
			CNIVersion        string   `json:"cniVersion"`
			SupportedVersions []string `json:"supportedVersions"`
		}
		if !r.ok() || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Errorf("VERSION with %q: %s", c.stdin, r)
			continue
		}
		if got.CNIVersion != c.want || !slices.Equal(got.SupportedVersions, []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
			t.Errorf("VERSION with %q: %+v, want cniVersion %s and 0.3.0 to 1.1.0", c.stdin, got, c.want)
		}
	}
}

// 4. Error objects carry cniVersion: the netconf's, else 1.1.0.
func caseErrorObjects(t *T) {
	v := t.takeVF(anyVF)
	p := t.pod("errobj")
	for _, c := range []struct {
		what    string
		stdin   []byte
		env     map[string]string
		version string
		code    int
	}{
		{"0.4.0, bad vlan", mustJSON(t.netconf("e2e-err", "0.4.0", v, map[string]any{"vlan": 5000})), nil, "0.4.0", 7},
		{"1.0.0, CNI_IFNAME unset", mustJSON(t.netconf("e2e-err", "1.0.0", v, nil)), map[string]string{"CNI_IFNAME": ""}, "1.0.0", 4},
		{"0.3.1, unknown CNI_COMMAND", mustJSON(t.netconf("e2e-err", "0.3.1", v, nil)), map[string]string{"CNI_COMMAND": "ATTACH"}, "0.3.1", 4},
		{"unsupported cniVersion 0.2.0", mustJSON(t.netconf("e2e-err", "0.2.0", v, nil)), nil, "1.1.0", 1},
		{"not JSON", []byte(`{"cniVersion": "0.4.0", `), nil, "1.1.0", 6},
	} {
		vars := map[string]string{
			"CNI_COMMAND": "ADD", "CNI_CONTAINERID": p.cid, "CNI_NETNS": p.netns,
			"CNI_IFNAME": "net1", "CNI_ARGS": p.cniArgs(), "CNI_PATH": t.cniPath,
		}
		maps.Copy(vars, c.env)
		var env []string
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if vars[k] != "" {
				env = append(env, k+"="+vars[k])
			}
		}
		r := t.run(env, c.stdin, t.plugin)
		var got cniError
		if r.ok() || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Errorf("%s: %s, want an error object", c.what, r)
			continue
		}
		if got.CNIVersion != c.version || got.Code != c.code {
			t.Errorf("%s: cniVersion %q code %d (%s), want cniVersion %q code %d", c.what, got.CNIVersion, got.Code, got.Msg, c.version, c.code)
		}
	}
	t.stateEmpty()
	t.noIPs("e2e-err")
}

// 5. Codes below 100 only with the spec's meaning: a pod netns that is
// gone is 3, a CNI_NETNS that is no pod's is 4 (the library's 8 for the
// node's own is rewritten); the plugin's own meanings are 100 and up
// (cases rdma and busy pin 100 and 101).
func caseSpecCodes(t *T) {
	v := t.takeVF(anyVF)
	p := t.pod("codes")
	conf := t.netconf("e2e-codes", "1.1.0", v, nil)
	node := fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
	for _, c := range []struct {
		what, verb, netns string
		code              int
	}{
		{"ADD into a pod netns that is gone", "ADD", "/run/netns/e2e-gone", 3},
		{"CHECK of a pod netns that is gone", "CHECK", "/run/netns/e2e-gone", 3},
		{"ADD into a regular file", "ADD", "/etc/hostname", 4},
		{"ADD into the node's netns", "ADD", node, 4},
		{"DEL in the node's netns", "DEL", node, 4},
	} {
		q := *p
		q.netns = c.netns
		cc := conf
		if c.verb == "CHECK" {
			cc = maps.Clone(conf)
			cc["prevResult"] = map[string]any{"cniVersion": "1.1.0"}
		}
		o := t.direct(c.verb, cc, &q)
		if o.ok() || o.err == nil {
			t.Errorf("%s: %s, want code %d", c.what, o.result, c.code)
			continue
		}
		if o.err.Code != c.code || o.err.CNIVersion != "1.1.0" {
			t.Errorf("%s: code %d cniVersion %q (%s), want code %d", c.what, o.err.Code, o.err.CNIVersion, o.err.Msg, c.code)
		}
		if o.err.Code >= 8 && o.err.Code < 100 && o.err.Code != 11 && o.err.Code != 50 && o.err.Code != 51 {
			t.Errorf("%s: code %d is reserved by the spec, which gives it no meaning", c.what, o.err.Code)
		}
	}
	t.vfHome(v)
	t.stateEmpty()
	t.noIPs("e2e-codes")
}

// The real chain: loopback (a plugin before, whose result has lo and its
// addresses), sriov-rdma with mtu 1400, tuning v1.10.0 with mtu 1300
// after it, through cnitool and libcni's result cache as a runtime would.
func caseChain(t *T) {
	for _, tool := range []string{"loopback", "tuning"} {
		if _, err := os.Stat(filepath.Join(t.root, ".tools", "bin", tool)); err != nil {
			t.Fatalf("%v (scripts/e2e.sh installs it)", err)
		}
	}
	v := t.takeVF(anyVF)
	const name = "e2e-chain"
	ours := t.netconf(name, "1.1.0", v, map[string]any{"mtu": 1400})
	delete(ours, "cniVersion")
	delete(ours, "name")
	doc := map[string]any{"cniVersion": "1.1.0", "name": name, "plugins": []any{
		map[string]any{"type": "loopback"},
		ours,
		map[string]any{"type": "tuning", "mtu": 1300},
	}}
	dir := filepath.Join(t.confDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".conflist"), mustJSON(doc), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	p := t.pod("chain-pod")
	res := t.add(name, p, "net1", "")

	if res.CNIVersion != "1.1.0" {
		t.Errorf("result cniVersion %q", res.CNIVersion)
	}
	var names []string
	for _, itf := range res.Interfaces {
		names = append(names, itf.Name)
	}
	if !slices.Equal(names, []string{"lo", "net1"}) {
		t.Fatalf("final result interfaces %v, want lo (loopback) and net1 (sriov-rdma): %v", names, res.raw)
	}
	if res.Interfaces[1].PciID != v.addr || res.Interfaces[1].Sandbox != p.netns {
		t.Errorf("net1 in the final result: %+v", res.Interfaces[1])
	}
	var lo, ours1 []string
	for _, ipc := range res.IPs {
		switch {
		case ipc.Interface != nil && *ipc.Interface == 0:
			lo = append(lo, ipc.Address)
		case ipc.Interface != nil && *ipc.Interface == 1:
			ours1 = append(ours1, ipc.Address)
		default:
			t.Errorf("address %s has interface %v", ipc.Address, ipc.Interface)
		}
	}
	if !slices.Contains(lo, "127.0.0.1/8") || len(ours1) != 1 || !strings.HasPrefix(ours1[0], "10.56.0.") {
		t.Errorf("final result addresses: lo %v, net1 %v; want loopback's 127.0.0.1/8 and host-local's", lo, ours1)
	}
	k := t.podLink(p, "net1")
	if k.MTU != 1300 {
		t.Errorf("net1 has MTU %d, want tuning's 1300", k.MTU)
	}
	if got := k.ipv4(); len(got) != 1 || len(ours1) != 1 || got[0] != ours1[0] {
		t.Errorf("net1 has %v, want only %v", got, ours1)
	}
	t.ipHeld(name, res.lastIP(), true)

	// CHECK passes though the config says 1400: tuning set 1300 after us.
	t.mustCNI("check", name, p, "net1", "")

	t.mustCNI("del", name, p, "net1", "")
	t.podLacks(p, "net1")
	t.vfHome(v)
	t.noIPs(name)
	t.stateEmpty()
}

// lastIP is the result's last address, without its prefix length: in a
// chain the first is an earlier plugin's, ours come last.
func (r *cniResult) lastIP() string {
	if len(r.IPs) == 0 {
		return ""
	}
	a, _, _ := strings.Cut(r.IPs[len(r.IPs)-1].Address, "/")
	return a
}
