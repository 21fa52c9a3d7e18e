package main

// Network configuration of the k8s lane: the node's Multus config (thin
// plugin, the cluster network as its first delegate), the cluster network
// (macvlan + host-local on the management parent), NADs of ours, and the
// pod's network-status annotation as Multus writes it.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
)

// clusterNet is the cluster network every pod's eth0 is on.
func clusterNet() map[string]any {
	return map[string]any{
		"cniVersion": "1.1.0",
		"name":       clusterNetName,
		"plugins": []any{map[string]any{
			"type": "macvlan", "master": mgmtParent, "mode": "bridge",
			"ipam": map[string]any{"type": "host-local", "ranges": [][]map[string]any{{{
				"subnet": clusterSubnet, "rangeStart": "192.168.77.100", "rangeEnd": "192.168.77.200",
			}}}},
		}},
	}
}

// multusNet is the node's network as the runtime reads it from
// /etc/cni/net.d: Multus thin with the given cluster network as its only
// static delegate (what Multus's own entrypoint generates), Kubernetes
// networks from NADs added per pod.
func (n *k8sNode) multusNet(name string, cluster map[string]any) (*libcni.NetworkConfigList, error) {
	conf := map[string]any{
		"cniVersion": "1.1.0",
		"name":       name,
		"plugins": []any{map[string]any{
			"type":       "multus",
			"kubeconfig": multusKubeconfig,
			"cniDir":     multusCacheDir,
			"binDir":     n.cniBin,
			"logFile":    filepath.Join(n.c.paths.logs, "multus.log"),
			"logLevel":   "verbose",
			// Multus also logs to stderr unless told not to.
			"logToStderr": false,
			"delegates":   []any{cluster},
		}},
	}
	b, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(b)
}

// ourConf is a sriov-rdma netconf as a NAD carries it: no deviceID (Multus
// injects it from the VF the pod got), the device-info capability, the
// plugin's files under the roots it accepts.
func ourConf(name, version string, ipam map[string]any) map[string]any {
	c := map[string]any{
		"cniVersion":   version,
		"name":         name,
		"type":         "sriov-rdma",
		"stateDir":     laneStateDir,
		"logFile":      filepath.Join(laneLogDir, name+".log"),
		"logLevel":     "debug",
		"capabilities": map[string]any{"CNIDeviceInfoFile": true},
	}
	if ipam != nil {
		c["ipam"] = ipam
	}
	return c
}

// asList wraps one plugin's config in a conflist of the same name.
func asList(conf map[string]any) map[string]any {
	plugin := map[string]any{}
	for k, v := range conf {
		if k != "cniVersion" && k != "name" {
			plugin[k] = v
		}
	}
	return map[string]any{"cniVersion": conf["cniVersion"], "name": conf["name"], "plugins": []any{plugin}}
}

// hostLocalIPAM hands out rangeStart..rangeEnd of the lane's fabric subnet.
func hostLocalIPAM(start, end string) map[string]any {
	return map[string]any{"type": "host-local", "ranges": [][]map[string]any{{{
		"subnet": subnet, "rangeStart": start, "rangeEnd": end,
	}}}}
}

// createNAD creates a NetworkAttachmentDefinition in the lane's namespace;
// resource "" leaves out the resourceName annotation. config is marshalled
// unless it is already a string (a rendered template).
func (n *k8sNode) createNAD(ctx context.Context, name, resource string, config any) error {
	s, ok := config.(string)
	if !ok {
		b, err := json.Marshal(config)
		if err != nil {
			return err
		}
		s = string(b)
	}
	meta := map[string]any{"name": name, "namespace": k8sNamespace}
	if resource != "" {
		meta["annotations"] = map[string]string{"k8s.v1.cni.cncf.io/resourceName": resource}
	}
	return n.c.admin.createJSON(ctx, map[string]any{
		"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
		"metadata": meta, "spec": map[string]any{"config": s},
	}, nil)
}

// netStatus is one entry of k8s.v1.cni.cncf.io/network-status.
type netStatus struct {
	Name       string   `json:"name"`
	Interface  string   `json:"interface"`
	IPs        []string `json:"ips"`
	Mac        string   `json:"mac"`
	Mtu        int      `json:"mtu"`
	Default    bool     `json:"default"`
	DeviceInfo *struct {
		Type    string         `json:"type"`
		Version string         `json:"version"`
		PCI     map[string]any `json:"pci"`
	} `json:"device-info"`
}

// networkStatus reads the pod's network-status annotation from the API.
func (n *k8sNode) networkStatus(ctx context.Context, name string) ([]netStatus, error) {
	var p struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := n.c.admin.get(ctx, "v1", "Pod", k8sNamespace, name, &p); err != nil {
		return nil, err
	}
	raw, ok := p.Metadata.Annotations["k8s.v1.cni.cncf.io/network-status"]
	if !ok {
		return nil, fmt.Errorf("pod %s has no network-status annotation", name)
	}
	var out []netStatus
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("pod %s: network-status is not a JSON list: %w: %s", name, err, oneLine(raw))
	}
	return out, nil
}
