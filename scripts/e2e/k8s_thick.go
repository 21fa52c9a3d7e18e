package main

// Thick Multus: multus-daemon runs as a host process of the lane (on a
// cluster, a DaemonSet pod with the host's paths mounted) and the runtime
// calls multus-shim, which hands each request to the daemon over its unix
// socket; the daemon runs the delegates, sriov-rdma among them, as its own
// children. It is configured as its upstream DaemonSet configures it:
// "multusConfigFile": "auto", so it writes the node's 00-multus.conf itself
// from the primary network it finds in /etc/cni/net.d, and it talks to the
// apiserver with in-cluster credentials (its service account's token).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/libcni"
)

const (
	thickSocketDir  = "/run/multus/"
	thickConfig     = "/etc/cni/net.d/00-multus.conf"
	inClusterSecret = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// startThick writes the cluster network as the node's primary CNI config,
// starts multus-daemon and returns the network it generated for the
// runtime.
//
// The primary config is a single-plugin .conf, not a .conflist: Multus
// 4.3.0 loads a conflist named by "clusterNetwork" through its typed
// NetConfList, and the copy it caches for DEL keeps only the standard
// fields (macvlan's "master", "mode" and host-local's "ranges" are lost), so
// the cluster network's DEL fails with "no IP ranges specified" and its
// address leaks. A .conf is cached byte for byte.
func (n *k8sNode) startThick(cluster map[string]any) (*libcni.NetworkConfigList, error) {
	c := n.c
	primary := map[string]any{"cniVersion": cluster["cniVersion"], "name": cluster["name"]}
	for k, v := range cluster["plugins"].([]any)[0].(map[string]any) {
		primary[k] = v
	}
	b, err := json.Marshal(primary)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join("/etc/cni/net.d", "10-"+clusterNetName+".conf"), b, 0o644); err != nil {
		return nil, err
	}
	// In-cluster credentials, where client-go's InClusterConfig reads
	// them (/var/run is the lane's /run tmpfs).
	ca, err := os.ReadFile(c.ca)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(inClusterSecret, 0o755); err != nil {
		return nil, err
	}
	for name, content := range map[string][]byte{"token": []byte(c.multusToken), "ca.crt": ca, "namespace": []byte("kube-system")} {
		if err := os.WriteFile(filepath.Join(inClusterSecret, name), content, 0o600); err != nil {
			return nil, err
		}
	}
	daemonConf := map[string]any{
		"cniVersion":          "1.1.0",
		"logLevel":            "verbose",
		"logFile":             filepath.Join(c.paths.logs, "multus-daemon-cni.log"),
		"logToStderr":         false,
		"cniConfigDir":        "/etc/cni/net.d",
		"multusAutoconfigDir": "/etc/cni/net.d",
		"multusConfigFile":    "auto",
		"socketDir":           thickSocketDir,
		"binDir":              n.cniBin,
		"cniDir":              multusCacheDir,
	}
	path := filepath.Join(filepath.Dir(multusKubeconfig), "daemon-config.json")
	if b, err = json.Marshal(daemonConf); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	env := []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=" + apiserverPort, "MULTUS_NODE_NAME=" + k8sNodeName}
	if _, err := c.startProcessEnv("multus-daemon", env, c.paths.bin("multus-daemon"), "-config", path); err != nil {
		return nil, err
	}
	var list *libcni.NetworkConfigList
	err = poll(60*time.Second, func() error {
		if err := c.exited(); err != nil {
			return stopPolling{err}
		}
		if _, err := os.Stat(filepath.Join(thickSocketDir, "multus.sock")); err != nil {
			return err
		}
		var lerr error
		list, lerr = confAsList(thickConfig)
		return lerr
	})
	if err != nil {
		return nil, fmt.Errorf("multus-daemon did not come up: %w", unwrapStop(err))
	}
	return list, nil
}

// Case 9 under thick Multus: the generated config names the cluster
// network by path ("clusterNetwork") and lists no static delegates, so
// CHECK, which Multus sends only to static delegates, reaches no network at
// all, the cluster network's macvlan included; GC and STATUS go to the
// cluster network (the daemon runs the same CmdGC and CmdStatus as the thin
// plugin), never to a NAD's.
func caseK8sVerbsThick(t *kt) {
	t.nad("vbt-net", vfResource, ourConf("vbt-net", "1.1.0", hostLocalIPAM("10.56.0.70", "10.56.0.79")))
	a := t.pod("vbt-a", podSpec{networks: "vbt-net", vfs: 1})
	t.add(a)
	if err := t.n.check(a); err != nil {
		t.Fatalf("CHECK of vbt-a before any drift: %v", err)
	}
	t.driftMAC(a, "net1", "02:e2:e2:00:0a:01")
	errNAD := t.n.check(a)
	t.driftMAC(a, "eth0", "02:e2:e2:00:0a:02")
	errCluster := t.n.check(a)
	if errNAD != nil || errCluster != nil {
		t.Errorf("Multus thick CHECK reported a drift: net1 %v, eth0 %v (the README says CHECK reaches no network under thick)", errNAD, errCluster)
	}
	t.measured("CHECK reaches under thick: the cluster network (macvlan) %s; a NAD's network %s", reached(errCluster != nil), reached(errNAD != nil))

	t.readOnlyDir(readOnlyStateDir)
	statusConf := ourConf("vbt-status", "1.1.0", nil)
	statusConf["stateDir"] = readOnlyStateDir
	if err := t.n.status(t.list(asList(statusConf))); err == nil {
		t.Fatalf("STATUS of the plugin alone with a read-only stateDir succeeded")
	}
	t.nad("vbt-status-nad", vfResource, statusConf)
	errStatus := t.n.status(t.multus)
	if errStatus != nil {
		t.Errorf("Multus thick STATUS failed with a failing NAD of ours: %v", errStatus)
	}
	staleA := t.stale("vbt-stale", ourConf("vbt-net", "1.1.0", hostLocalIPAM("10.56.0.70", "10.56.0.79")), t.reserve(t.vfs[len(t.vfs)-1]))
	if err := t.n.gc(t.multus, a); err != nil {
		t.Errorf("Multus thick GC: %v", err)
	}
	gcNAD := t.isHome(staleA.vf)
	if gcNAD {
		t.Errorf("Multus thick GC restored a NAD network's attachment")
	}
	t.podLink(a.sb, "net1")
	t.measured("STATUS under thick reaches a NAD's network: %s; GC: %s", reached(errStatus != nil), reached(gcNAD))
}

// confAsList loads a single-plugin .conf the way runtimes do: as a list of
// that one plugin, under the conf's name and version.
func confAsList(path string) (*libcni.NetworkConfigList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	list, err := json.Marshal(map[string]any{"cniVersion": conf["cniVersion"], "name": conf["name"], "plugins": []any{conf}})
	if err != nil {
		return nil, err
	}
	return libcni.NetworkConfFromBytes(list)
}
