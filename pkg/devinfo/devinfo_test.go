package devinfo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
)

// file is a device-info file whose root is its own directory.
func file(path string) devinfo.File { return devinfo.File{Root: filepath.Dir(path), Path: path} }

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
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:02.1", RDMADevice: "mlx5_7", PFPCIAddress: "0000:3b:00.0", RoCEv2GIDIndex: &idx}); err != nil {
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
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:02.1", RDMADevice: "mlx5_7"}); err != nil {
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
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Fatal("merged into a file that is not JSON")
	}
}

func TestRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err != nil {
		t.Fatal(err)
	}
	if err := file(path).Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if err := file(path).Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := (devinfo.File{}).Remove(); err != nil {
		t.Errorf("Remove of no path: %v", err)
	}
}

// A file that is no device-info document (a CNI config, say) is neither
// merged into nor replaced.
func TestWriteLeavesOtherJSONAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	const conflist = `{"cniVersion":"1.0.0","name":"node","plugins":[{"type":"bridge"}]}`
	if err := os.WriteFile(path, []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Fatal("merged into a JSON file that is not device-info")
	}
	if b, _ := os.ReadFile(path); string(b) != conflist {
		t.Errorf("file changed to %s", b)
	}
}

// Below its root, a device-info path follows no link: not as the file,
// not as a directory on the way.
func TestNoLinkFollowed(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	target := filepath.Join(outside, "10-net.conflist")
	if err := os.WriteFile(target, []byte(`{"type":"pci"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "cni")); err != nil {
		t.Fatal(err)
	}
	f := devinfo.File{Root: root, Path: filepath.Join(root, "link.json")}
	if err := f.Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Errorf("wrote through a link")
	}
	through := devinfo.File{Root: root, Path: filepath.Join(root, "cni", "10-net.conflist")}
	if err := through.Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Errorf("wrote through a linked directory")
	}
	if err := through.Remove(); err == nil {
		t.Errorf("removed through a linked directory")
	}
	if b, _ := os.ReadFile(target); string(b) != `{"type":"pci"}` {
		t.Errorf("the file outside the root changed: %s", b)
	}
	outsideRoot := devinfo.File{Root: root, Path: target}
	if err := outsideRoot.Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err == nil {
		t.Errorf("wrote outside the root")
	}
}

func TestExists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cni", "net1.json")
	f := file(path)
	f.Root = filepath.Dir(filepath.Dir(path))
	if ok, err := f.Exists(); ok || err != nil {
		t.Fatalf("Exists before: %v %v", ok, err)
	}
	if err := f.Write(devinfo.PCI{PCIAddress: "0000:3b:02.1"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Exists(); !ok || err != nil {
		t.Fatalf("Exists after: %v %v", ok, err)
	}
}
