package devinfofields

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	nadutils "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/utils"
)

// TestFieldsThatSurviveMultus pins the README's table: the spec's pci
// fields reach network-status, the plugin's roce-v2-gid-index does not
// (Multus parses the file into a typed struct). If a new Multus keeps it,
// this fails and the README's advice changes.
func TestFieldsThatSurviveMultus(t *testing.T) {
	// The plugin's own output for a VF with every field, pinned by
	// pkg/devinfo's golden test: this module does not import the plugin's,
	// so it builds against the same dependency versions as Multus.
	path := filepath.Join("..", "..", "..", "pkg", "devinfo", "testdata", "all-fields.json")
	info, err := nadutils.LoadDeviceInfoFromCNI(path)
	if err != nil {
		t.Fatalf("Multus's reader refused the file: %v", err)
	}
	_, ipnet, _ := net.ParseCIDR("10.56.0.10/24")
	ipnet.IP = net.ParseIP("10.56.0.10")
	res := &current.Result{
		CNIVersion: "1.1.0",
		Interfaces: []*current.Interface{{Name: "net1", Mac: "02:00:00:00:00:01", Sandbox: "/run/netns/p"}},
		IPs:        []*current.IPConfig{{Address: *ipnet, Interface: current.Int(0)}},
	}
	statuses, err := nadutils.CreateNetworkStatuses(res, "ns/rdma-net", false, info)
	if err != nil || len(statuses) != 1 {
		t.Fatalf("CreateNetworkStatuses: %v, %d statuses", err, len(statuses))
	}
	b, err := json.Marshal(statuses[0])
	if err != nil {
		t.Fatal(err)
	}
	var status struct {
		DeviceInfo map[string]any `json:"device-info"`
	}
	if err := json.Unmarshal(b, &status); err != nil {
		t.Fatal(err)
	}
	pci, _ := status.DeviceInfo["pci"].(map[string]any)
	want := map[string]any{"pci-address": "0000:3b:00.2", "rdma-device": "mlx5_2", "pf-pci-address": "0000:3b:00.0"}
	for k, v := range want {
		if pci[k] != v {
			t.Errorf("network-status device-info pci.%s = %v, want %v (in %s)", k, pci[k], v, b)
		}
	}
	if status.DeviceInfo["type"] != "pci" || status.DeviceInfo["version"] != "1.1.0" {
		t.Errorf("network-status device-info type/version = %v/%v, want pci/1.1.0", status.DeviceInfo["type"], status.DeviceInfo["version"])
	}
	var kept []string
	for _, k := range []string{"pci-address", "rdma-device", "pf-pci-address", "roce-v2-gid-index"} {
		if _, ok := pci[k]; ok {
			kept = append(kept, k)
		}
	}
	t.Logf("measured: device-info pci fields Multus v4.3.0 copies into network-status: %s (of pci-address, rdma-device, pf-pci-address, roce-v2-gid-index)", strings.Join(kept, ", "))
	if _, kept := pci["roce-v2-gid-index"]; kept {
		t.Errorf("Multus now keeps pci.roce-v2-gid-index (%s): update the README's device-info section", b)
	}
	if strings.Contains(string(b), "gid") {
		t.Errorf("a GID field reached network-status: %s", b)
	}
}
