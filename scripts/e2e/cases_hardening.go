package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
)

// Cases for the netconf as tenant input and for a DEL that always
// completes, driven through cnitool as a runtime drives the plugin.
var hardeningCases = []tcase{
	{"devinfo", "the device-info file: created and removed by the plugin, the device plugin's kept, never written through a link", caseDevinfo},
	{"ifname", "CNI_IFNAME the kernel would rewrite (net%d) is refused with code 4, nothing changes", caseIfName},
	{"vf-gone", "the VF is destroyed while in a pod: DEL releases the address, drops the journal and exits 0", caseVFGone},
	{"long-statedir", "a stateDir long enough to overflow a short owner record: DEL still restores the VF", caseLongStateDir},
	{"operator", "sriov-network-operator's rendered config (single and plugins list, with and without IPAM) through cnitool", caseOperator},
	{"stderr", "without logFile, the warning of a netdev-only attachment reaches the runtime on stderr", caseStderr},
}

// devinfo is a device-info path in the lane's private /run, where Multus
// puts them.
func devinfo(name string) string {
	return filepath.Join(confine.DeviceInfoDir, "cni", name)
}

func caseDevinfo(t *T) {
	v := t.takeVF(anyVF)
	net := t.net("e2e-devinfo", "1.1.0", v, map[string]any{"capabilities": map[string]any{"CNIDeviceInfoFile": true}}, true)
	t.Cleanup(func() { _ = os.RemoveAll(confine.DeviceInfoDir) })

	// Created by ADD, removed by DEL.
	ours := devinfo("ours.json")
	p := t.pod("devinfo-a")
	t.add(net, p, "net1", `{"CNIDeviceInfoFile":"`+ours+`"}`)
	var doc struct {
		Type string            `json:"type"`
		PCI  map[string]string `json:"pci"`
	}
	if b, err := os.ReadFile(ours); err != nil || json.Unmarshal(b, &doc) != nil || doc.Type != "pci" || doc.PCI["pci-address"] != v.addr {
		t.Errorf("device-info file after ADD: %s (%v)", b, err)
	}
	t.mustCNI("del", net, p, "net1", `{"CNIDeviceInfoFile":"`+ours+`"}`)
	if _, err := os.Stat(ours); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DEL left the device-info file ADD created: %v", err)
	}

	// The device plugin wrote it first: merged into, and left for Multus.
	theirs := devinfo("theirs.json")
	dp := `{"type":"pci","version":"1.1.0","pci":{"pci-address":"` + v.addr + `","vhost-net":"/dev/vhost-net"}}`
	if err := os.WriteFile(theirs, []byte(dp), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	q := t.pod("devinfo-b")
	t.add(net, q, "net1", `{"CNIDeviceInfoFile":"`+theirs+`"}`)
	t.mustCNI("del", net, q, "net1", `{"CNIDeviceInfoFile":"`+theirs+`"}`)
	if b, err := os.ReadFile(theirs); err != nil || !strings.Contains(string(b), "vhost-net") {
		t.Errorf("DEL removed or emptied the device plugin's file: %s (%v)", b, err)
	}

	// A link planted in the device-info directory, pointing at a file the
	// plugin must never write (a CNI config, here a file of the lane's).
	victim := filepath.Join(t.work, "10-node.conflist")
	const conflist = `{"cniVersion":"1.0.0","name":"node","plugins":[{"type":"bridge"}]}`
	if err := os.WriteFile(victim, []byte(conflist), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	link := devinfo("link.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatalf("%v", err)
	}
	r := t.cnitoolRun("add", net, t.pod("devinfo-c"), "net1", `{"CNIDeviceInfoFile":"`+link+`"}`)
	if r.ok() {
		t.Errorf("ADD wrote a device-info file through a symbolic link")
	}
	t.wantOutput(r, "symbolic link")
	if b, _ := os.ReadFile(victim); string(b) != conflist {
		t.Errorf("the file behind the link changed: %s", b)
	}
	if target, err := os.Readlink(link); err != nil || target != victim {
		t.Errorf("the link was removed or changed: %q %v", target, err)
	}
	t.vfHome(v)
	t.stateEmpty()
}

func caseIfName(t *T) {
	v := t.takeVF(anyVF)
	net := t.net("e2e-ifname", "1.1.0", v, nil, true)
	p := t.pod("ifname-pod")
	before := t.snapshot(p)
	r := t.cnitoolRun("add", net, p, "net%d", "")
	if r.ok() {
		t.Fatalf("ADD as net%%d succeeded")
	}
	d := t.pluginRun("ADD", mustJSON(t.netconf(net, "1.1.0", v, nil)), p.cid, p.netns, "net%d", p.cniArgs())
	if e, err := parseError(d.stdout); err != nil || e.Code != 4 || !strings.Contains(e.Msg, "net%d") {
		t.Errorf("direct ADD as net%%d: %s (%v), want code 4 naming it", d, err)
	}
	if after := t.snapshot(p); after != before {
		t.Errorf("the host changed: %s", snapshotDiff(before, after))
	}
	t.podLacks(p, "net0")
	t.vfHome(v)
}

// caseVFGone: sriov_numvfs lowered (or the PF's driver reloaded) while a pod
// holds a VF. The VF's PCI function and its netdev vanish; the runtime's DEL
// must not fail forever.
func caseVFGone(t *T) {
	v := t.takeVF(anyVF)
	net := t.net("e2e-vfgone", "1.1.0", v, map[string]any{"mtu": 1400}, true)
	p := t.pod("vfgone-pod")
	res := t.add(net, p, "net1", "")
	fn := filepath.Join("/sys/bus/pci/devices", v.addr)
	target, err := os.Readlink(fn)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.Remove(fn); err != nil {
		t.Fatalf("%v", err)
	}
	// Whatever happens, the node gets its VF back for the next cases.
	t.Cleanup(func() {
		if _, err := os.Lstat(fn); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(target, fn); err != nil {
				t.Errorf("restore the VF's function: %v", err)
			}
		}
		if err := t.recreateVF(v); err != nil {
			t.Errorf("re-create the VF: %v", err)
		}
	})
	if err := t.ip("-n", p.name, "link", "del", "net1"); err != nil {
		t.Fatalf("destroy the VF netdev: %v", err)
	}
	t.mustCNI("del", net, p, "net1", "")
	t.ipHeld(net, res.ip(), false)
	t.journalExists(p, "net1", false)
	found := false
	for _, rec := range t.logRecords(net) {
		if rec.Msg == "VF no longer exists on this node (its PF's VFs were removed or its driver reloaded); nothing of it left to restore" && rec.str("device") == v.addr {
			found = true
		}
	}
	if !found {
		t.Errorf("the log does not say the VF was gone")
	}
	t.mustCNI("del", net, p, "net1", "") // and again
	t.stateEmpty()
}

// caseLongStateDir: the VF's lock file names its owner by journal path; a
// long stateDir makes that path longer than any fixed buffer.
func caseLongStateDir(t *T) {
	v := t.takeVF(anyVF)
	dir := laneStateDir + "/" + strings.Repeat("a-long-state-directory/", 30) + "x"
	net := t.net("e2e-longdir", "1.1.0", v, map[string]any{"stateDir": dir, "mtu": 1400}, true)
	t.Cleanup(func() { _ = os.RemoveAll(laneStateDir + "/a-long-state-directory") })
	p := t.pod("longdir-pod")
	res := t.add(net, p, "net1", "")
	t.hostLacks(v)
	t.mustCNI("del", net, p, "net1", "")
	t.vfHome(v)
	t.podLacks(p, "net1")
	t.ipHeld(net, res.ip(), false)
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		t.Errorf("journal left in the long stateDir")
	}
}

// caseOperator feeds the plugin what sriov-network-operator renders for a
// SriovNetwork (its NAD template with "type": "sriov-rdma"): "vlan":0 and
// "vlanQoS":0 always, capabilities, a logLevel in its words, "ipam":{} when
// the network has no IPAM, and the plugins list when meta plugins are set.
func caseOperator(t *T) {
	v := t.takeVF(anyVF)
	for _, c := range []struct {
		name string
		list bool
		ipam bool
	}{
		{"e2e-op-single-ipam", false, true},
		{"e2e-op-single-noipam", false, false},
		{"e2e-op-list-ipam", true, true},
		{"e2e-op-list-noipam", true, false},
	} {
		set := map[string]any{
			"cniVersion": "1.0.0", "vlan": 0, "vlanQoS": 0, "logLevel": "warning",
			"capabilities": map[string]any{"mac": true, "ips": true},
		}
		if !c.ipam {
			set["ipam"] = map[string]any{}
		}
		conf := t.netconf(c.name, "1.0.0", v, set)
		if err := t.writeNet(conf, c.list); err != nil {
			t.Fatalf("%v", err)
		}
		p := t.pod(strings.TrimPrefix(c.name, "e2e-"))
		r := t.cnitoolRun("add", c.name, p, "net1", "")
		if !r.ok() {
			t.Errorf("%s: ADD: %s", c.name, r)
			continue
		}
		res, err := parseResult(r.stdout)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if res != nil && c.ipam != (len(res.IPs) > 0) {
			t.Errorf("%s: result IPs %v, want IPAM %v", c.name, res.raw["ips"], c.ipam)
		}
		if k := t.podLink(p, "net1"); !k.up() {
			t.Errorf("%s: net1 is down", c.name)
		}
		if r := t.cnitoolRun("check", c.name, p, "net1", ""); !r.ok() {
			t.Errorf("%s: CHECK: %s", c.name, r)
		}
		t.mustCNI("del", c.name, p, "net1", "")
		t.vfHome(v)
	}
	t.stateEmpty()
	t.noIPs("")
}

// caseStderr: rdma auto on a VF with an RDMA device, on a kernel without
// RDMA, and no logFile: the runtime (here cnitool, which passes a
// delegate's stderr on) sees why the attachment is netdev-only.
func caseStderr(t *T) {
	v := t.takeVF(vfWithRDMA)
	net := t.net("e2e-stderr", "1.1.0", v, map[string]any{"logFile": nil, "rdma": "auto"}, true)
	p := t.pod("stderr-pod")
	r := t.cnitoolRun("add", net, p, "net1", "")
	if !r.ok() {
		t.Fatalf("ADD: %s", r)
	}
	t.Cleanup(func() { t.mustCNI("del", net, p, "net1", "") })
	if !strings.Contains(r.stderr, `"level":"WARN"`) || !strings.Contains(r.stderr, "netdev-only") {
		t.Errorf("stderr of ADD has no warning about the netdev-only attachment: %q", r.stderr)
	}
	if strings.Contains(r.stderr, `"level":"INFO"`) {
		t.Errorf("stderr carries info records: %q", r.stderr)
	}
}
