package main

// The k8s lane (`make k8s-e2e`, scripts/k8s/lane.sh): the plugin under real
// Multus, real whereabouts and a real kube-apiserver, on the e2e lane's
// fixture node. Every client of the plugin is the upstream program; the
// only stand-in is the kubelet's PodResources API (no kubelet runs here),
// and the lane itself plays the kubelet: it admits pods, gives them VFs,
// makes their sandboxes and runs CNI through libcni as a runtime does.
//
//	sriov-rdma-e2e -root R -work W k8s [-v] -- -k8s DIR -logs DIR [CASE...]

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
)

// k8sVFs: the most any case holds at once is three, plus spares so a VF a
// failed case left behind does not starve the next.
const k8sVFs = 8

// k8sCase is a case of the k8s lane; it gets the node besides the lane.
type k8sCase struct {
	name string
	what string
	run  func(t *kt)
}

// kt is a k8s case's view: the e2e lane's T plus the node and its API.
type kt struct {
	*T
	n      *k8sNode
	ctx    context.Context
	multus *libcni.NetworkConfigList // the node's network: Multus thin, cluster network first
	thick  bool                      // multus is the thick shim's
}

func k8sMode(l *Lane, args []string) int {
	fs := flag.NewFlagSet("k8s", flag.ContinueOnError)
	dir := fs.String("k8s", "", "directory with bin/ (kube-apiserver, etcd, multus, whereabouts, macvlan, the PodResources stand-in) and manifests/")
	logs := fs.String("logs", "", "directory for the components' logs (default: under the scratch directory)")
	flavour := fs.String("multus", "thin", "thin (the multus plugin, exec'd per call) or thick (multus-daemon and multus-shim)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *flavour != "thin" && *flavour != "thick" {
		fmt.Fprintf(os.Stderr, "k8s: -multus %q: thin or thick\n", *flavour)
		return 2
	}
	selected, err := selectK8sCases(fs.Args(), *flavour == "thick")
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "k8s: -k8s DIR is required (scripts/k8s/lane.sh prepares it)")
		return 2
	}
	if *logs == "" {
		*logs = filepath.Join(l.work, "k8s-logs")
	}
	start := time.Now()
	// host-local's default data directory, on the lane's /var/lib/cni tmpfs:
	// the node checks between cases count what it still holds.
	l.ipamDir = hostLocalDir
	c, err := startControlPlane(l, k8sPaths{dir: *dir, logs: *logs})
	if err == nil {
		ctx, cancel := context.WithTimeout(l.ctx, 2*time.Minute)
		manifest := "multus-daemonset.yml"
		if *flavour == "thick" {
			manifest = "multus-daemonset-thick.yml"
		}
		err = c.bootstrap(ctx, manifest)
		cancel()
	}
	var n *k8sNode
	if err == nil {
		n, err = c.setUpNode()
	}
	var multus *libcni.NetworkConfigList
	if err == nil {
		if *flavour == "thick" {
			multus, err = n.startThick(clusterNet())
		} else {
			multus, err = n.multusNet(clusterNetName, clusterNet())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s: set up the cluster:", err)
		fmt.Fprintln(os.Stderr, "k8s: component logs are in", *logs)
		return 1
	}
	fmt.Printf("cluster ready in %s, Multus %s (logs: %s)\n", since(start), *flavour, *logs)

	passed, failed := 0, 0
	for _, kc := range selected {
		if l.ctx.Err() != nil {
			break
		}
		ok := l.runCase(tcase{kc.name, kc.what, func(t *T) {
			k := &kt{T: t, n: n, ctx: l.ctx, multus: multus, thick: *flavour == "thick"}
			t.Cleanup(k.clusterClean)
			kc.run(k)
		}})
		if ok {
			passed++
		} else {
			failed++
		}
	}
	fmt.Printf("%d passed, %d failed (%s)\n", passed, failed, since(start))
	if l.ctx.Err() != nil {
		return 130
	}
	if failed > 0 {
		fmt.Println("component logs:", *logs)
		return 1
	}
	return 0
}

// selectK8sCases picks cases by name or number; thick Multus runs its own
// case 9.
func selectK8sCases(args []string, thick bool) ([]k8sCase, error) {
	all := k8sCases()
	if thick {
		all[8] = k8sCase{"verbs", "CHECK, GC and STATUS as thick Multus delivers them: what reaches the plugin", caseK8sVerbsThick}
	}
	if len(args) == 0 {
		return all, nil
	}
	var out []k8sCase
	for _, a := range args {
		found := false
		for i, c := range all {
			if a == c.name || a == fmt.Sprint(i+1) {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			names := make([]string, 0, len(all))
			for _, c := range all {
				names = append(names, c.name)
			}
			return nil, fmt.Errorf("no case %q; cases: %s", a, strings.Join(names, " "))
		}
	}
	return out, nil
}

// clusterClean runs after every case's own cleanups: what a case must not
// leave in the cluster or on the node besides what runCase checks (VFs,
// journals, host-local addresses, netns).
func (t *kt) clusterClean() {
	ctx, cancel := context.WithTimeout(contextForTeardown(), 30*time.Second)
	defer cancel()
	if left := t.n.admittedNames(); len(left) > 0 {
		t.Errorf("pods still admitted: %s", strings.Join(left, " "))
	}
	var pods struct {
		Items []object `json:"items"`
	}
	if err := t.n.c.admin.list(ctx, "v1", "Pod", k8sNamespace, &pods); err != nil {
		t.Errorf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		t.Errorf("pod %s is still in the API", p.Metadata.Name)
		_ = t.n.c.admin.remove(ctx, "v1", "Pod", k8sNamespace, p.Metadata.Name)
	}
	pools, err := t.ipPools(ctx)
	if err != nil {
		t.Errorf("list IPPools: %v", err)
	}
	for _, p := range pools {
		for off, a := range p.Spec.Allocations {
			t.Errorf("IPPool %s still allocates offset %s to %s", p.Metadata.Name, off, a.PodRef)
		}
	}
	// Multus's scratch netconfs and result cache, the runtime's result
	// cache and the device-info files: DEL removes them all.
	for _, dir := range []string{multusCacheDir, filepath.Join(runtimeCacheDir, "results"), devInfoDir} {
		if files := regularFiles(dir); len(files) > 0 {
			t.Errorf("left behind: %s", strings.Join(files, " "))
			for _, f := range files {
				_ = os.Remove(f)
			}
		}
	}
}

// regularFiles lists the files under dir, however deep.
func regularFiles(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

func (n *k8sNode) admittedNames() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for name := range n.admitted {
		out = append(out, name)
	}
	return out
}
