package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// 6. The NAD sriov-network-operator renders for a SriovNetwork with its
// defaults (vlan 0, logLevel info; no spoofChk, trust, linkState, rates or
// capabilities unless set), "type" swapped for sriov-rdma: without IPAM the
// operator writes "ipam":{}, with IPAM the SriovNetwork's ipam text with its
// whitespace removed. The strings below are the template's output for
// those inputs, byte for byte.
func caseK8sOperator(t *kt) {
	noIPAM := `{ "cniVersion":"1.0.0", "name":"op-noipam","type":"sriov-rdma","vlan":0,"logLevel":"info","ipam":{} }`
	withIPAM := `{ "cniVersion":"1.0.0", "name":"op-ipam","type":"sriov-rdma","vlan":0,"logLevel":"info",` +
		`"ipam":{"type":"host-local","ranges":[[{"subnet":"10.56.0.0/24","rangeStart":"10.56.0.40","rangeEnd":"10.56.0.49"}]]} }`
	for _, c := range []struct {
		name, conf string
		ips        bool
	}{{"op-noipam", noIPAM, false}, {"op-ipam", withIPAM, true}} {
		t.nad(c.name, vfResource, c.conf)
		p := t.pod(c.name, podSpec{networks: c.name, vfs: 1})
		if err := t.tryAdd(p); err != nil {
			t.Errorf("%s: ADD: %v", c.name, err)
			continue
		}
		st := t.status(p, "net1")
		if c.ips != (len(st.IPs) > 0) {
			t.Errorf("%s: network-status IPs of net1 = %v, want them only with IPAM", c.name, st.IPs)
		}
		t.wantAttached(p, "net1", st, p.devices[0])
		if k := t.podLink(p.sb, "net1"); !c.ips && len(k.ipv4()) > 0 {
			t.Errorf(`%s: net1 has addresses %v with "ipam":{}`, c.name, k.ipv4())
		}
		t.del(p)
		t.vfHome(t.vfByAddr(p.devices[0]))
		t.drop(p)
	}
}

// 7. A pod on two networks of ours: Multus hands each NAD one of the two
// VFs the pod was given, in order, as net1 and net2.
func caseK8sTwoNets(t *kt) {
	t.nad("tn-a", vfResource, ourConf("tn-a", "1.1.0", hostLocalIPAM("10.56.0.50", "10.56.0.59")))
	t.nad("tn-b", vfResource, ourConf("tn-b", "1.1.0", hostLocalIPAM("10.56.0.60", "10.56.0.69")))
	p := t.pod("two-nets", podSpec{networks: "tn-a,tn-b", vfs: 2})
	t.add(p)
	all := t.statuses(p)
	if len(all) != 3 {
		t.Errorf("network-status has %d entries, want 3 (eth0, net1, net2): %+v", len(all), all)
	}
	eth0 := t.status(p, "eth0")
	if eth0.Name != clusterNetName || !eth0.Default || len(eth0.IPs) != 1 {
		t.Errorf("eth0 in network-status = %+v, want the default cluster network with one address", eth0)
	}
	t.podLink(p.sb, "eth0")
	n1, n2 := t.status(p, "net1"), t.status(p, "net2")
	if n1.Name != k8sNamespace+"/tn-a" || n2.Name != k8sNamespace+"/tn-b" {
		t.Errorf("net1, net2 are %s, %s, want %s/tn-a, %s/tn-b", n1.Name, n2.Name, k8sNamespace, k8sNamespace)
	}
	got := []string{pciOf(n1), pciOf(n2)}
	want := slices.Clone(p.devices)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || got[0] == got[1] {
		t.Errorf("pci-address of net1, net2 = %v, want the two VFs the pod was given %v", got, want)
	}
	t.wantAttached(p, "net1", n1, pciOf(n1))
	t.wantAttached(p, "net2", n2, pciOf(n2))
	t.del(p)
	for _, d := range p.devices {
		t.vfHome(t.vfByAddr(d))
	}
	t.podLacks(p.sb, "net1")
	t.podLacks(p.sb, "net2")
}

// 8. The shipped manifests against the real schema: the NAD CRD's and the
// built-in kinds' validation, admission, and strict field validation (an
// unknown or misspelt field fails).
func caseK8sDryRun(t *kt) {
	var files []string
	for _, g := range []string{"testdata/nad/*.yaml", "scripts/deploy/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(t.root, g))
		if err != nil || len(m) == 0 {
			t.Fatalf("no manifests match %s: %v", g, err)
		}
		files = append(files, m...)
	}
	docs := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("%v", err)
		}
		ms, err := manifests(string(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, m := range ms {
			if m.id.Metadata.Namespace == "" {
				m.id.Metadata.Namespace = k8sNamespace
			}
			docs++
			if err := t.n.c.admin.create(t.ctx, m.id, "application/yaml", m.body, true, nil); err != nil {
				t.Errorf("%s: %s %s: %v", strings.TrimPrefix(f, t.root+"/"), m.id.Kind, m.id.Metadata.Name, err)
			}
		}
	}
	// The dry run can fail: a NAD whose config is not a string is refused
	// by the CRD's schema.
	bad := []byte("apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: bad\nspec:\n  config: 42\n")
	ms, err := manifests(string(bad))
	if err != nil || len(ms) != 1 {
		t.Fatalf("parse the control manifest: %v", err)
	}
	ms[0].id.Metadata.Namespace = k8sNamespace
	if err := t.n.c.admin.create(t.ctx, ms[0].id, "application/yaml", bad, true, nil); err == nil {
		t.Errorf("the apiserver accepted a NAD whose spec.config is a number: the dry run validates nothing")
	}
	t.measured("%d documents from %d files validated by server-side dry run", docs, len(files))
}

// drop ends a pod before the case does: its object leaves the API and its
// VFs go back to the pool (the cleanup then finds nothing to do).
func (t *kt) drop(p *k8sPod) {
	if err := t.n.c.admin.remove(t.ctx, "v1", "Pod", k8sNamespace, p.name); err != nil {
		t.Errorf("delete pod %s: %v", p.name, err)
	}
	if err := t.n.forget(p); err != nil {
		t.Errorf("forget pod %s: %v", p.name, err)
	}
}
