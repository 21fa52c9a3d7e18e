// Package devinfo writes the device-info file of the Kubernetes network
// plumbing WG's device-info spec: Multus passes its path (capability
// CNIDeviceInfoFile) and copies the file into the pod's network-status
// annotation, so a workload finds its VF's PCI address and RDMA device
// without guessing.
package devinfo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Spec constants of the device-info file this plugin writes.
const (
	TypePCI = "pci"
	Version = "1.1.0"
)

// PCI is what the plugin knows of the VF. Empty fields are left out.
type PCI struct {
	PCIAddress   string `json:"pci-address,omitempty"`
	RDMADevice   string `json:"rdma-device,omitempty"`
	PFPCIAddress string `json:"pf-pci-address,omitempty"`
	// RoCEv2GIDIndex is this plugin's extra field: the index of the RoCE v2
	// GID that carries the pod's address (NCCL_IB_GID_INDEX); nil when
	// there is none.
	RoCEv2GIDIndex *int `json:"roce-v2-gid-index,omitempty"`
}

// Write merges info into the file at path and replaces it atomically:
// fields another writer (the SR-IOV device plugin) put there are kept,
// ours overwrite theirs, and a reader never sees half a file.
func Write(path string, info PCI) error {
	doc := map[string]any{}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("device-info file %s exists but is not JSON: %w", path, err)
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read device-info file %s: %w", path, err)
	}
	pci, _ := doc[TypePCI].(map[string]any)
	if pci == nil {
		pci = map[string]any{}
	}
	ours, err := toMap(info)
	if err != nil {
		return err
	}
	for k, v := range ours {
		pci[k] = v
	}
	doc["type"] = TypePCI
	doc["version"] = Version
	doc[TypePCI] = pci
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode device-info: %w", err)
	}
	return writeAtomic(path, data)
}

func toMap(info PCI) (map[string]any, error) {
	b, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encode device-info: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode device-info: %w", err)
	}
	return m, nil
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".devinfo-*")
	if err != nil {
		return fmt.Errorf("create temp in %s: %w", dir, err)
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", name, err)
	}
	// Readable by the pod's tooling (Multus copies it; it holds no secret).
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}

// Remove deletes the file; a missing one is not an error.
func Remove(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove device-info file %s: %w", path, err)
	}
	return nil
}
