package main

// The k8s lane's node: the files a Multus node has (kubeconfigs under
// /etc/cni/net.d, the PodResources socket under /var/lib/kubelet), the CNI
// bin directory, and the lane in the kubelet's role: it admits pods (gives
// them VFs from the device plugin's pool, which the PodResources stand-in
// then reports), makes their sandboxes and runs CNI through libcni, the
// library containerd and CRI-O use, with Multus as the node's network.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

const (
	vfResource       = "nvidia.com/rdma_vf" // the SR-IOV device plugin's pool
	podResourcesSock = "/var/lib/kubelet/pod-resources/kubelet.sock"
	multusKubeconfig = "/etc/cni/net.d/multus.d/multus.kubeconfig"
	whereaboutsDir   = "/etc/cni/net.d/whereabouts.d"
	multusCacheDir   = "/var/lib/cni/multus"
	runtimeCacheDir  = "/var/lib/cni" // libcni's default, the runtime's own cache
	hostLocalDir     = "/var/lib/cni/networks"
	devInfoDir       = "/run/k8s.cni.cncf.io/devinfo"
	clusterNetName   = "cluster-net"
	clusterSubnet    = "192.168.77.0/24"
)

// k8sNode is the node and the lane's kubelet.
type k8sNode struct {
	c      *cluster
	cniBin string
	cni    *libcni.CNIConfig

	mu        sync.Mutex
	pool      []string          // VF PCI addresses the device plugin offers
	owner     map[string]string // VF -> pod name
	admitted  map[string]*k8sPod
	statePath string
}

// setUpNode mounts the node's configuration directories (tmpfs, in the
// lane's mount namespace), writes the kubeconfigs Multus and whereabouts
// read, links the CNI programs into one bin directory and starts the
// PodResources stand-in.
func (c *cluster) setUpNode() (*k8sNode, error) {
	l := c.l
	n := &k8sNode{
		c: c, cniBin: filepath.Join(c.dir, "cni-bin"),
		owner: map[string]string{}, admitted: map[string]*k8sPod{},
		statePath: filepath.Join(c.dir, "podresources.json"),
	}
	for _, d := range []string{"/etc/cni", "/var/lib/kubelet"} {
		if err := l.mountTmpfs(d); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{filepath.Dir(multusKubeconfig), whereaboutsDir, filepath.Dir(podResourcesSock), n.cniBin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	links := map[string]string{
		"sriov-rdma":  l.plugin,
		"host-local":  filepath.Join(l.root, ".tools", "bin", "host-local"),
		"multus":      c.paths.bin("multus"),
		"multus-shim": c.paths.bin("multus-shim"),
		"whereabouts": c.paths.bin("whereabouts"),
		"macvlan":     c.paths.bin("macvlan"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(n.cniBin, name)); err != nil {
			return nil, err
		}
	}
	// The plugins' stderr goes to a log of its own, as a runtime keeps it:
	// Multus, whereabouts and client-go's klog write there.
	stderr, err := os.OpenFile(filepath.Join(c.paths.logs, "cni-stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	l.onTearDown("close cni-stderr.log", stderr.Close)
	n.cni = libcni.NewCNIConfigWithCacheDir([]string{n.cniBin}, runtimeCacheDir, &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: stderr}})

	mk, err := c.kubeconfig("multus", c.multusToken, "kube-system")
	if err != nil {
		return nil, err
	}
	wk, err := c.kubeconfig("whereabouts", c.whereaboutsToken, "kube-system")
	if err != nil {
		return nil, err
	}
	wconf := fmt.Sprintf(`{"datastore": "kubernetes", "kubernetes": {"kubeconfig": %q}, "log_file": %q, "log_level": "debug"}`,
		filepath.Join(whereaboutsDir, "whereabouts.kubeconfig"), filepath.Join(c.paths.logs, "whereabouts.log"))
	for path, b := range map[string][]byte{
		multusKubeconfig: mk,
		filepath.Join(whereaboutsDir, "whereabouts.kubeconfig"): wk,
		filepath.Join(whereaboutsDir, "whereabouts.conf"):       []byte(wconf),
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	}

	for _, v := range l.vfs {
		n.pool = append(n.pool, v.addr)
	}
	if err := n.writePodResources(); err != nil {
		return nil, err
	}
	if _, err := c.startProcess("podresources", c.paths.bin("sriov-rdma-podresources"),
		"-socket", podResourcesSock, "-state", n.statePath); err != nil {
		return nil, err
	}
	err = poll(10*time.Second, func() error {
		if err := c.exited(); err != nil {
			return stopPolling{err}
		}
		_, err := os.Stat(podResourcesSock)
		return err
	})
	return n, unwrapStop(err)
}

// writePodResources is the kubelet's device manager state as the stand-in
// serves it: every admitted pod's devices, and the whole pool.
func (n *k8sNode) writePodResources() error {
	type device struct {
		ResourceName string   `json:"resourceName"`
		DeviceIDs    []string `json:"deviceIds"`
	}
	type container struct {
		Name    string   `json:"name"`
		Devices []device `json:"devices"`
	}
	type podRes struct {
		Namespace  string      `json:"namespace"`
		Name       string      `json:"name"`
		Containers []container `json:"containers"`
	}
	st := struct {
		Pods        []podRes `json:"pods"`
		Allocatable []device `json:"allocatable"`
	}{Pods: []podRes{}, Allocatable: []device{{vfResource, n.pool}}}
	names := make([]string, 0, len(n.admitted))
	for name := range n.admitted {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := n.admitted[name]
		pr := podRes{Namespace: k8sNamespace, Name: name, Containers: []container{{Name: "app"}}}
		if len(p.devices) > 0 {
			pr.Containers[0].Devices = []device{{vfResource, p.devices}}
		}
		st.Pods = append(st.Pods, pr)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := n.statePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.statePath)
}

// k8sPod is a pod the lane created: its API object, the VFs the lane's
// kubelet gave it, its sandbox, and the network config the runtime uses.
type k8sPod struct {
	name    string
	uid     string
	sb      *pod // netns, container ID
	devices []string
	net     *libcni.NetworkConfigList
	added   bool // ADD succeeded and no DEL ran since
}

// podSpec says what a pod asks for.
type podSpec struct {
	networks string // k8s.v1.cni.cncf.io/networks
	vfs      int    // nvidia.com/rdma_vf requested
}

// admit creates the Pod object (bound to this node), gives it VFs, writes
// what the PodResources API reports, and makes its sandbox netns.
func (n *k8sNode) admit(ctx context.Context, name string, spec podSpec, net *libcni.NetworkConfigList) (*k8sPod, error) {
	meta := map[string]any{"name": name, "namespace": k8sNamespace}
	if spec.networks != "" {
		meta["annotations"] = map[string]string{"k8s.v1.cni.cncf.io/networks": spec.networks}
	}
	ctr := map[string]any{"name": "app", "image": "registry.invalid/app:none"}
	if spec.vfs > 0 {
		q := map[string]string{vfResource: fmt.Sprint(spec.vfs)}
		ctr["resources"] = map[string]any{"requests": q, "limits": q}
	}
	var created struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := n.c.admin.createJSON(ctx, map[string]any{
		"apiVersion": "v1", "kind": "Pod", "metadata": meta,
		"spec": map[string]any{"nodeName": k8sNodeName, "containers": []any{ctr}},
	}, &created); err != nil {
		return nil, err
	}
	p := &k8sPod{name: name, uid: created.Metadata.UID, net: net}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, vf := range n.pool {
		if len(p.devices) == spec.vfs {
			break
		}
		if n.owner[vf] == "" {
			n.owner[vf] = name
			p.devices = append(p.devices, vf)
		}
	}
	if len(p.devices) < spec.vfs {
		return nil, fmt.Errorf("pod %s asks for %d VFs, %d are free", name, spec.vfs, len(p.devices))
	}
	n.admitted[name] = p
	if err := n.writePodResources(); err != nil {
		return nil, err
	}
	sb, err := n.c.l.newPod(name)
	if err != nil {
		return nil, err
	}
	// A runtime's sandbox ID: 64 hex digits, unique per sandbox.
	sum := sha256.Sum256([]byte(name + "/" + p.uid))
	sb.cid = hex.EncodeToString(sum[:])
	p.sb = sb
	return p, nil
}

// forget is the kubelet's side of a pod's end: its VFs go back to the
// pool and its sandbox netns is deleted.
func (n *k8sNode) forget(p *k8sPod) error {
	n.mu.Lock()
	for _, vf := range p.devices {
		delete(n.owner, vf)
	}
	delete(n.admitted, p.name)
	err := n.writePodResources()
	n.mu.Unlock()
	if _, serr := os.Stat(p.sb.netns); serr == nil {
		if derr := n.c.l.ip("netns", "del", p.name); derr != nil && err == nil {
			err = derr
		}
	}
	return err
}

// rt is the runtime's view of the pod's sandbox, with the CNI_ARGS
// containerd and CRI-O pass.
func (p *k8sPod) rt() *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: p.sb.cid,
		NetNS:       p.sb.netns,
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", k8sNamespace},
			{"K8S_POD_NAME", p.name},
			{"K8S_POD_INFRA_CONTAINER_ID", p.sb.cid},
			{"K8S_POD_UID", p.uid},
		},
	}
}

func (n *k8sNode) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.c.l.ctx, 60*time.Second)
}

// add is the runtime's CNI ADD of the pod's network (Multus).
func (n *k8sNode) add(p *k8sPod) error {
	ctx, cancel := n.ctx()
	defer cancel()
	_, err := n.cni.AddNetworkList(ctx, p.net, p.rt())
	return err
}

// del is the runtime's CNI DEL; it runs on teardown too, after an interrupt.
func (n *k8sNode) del(p *k8sPod) error {
	ctx, cancel := context.WithTimeout(contextForTeardown(), 60*time.Second)
	defer cancel()
	return n.cni.DelNetworkList(ctx, p.net, p.rt())
}

func (n *k8sNode) check(p *k8sPod) error {
	ctx, cancel := n.ctx()
	defer cancel()
	return n.cni.CheckNetworkList(ctx, p.net, p.rt())
}

func (n *k8sNode) status(net *libcni.NetworkConfigList) error {
	ctx, cancel := n.ctx()
	defer cancel()
	return n.cni.GetStatusNetworkList(ctx, net)
}

// gc is the runtime's GC: every pod still running is a valid attachment.
func (n *k8sNode) gc(net *libcni.NetworkConfigList, live ...*k8sPod) error {
	ctx, cancel := n.ctx()
	defer cancel()
	args := &libcni.GCArgs{}
	for _, p := range live {
		args.ValidAttachments = append(args.ValidAttachments, types.GCAttachment{ContainerID: p.sb.cid, IfName: "eth0"})
	}
	return n.cni.GCNetworkList(ctx, net, args)
}
