package main

// What k8s cases do and check. Checks read the API (network-status,
// IPPools) or the kernel (links and addresses in the pod and on the host),
// never a log.

import (
	"context"
	"slices"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

// nad creates a NetworkAttachmentDefinition, deleted at cleanup.
func (t *kt) nad(name, resource string, config any) {
	if err := t.n.createNAD(t.ctx, name, resource, config); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := t.n.c.admin.remove(contextForTeardown(), "k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", k8sNamespace, name); err != nil {
			t.Errorf("cleanup: delete NAD %s: %v", name, err)
		}
	})
}

// pod admits a pod on the node's Multus network.
func (t *kt) pod(name string, spec podSpec) *k8sPod { return t.podOn(name, spec, t.multus) }

// podOn admits a pod whose runtime network is net; at cleanup its object
// leaves the API and the kubelet forgets it (after any DEL cleanup).
func (t *kt) podOn(name string, spec podSpec, net *libcni.NetworkConfigList) *k8sPod {
	p, err := t.n.admit(t.ctx, name, spec, net)
	if err != nil {
		t.Fatalf("admit pod %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := t.n.c.admin.remove(contextForTeardown(), "v1", "Pod", k8sNamespace, name); err != nil {
			t.Errorf("cleanup: delete pod %s: %v", name, err)
		}
		if err := t.n.forget(p); err != nil {
			t.Errorf("cleanup: forget pod %s: %v", name, err)
		}
	})
	return p
}

// add is a sandbox's network setup that must succeed; the DEL follows at
// cleanup unless the case deletes first.
func (t *kt) add(p *k8sPod) {
	if err := t.tryAdd(p); err != nil {
		t.Fatalf("ADD of pod %s through Multus: %v", p.name, err)
	}
}

// tryAdd runs ADD; when it fails the runtime tears the sandbox's network
// down at once, as containerd and CRI-O do, and that DEL must succeed.
func (t *kt) tryAdd(p *k8sPod) error {
	err := t.n.add(p)
	if err != nil {
		if derr := t.n.del(p); derr != nil {
			t.Errorf("DEL after the failed ADD of %s: %v", p.name, derr)
		}
		return err
	}
	p.added = true
	t.Cleanup(func() {
		if p.added {
			p.added = false
			if err := t.n.del(p); err != nil {
				t.Errorf("cleanup: DEL of pod %s: %v", p.name, err)
			}
		}
	})
	return nil
}

// del is the sandbox's teardown; it must succeed.
func (t *kt) del(p *k8sPod) {
	p.added = false
	if err := t.n.del(p); err != nil {
		t.Fatalf("DEL of pod %s through Multus: %v", p.name, err)
	}
}

// statuses reads the pod's network-status; the case stops without one.
func (t *kt) statuses(p *k8sPod) []netStatus {
	st, err := t.n.networkStatus(t.ctx, p.name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return st
}

// status is the network-status entry of ifname.
func (t *kt) status(p *k8sPod, ifname string) netStatus {
	all := t.statuses(p)
	for _, s := range all {
		if s.Interface == ifname {
			return s
		}
	}
	var have []string
	for _, s := range all {
		have = append(have, s.Name+"="+s.Interface)
	}
	t.Fatalf("pod %s network-status has no %s (it has %s)", p.name, ifname, strings.Join(have, " "))
	return netStatus{}
}

// vfByAddr is the lane's VF with that PCI address.
func (t *kt) vfByAddr(addr string) vfSpec {
	for _, v := range t.vfs {
		if v.addr == addr {
			return v
		}
	}
	t.Fatalf("no VF %q on the node", addr)
	return vfSpec{}
}

// wantAttached checks the kernel against network-status: ifname is in the
// pod with the reported MAC and addresses, up, and VF addr's host netdev is
// gone from the host.
func (t *kt) wantAttached(p *k8sPod, ifname string, st netStatus, addr string) {
	k := t.podLink(p.sb, ifname)
	if !strings.EqualFold(k.MAC, st.Mac) {
		t.Errorf("%s in pod %s has MAC %s, network-status says %s", ifname, p.name, k.MAC, st.Mac)
	}
	if !k.up() {
		t.Errorf("%s in pod %s is down", ifname, p.name)
	}
	var have []string
	for _, a := range k.ipv4() {
		ip, _, _ := strings.Cut(a, "/")
		have = append(have, ip)
	}
	for _, ip := range st.IPs {
		if !slices.Contains(have, ip) {
			t.Errorf("%s in pod %s has %v, network-status says %s", ifname, p.name, have, ip)
		}
	}
	t.hostLacks(t.vfByAddr(addr))
}

// pciOf is the pci-address Multus put in network-status for ifname.
func pciOf(st netStatus) string {
	if st.DeviceInfo == nil {
		return ""
	}
	s, _ := st.DeviceInfo.PCI["pci-address"].(string)
	return s
}

// ipPool is whereabouts' IPPool object.
type ipPool struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Range       string `json:"range"`
		Allocations map[string]struct {
			ID     string `json:"id"`
			PodRef string `json:"podref"`
			IfName string `json:"ifname"`
		} `json:"allocations"`
	} `json:"spec"`
}

func (t *kt) ipPools(ctx context.Context) ([]ipPool, error) {
	var list struct {
		Items []ipPool `json:"items"`
	}
	err := t.n.c.admin.list(ctx, "whereabouts.cni.cncf.io/v1alpha1", "IPPool", "", &list)
	return list.Items, err
}

// ipPool is the pool of a range; the case stops if there is none.
func (t *kt) ipPool(rng string) ipPool {
	pools, err := t.ipPools(t.ctx)
	if err != nil {
		t.Fatalf("list IPPools: %v", err)
	}
	for _, p := range pools {
		if p.Spec.Range == rng {
			return p
		}
	}
	t.Fatalf("no IPPool for range %s", rng)
	return ipPool{}
}
