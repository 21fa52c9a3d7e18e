package main

// Case 9: which CNI verbs Multus passes on to sriov-rdma. The plugin tells
// by what it does: CHECK fails naming a drifted MAC, STATUS fails on a
// read-only stateDir, GC restores an attachment the runtime does not know.
// Each is asked through Multus twice, once with sriov-rdma as the cluster
// network (Multus's first, static delegate, "eth0") and once as a NAD's
// network ("net1"); the README states the outcome.

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"golang.org/x/sys/unix"
)

const readOnlyStateDir = "/run/sriov-rdma-ro"

func caseK8sVerbs(t *kt) {
	// A: the node's Multus (macvlan cluster network) and a NAD of ours.
	t.nad("vb-net", vfResource, ourConf("vb-net", "1.1.0", hostLocalIPAM("10.56.0.70", "10.56.0.79")))
	a := t.pod("vb-a", podSpec{networks: "vb-net", vfs: 1})
	t.add(a)
	// B: a Multus whose cluster network is sriov-rdma on a VF set aside
	// from the device plugin's pool, as eth0.
	vfB := t.reserve(t.vfs[len(t.vfs)-1])
	clusterB := ourConf("vb-cluster", "1.1.0", hostLocalIPAM("10.56.0.80", "10.56.0.89"))
	clusterB["deviceID"] = vfB.addr
	multusB := t.multusNetNamed("multus-b", asList(clusterB))
	b := t.podOn("vb-b", podSpec{}, multusB)
	t.add(b)

	// CHECK.
	if err := t.n.check(a); err != nil {
		t.Fatalf("CHECK of vb-a before any drift: %v", err)
	}
	if err := t.n.check(b); err != nil {
		t.Fatalf("CHECK of vb-b before any drift: %v", err)
	}
	t.driftMAC(a, "net1", "02:e2:e2:00:09:01")
	t.driftMAC(b, "eth0", "02:e2:e2:00:09:02")
	errA, errB := t.n.check(a), t.n.check(b)
	if errA != nil {
		t.Errorf("Multus CHECK reported net1's drift: %v (the README says CHECK does not reach a NAD's network)", errA)
	}
	if errB == nil || !strings.Contains(errB.Error(), "MAC of eth0 is 02:e2:e2:00:09:02") {
		t.Errorf("Multus CHECK with sriov-rdma as the cluster network: %v, want the plugin's error naming eth0's MAC", errB)
	}
	// The cluster network's own plugin hears CHECK too: macvlan compares
	// eth0's MAC with the cached result.
	t.driftMAC(a, "eth0", "02:e2:e2:00:09:03")
	errEth0 := t.n.check(a)
	if errEth0 == nil {
		t.Errorf("Multus CHECK passed with eth0's MAC changed: the cluster network's macvlan was not asked")
	}
	t.measured("CHECK reaches the cluster network (sriov-rdma: %s, macvlan: %s); a NAD's network: %s", reached(errB != nil), reached(errEth0 != nil), reached(errA != nil))

	// STATUS: asked of the plugin alone, both configs below fail.
	t.readOnlyDir(readOnlyStateDir)
	statusConf := ourConf("vb-status", "1.1.0", nil)
	statusConf["stateDir"] = readOnlyStateDir
	if err := t.n.status(t.list(asList(statusConf))); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("STATUS of the plugin alone with a read-only stateDir: %v, want it to fail", err)
	}
	t.nad("vb-status-nad", vfResource, statusConf)
	errNAD := t.n.status(t.multus)
	errCluster := t.n.status(t.multusNetNamed("multus-status", asList(statusConf)))
	if errNAD != nil {
		t.Errorf("Multus STATUS failed with a failing NAD of ours: %v (the README says STATUS does not reach NADs)", errNAD)
	}
	if errCluster == nil || !strings.Contains(errCluster.Error(), "stateDir "+readOnlyStateDir+" is not writable") {
		t.Errorf("Multus STATUS with sriov-rdma as the cluster network: %v, want the plugin's error", errCluster)
	}
	t.measured("STATUS reaches sriov-rdma as the cluster network (%s); a NAD's network: %s", reached(errCluster != nil), reached(errNAD != nil))

	// GC: an attachment of each network that no runtime knows, made by the
	// plugin alone (as a crashed runtime would leave it).
	staleB := t.stale("vb-stale-b", clusterB, t.reserve(t.vfs[len(t.vfs)-2]))
	staleA := t.stale("vb-stale-a", ourConf("vb-net", "1.1.0", hostLocalIPAM("10.56.0.70", "10.56.0.79")), t.reserve(t.vfs[len(t.vfs)-3]))
	if err := t.n.gc(multusB, a, b); err != nil {
		t.Errorf("Multus GC (cluster network sriov-rdma): %v", err)
	}
	if err := t.n.gc(t.multus, a, b); err != nil {
		t.Errorf("Multus GC (cluster network macvlan): %v", err)
	}
	gcCluster := t.isHome(staleB.vf)
	gcNAD := t.isHome(staleA.vf)
	if !gcCluster {
		t.Errorf("Multus GC left the cluster network's unknown attachment on %s in place", staleB.vf.addr)
	}
	if gcNAD {
		t.Errorf("Multus GC restored a NAD network's attachment (the README says GC does not reach NADs)")
	}
	// The live pods were valid attachments: GC left them alone.
	t.podLink(b.sb, "eth0")
	t.podLink(a.sb, "net1")
	t.hostLacks(vfB)
	t.measured("GC reaches sriov-rdma as the cluster network (%s), with Multus's cached attachments as the valid list; a NAD's network: %s", reached(gcCluster), reached(gcNAD))
}

func reached(yes bool) string {
	if yes {
		return "reached"
	}
	return "not reached"
}

// multusNetNamed is the node's Multus config under another network name,
// with cluster as its cluster network.
func (t *kt) multusNetNamed(name string, cluster map[string]any) *libcni.NetworkConfigList {
	list, err := t.n.multusNet(name, cluster)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return list
}

func (t *kt) list(conf map[string]any) *libcni.NetworkConfigList {
	b, err := json.Marshal(conf)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return t.listBytes(b)
}

func (t *kt) listBytes(b []byte) *libcni.NetworkConfigList {
	list, err := libcni.ConfListFromBytes(b)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return list
}

// reserve takes a VF out of the device plugin's pool for the case.
func (t *kt) reserve(v vfSpec) vfSpec {
	t.n.mu.Lock()
	defer t.n.mu.Unlock()
	if o := t.n.owner[v.addr]; o != "" {
		t.Fatalf("VF %s is held by %s", v.addr, o)
	}
	t.n.owner[v.addr] = "reserved:" + t.name
	t.Cleanup(func() {
		t.n.mu.Lock()
		delete(t.n.owner, v.addr)
		t.n.mu.Unlock()
	})
	return v
}

func (t *kt) driftMAC(p *k8sPod, ifname, mac string) {
	if err := t.ip("-n", p.sb.name, "link", "set", ifname, "address", mac); err != nil {
		t.Fatalf("change the MAC of %s in %s by hand: %v", ifname, p.name, err)
	}
}

// readOnlyDir mounts a read-only tmpfs at dir for the case.
func (t *kt) readOnlyDir(dir string) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("%v", err)
	}
	if err := mount("e2e-ro", dir, "tmpfs", unix.MS_RDONLY, "mode=0700"); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = os.Remove(dir)
	})
}

// staleAttachment is an attachment the plugin made for a sandbox no
// runtime and no Multus knows.
type staleAttachment struct {
	sb  *pod
	vf  vfSpec
	net *libcni.NetworkConfigList
}

func (t *kt) stale(name string, conf map[string]any, v vfSpec) staleAttachment {
	c := map[string]any{}
	for k, val := range conf {
		c[k] = val
	}
	c["deviceID"] = v.addr
	s := staleAttachment{sb: t.T.pod(name), vf: v, net: t.list(asList(c))}
	s.sb.cid = "stale-" + name
	rt := &libcni.RuntimeConf{ContainerID: s.sb.cid, NetNS: s.sb.netns, IfName: "net1",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", k8sNamespace}, {"K8S_POD_NAME", name}}}
	ctx, cancel := context.WithTimeout(t.ctx, cmdTimeout)
	defer cancel()
	if _, err := t.n.cni.AddNetworkList(ctx, s.net, rt); err != nil {
		t.Fatalf("ADD of the plugin alone for %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(contextForTeardown(), cmdTimeout)
		defer cancel()
		if err := t.n.cni.DelNetworkList(ctx, s.net, rt); err != nil {
			t.Errorf("cleanup: DEL of %s: %v", name, err)
		}
	})
	return s
}

// isHome: the VF's netdev is back on the host as it began.
func (t *kt) isHome(v vfSpec) bool {
	links, err := t.links("")
	if err != nil {
		t.Fatalf("%v", err)
	}
	k, ok := links[v.netdev]
	return ok && len(k.diff(t.baseline[v.netdev])) == 0
}
