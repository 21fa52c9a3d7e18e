package devinfo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
)

func read(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	return m
}

func TestWriteNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devinfo", "net1.json")
	idx := 3
	if err := devinfo.Write(path, devinfo.PCI{PCIAddress: "0000:3b:02.1", RDMADevice: "mlx5_7", PFPCIAddress: "0000:3b:00.0", RoCEv2GIDIndex: &idx}); err != nil {
		t.Fatal(err)
	}
	m := read(t, path)
	if m["type"] != "pci" || m["version"] != "1.1.0" {
		t.Errorf("type/version = %v/%v", m["type"], m["version"])
	}
	pci := m["pci"].(map[string]any)
	if pci["pci-address"] != "0000:3b:02.1" || pci["rdma-device"] != "mlx5_7" || pci["pf-pci-address"] != "0000:3b:00.0" || pci["roce-v2-gid-index"] != 3.0 {
		t.Errorf("pci = %v", pci)
	}
}

// The device plugin may have written the file first: its fields stay.
func TestWriteKeepsForeignFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	if err := os.WriteFile(path, []byte(`{"type":"pci","version":"1.0.0","pci":{"pci-address":"0000:3b:02.1","vhost-net":"/dev/vhost-net"},"vendor":{"x":1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := devinfo.Write(path, devinfo.PCI{PCIAddress: "0000:3b:02.1", RDMADevice: "mlx5_7"}); err != nil {
		t.Fatal(err)
	}
	m := read(t, path)
	pci := m["pci"].(map[string]any)
	if pci["vhost-net"] != "/dev/vhost-net" || m["vendor"] == nil {
		t.Errorf("foreign fields lost: %v", m)
	}
	if pci["rdma-device"] != "mlx5_7" || m["version"] != "1.1.0" {
		t.Errorf("our fields missing: %v", m)
	}
	if _, ok := pci["roce-v2-gid-index"]; ok {
		t.Errorf("absent GID index written: %v", pci)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
}

func TestWriteRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := devinfo.Write(path, devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Fatal("merged into a file that is not JSON")
	}
}

func TestRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	if err := devinfo.Write(path, devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err != nil {
		t.Fatal(err)
	}
	if err := devinfo.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if err := devinfo.Remove(path); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := devinfo.Remove(""); err != nil {
		t.Errorf("Remove of no path: %v", err)
	}
}
