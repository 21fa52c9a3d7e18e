package sriovrdma

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Multus passes a device-info path: ADD writes the VF's PCI address, its
// RDMA device and the RoCE v2 GID index there, DEL removes it.
func TestDeviceInfoAndRoCEv2GID(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	path := filepath.Join(t.TempDir(), "devinfo", "rdma-net-pod-a-net1.json")
	p, conf := n.attached("pod-a", 0, map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": path}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no device-info file: %v", err)
	}
	var doc struct {
		Type    string         `json:"type"`
		Version string         `json:"version"`
		PCI     map[string]any `json:"pci"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Type != "pci" || doc.Version != "1.1.0" || doc.PCI["pci-address"] != n.vfAddr(0) ||
		doc.PCI["rdma-device"] != "mlx5_0" || doc.PCI["pf-pci-address"] != "0000:01:00.0" || doc.PCI["roce-v2-gid-index"] != 1.0 {
		t.Errorf("device-info = %s", b)
	}
	if !strings.Contains(n.logText(), `"gidIndex":1`) {
		t.Errorf("log does not report the GID index")
	}
	n.mustDel(p, conf)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("device-info file left after DEL: %v", err)
	}
}

// An Ethernet VF whose RDMA device never shows a RoCE v2 GID for the pod's
// address cannot carry RoCE v2: required fails, auto says so.
func TestNoRoCEv2GID(t *testing.T) {
	for _, policy := range []string{"required", "auto"} {
		t.Run(policy, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
			n.rdma.noGID = true
			before := n.snapshot()
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"rdma": policy})
			_, err := n.add(p, conf)
			if policy == "required" {
				if err == nil || !strings.Contains(err.Error(), "RoCE v2") {
					t.Fatalf("ADD = %v, want a refusal naming RoCE v2", err)
				}
				n.sameAs(before, "refused ADD changed the node")
				return
			}
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			if !strings.Contains(n.logText(), "confirm the NIC has RoCE v2 enabled") {
				t.Errorf("log does not advise on RoCE v2")
			}
		})
	}
}
