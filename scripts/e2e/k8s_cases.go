package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
)

// k8sCases, in the order of the issue that asked for the lane.
func k8sCases() []k8sCase {
	return []k8sCase{
		{"devinfo", "a NAD with resourceName: Multus gets the VF from PodResources, network-status carries our device-info", caseK8sDevInfo},
		{"whereabouts", "two pods get distinct whereabouts addresses; the IPPool shows both; a full range fails ADD; DEL releases", caseK8sWhereabouts},
		{"host-local", "two pods on two VFs get distinct host-local addresses under Multus; DEL releases", caseK8sHostLocal},
		{"pod-gone", "DEL after the Pod object is gone (Multus's cache): VF home, address released", caseK8sPodGone},
		{"versions", "NADs at cniVersion 0.3.1, 0.4.0, 1.0.0, 1.1.0, single plugin and conflist: Multus parses our result", caseK8sVersions},
		{"operator", "the NAD sriov-network-operator renders, with \"type\": \"sriov-rdma\", with and without IPAM", caseK8sOperator},
		{"two-nets", "two networks of ours in one pod (net1, net2 on two VFs) plus the cluster network", caseK8sTwoNets},
		{"dry-run", "every manifest the project ships passes server-side dry run against this apiserver", caseK8sDryRun},
		{"verbs", "CHECK, GC and STATUS as Multus delivers them: what reaches the plugin", caseK8sVerbs},
		{"del-error", "a DEL the plugin fails (VF busy, code 11): what the runtime hears", caseK8sDelError},
	}
}

// measured prints a figure the case measured, above its PASS/FAIL line.
func (t *kt) measured(format string, a ...any) {
	fmt.Printf("     %s: "+format+"\n", append([]any{t.name}, a...)...)
}

// 1. Multus asks PodResources for the pod's VF, injects deviceID and
// CNIDeviceInfoFile, and copies the device-info file into network-status.
func caseK8sDevInfo(t *kt) {
	const net = "rdma-net"
	t.nad(net, vfResource, ourConf(net, "1.1.0", hostLocalIPAM("10.56.0.10", "10.56.0.19")))
	p := t.pod("devinfo-pod", podSpec{networks: net, vfs: 1})
	t.add(p)
	vf := t.vfByAddr(p.devices[0])

	st := t.status(p, "net1")
	if st.Name != k8sNamespace+"/"+net || st.Default {
		t.Errorf("network-status entry of net1: name %q default %v, want %s/%s, not default", st.Name, st.Default, k8sNamespace, net)
	}
	if len(st.IPs) != 1 || !strings.HasPrefix(st.IPs[0], "10.56.0.1") {
		t.Errorf("network-status IPs of net1 = %v, want one from 10.56.0.10-19", st.IPs)
	}
	t.wantAttached(p, "net1", st, vf.addr)
	if st.DeviceInfo == nil {
		t.Fatalf("network-status of net1 has no device-info")
	}
	di := st.DeviceInfo
	if di.Type != "pci" || pciOf(st) != vf.addr || di.PCI["pf-pci-address"] != pfAddr {
		t.Errorf("device-info = type %q pci %v, want type pci, pci-address %s (the VF PodResources gave), pf-pci-address %s", di.Type, di.PCI, vf.addr, pfAddr)
	}
	// The plugin reports the RDMA device it gave the pod; on a kernel
	// without an RDMA subsystem (this lane's) it attaches netdev-only and
	// reports none, the e2e lane's rdma case shows why.
	wantRDMA := ""
	if _, err := (rdma.Kernel{}).NetnsMode(); err == nil {
		wantRDMA = vf.rdma
	} else if !errors.Is(err, rdma.ErrNoRDMA) {
		t.Fatalf("read the RDMA netns mode: %v", err)
	}
	if got, _ := di.PCI["rdma-device"].(string); got != wantRDMA {
		t.Errorf("device-info rdma-device = %q, want %q", got, wantRDMA)
	}

	// What the plugin wrote against what Multus kept.
	file := t.devInfoFile(p)
	var written struct {
		PCI map[string]any `json:"pci"`
	}
	if b, err := os.ReadFile(file); err != nil || json.Unmarshal(b, &written) != nil {
		t.Fatalf("read the device-info file %s: %v", file, err)
	}
	var kept, dropped []string
	for _, k := range slices.Sorted(maps.Keys(written.PCI)) {
		if _, ok := di.PCI[k]; ok {
			kept = append(kept, k)
		} else {
			dropped = append(dropped, k)
		}
	}
	for _, k := range dropped {
		if k != "roce-v2-gid-index" {
			t.Errorf("Multus dropped device-info field pci.%s", k)
		}
	}
	t.measured("device-info fields the plugin wrote that reach network-status: %s; dropped: %s",
		strings.Join(kept, ", "), orNone(dropped))

	t.del(p)
	t.vfHome(vf)
	if _, err := os.Stat(file); err == nil {
		t.Errorf("DEL left the device-info file %s", file)
	}
	t.noIPs(net)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// devInfoFile is the device-info file Multus named for the pod's sandbox.
func (t *kt) devInfoFile(p *k8sPod) string {
	for _, f := range regularFiles(devInfoDir) {
		if strings.Contains(f, p.sb.cid) {
			return f
		}
	}
	t.Fatalf("no device-info file for sandbox %s under %s (have %v)", p.sb.cid, devInfoDir, regularFiles(devInfoDir))
	return ""
}

// 2. whereabouts allocates cluster-wide, through the API.
func caseK8sWhereabouts(t *kt) {
	const net, rng = "wb-net", "10.57.0.0/28"
	// range_start .4, range_end .6, .4 excluded: exactly .5 and .6 are free.
	t.nad(net, vfResource, ourConf(net, "1.1.0", map[string]any{
		"type": "whereabouts", "range": rng, "range_start": "10.57.0.4", "range_end": "10.57.0.6",
		"exclude": []string{"10.57.0.4/32"},
	}))
	a := t.pod("wb-a", podSpec{networks: net, vfs: 1})
	b := t.pod("wb-b", podSpec{networks: net, vfs: 1})
	t.add(a)
	t.add(b)
	sa, sb := t.status(a, "net1"), t.status(b, "net1")
	got := append(slices.Clone(sa.IPs), sb.IPs...)
	slices.Sort(got)
	if !slices.Equal(got, []string{"10.57.0.5", "10.57.0.6"}) {
		t.Errorf("addresses of wb-a and wb-b = %v, want 10.57.0.5 and 10.57.0.6 (range_start, range_end, exclude)", got)
	}
	t.wantAttached(a, "net1", sa, a.devices[0])
	t.wantAttached(b, "net1", sb, b.devices[0])
	t.wantAllocations(rng, a, b)

	c := t.pod("wb-c", podSpec{networks: net, vfs: 1})
	err := t.tryAdd(c)
	if err == nil {
		t.Fatalf("ADD of a third pod succeeded on a range with two free addresses")
	}
	if !strings.Contains(err.Error(), "Could not allocate IP in range") {
		t.Errorf("ADD on a full range failed without whereabouts' error: %v", err)
	}
	t.vfHome(t.vfByAddr(c.devices[0]))
	t.podLacks(c.sb, "net1")
	t.wantAllocations(rng, a, b)

	t.del(a)
	t.del(b)
	t.wantAllocations(rng)
	t.vfHome(t.vfByAddr(a.devices[0]))
	t.vfHome(t.vfByAddr(b.devices[0]))
}

// wantAllocations: the IPPool of rng allocates exactly to these pods'
// net1, under their pod references and sandbox IDs.
func (t *kt) wantAllocations(rng string, pods ...*k8sPod) {
	pool := t.ipPool(rng)
	want := map[string]string{}
	for _, p := range pods {
		want[k8sNamespace+"/"+p.name] = p.sb.cid
	}
	got := map[string]string{}
	for off, al := range pool.Spec.Allocations {
		got[al.PodRef] = al.ID
		if al.IfName != "net1" {
			t.Errorf("IPPool %s offset %s: ifname %q, want net1", pool.Metadata.Name, off, al.IfName)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("IPPool %s allocations (podref: id) = %v, want %v", pool.Metadata.Name, got, want)
	}
}

// 3. host-local under Multus: per-node allocation, the sandbox ID recorded.
func caseK8sHostLocal(t *kt) {
	const net = "hl-net"
	t.nad(net, vfResource, ourConf(net, "1.0.0", hostLocalIPAM("10.56.0.20", "10.56.0.29")))
	a := t.pod("hl-a", podSpec{networks: net, vfs: 1})
	b := t.pod("hl-b", podSpec{networks: net, vfs: 1})
	t.add(a)
	t.add(b)
	sa, sb := t.status(a, "net1"), t.status(b, "net1")
	if len(sa.IPs) != 1 || len(sb.IPs) != 1 || sa.IPs[0] == sb.IPs[0] {
		t.Fatalf("host-local addresses %v and %v are not one each and distinct", sa.IPs, sb.IPs)
	}
	for _, x := range []struct {
		p  *k8sPod
		st netStatus
	}{{a, sa}, {b, sb}} {
		t.wantAttached(x.p, "net1", x.st, x.p.devices[0])
		t.ipHeld(net, x.st.IPs[0], true)
		if rec, _ := os.ReadFile(hostLocalDir + "/" + net + "/" + x.st.IPs[0]); !strings.HasPrefix(string(rec), x.p.sb.cid) {
			t.Errorf("host-local's reservation of %s is %q, want the sandbox ID %s", x.st.IPs[0], rec, x.p.sb.cid)
		}
	}
	t.del(a)
	t.del(b)
	t.ipHeld(net, sa.IPs[0], false)
	t.ipHeld(net, sb.IPs[0], false)
	t.vfHome(t.vfByAddr(a.devices[0]))
	t.vfHome(t.vfByAddr(b.devices[0]))
}

// 4. The Pod object is deleted before the sandbox: Multus DELs from its
// cache of the delegates it ran.
func caseK8sPodGone(t *kt) {
	const net, rng = "gone-net", "10.57.1.0/29"
	t.nad(net, vfResource, ourConf(net, "1.1.0", map[string]any{"type": "whereabouts", "range": rng}))
	p := t.pod("gone-pod", podSpec{networks: net, vfs: 1})
	t.add(p)
	t.wantAllocations(rng, p)
	if err := t.n.c.admin.remove(t.ctx, "v1", "Pod", k8sNamespace, p.name); err != nil {
		t.Fatalf("delete the Pod object: %v", err)
	}
	var gone struct{}
	if err := t.n.c.admin.get(t.ctx, "v1", "Pod", k8sNamespace, p.name, &gone); !isNotFound(err) {
		t.Fatalf("the Pod object is still readable after its deletion: %v", err)
	}
	t.del(p)
	t.vfHome(t.vfByAddr(p.devices[0]))
	t.podLacks(p.sb, "net1")
	t.wantAllocations(rng)
}

// 5. Multus converts each delegate's result to its own version: ours must
// parse at every version we support, single plugin or conflist.
func caseK8sVersions(t *kt) {
	for _, v := range []string{"0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		for _, list := range []bool{false, true} {
			form, name := "conf", "ver-"+strings.ReplaceAll(v, ".", "")
			if list {
				form, name = "conflist", name+"-list"
			}
			conf := ourConf(name, v, hostLocalIPAM("10.56.0.30", "10.56.0.39"))
			var nadConf any = conf
			if list {
				nadConf = asList(conf)
			}
			t.nad(name, vfResource, nadConf)
			p := t.pod(name, podSpec{networks: name, vfs: 1})
			if err := t.tryAdd(p); err != nil {
				t.Errorf("cniVersion %s %s: ADD: %v", v, form, err)
				continue
			}
			st := t.status(p, "net1")
			if len(st.IPs) != 1 || st.Mac == "" || pciOf(st) != p.devices[0] {
				t.Errorf("cniVersion %s %s: network-status of net1 = %+v, want one IP, the MAC and pci-address %s", v, form, st, p.devices[0])
			}
			t.wantAttached(p, "net1", st, p.devices[0])
			t.del(p)
			t.vfHome(t.vfByAddr(p.devices[0]))
			t.drop(p)
		}
	}
}
