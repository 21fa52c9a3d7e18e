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

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
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

// File is a device-info file: Path lies below Root, one of the node's
// device-info roots (see package confine). No link below Root is followed,
// and nothing above it is created.
type File struct {
	Root string
	Path string
}

// maxFile bounds what is read back of an existing file: a few hundred bytes.
const maxFile = 1 << 20

// Exists reports whether the file is there already (another writer's, such
// as the SR-IOV device plugin's): then it is not this attachment's to remove.
func (f File) Exists() (bool, error) {
	ok, err := confine.Exists(f.Root, f.Path)
	if err != nil {
		return false, fmt.Errorf("device-info file %s: %w", f.Path, err)
	}
	return ok, nil
}

// Write merges info into the file and replaces it atomically: fields
// another writer (the SR-IOV device plugin) put there are kept, ours
// overwrite theirs, and a reader never sees half a file. A file that is not
// a device-info document (not JSON, or JSON of another shape) is refused
// and left as it is.
func (f File) Write(info PCI) error {
	doc := map[string]any{}
	b, err := confine.ReadFile(f.Root, f.Path, maxFile)
	switch {
	case err == nil && len(b) > 0:
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("device-info file %s exists but is not JSON; left as it is: %w", f.Path, err)
		}
		if t := doc["type"]; len(doc) > 0 && t != TypePCI {
			return fmt.Errorf("device-info file %s exists but is not a %q device-info document (type %v); left as it is", f.Path, TypePCI, t)
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read device-info file: %w", err)
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
	// Readable by the pod's tooling (Multus copies it; it holds no secret);
	// directories made on the way are Multus's layout, 0755 too.
	if err := confine.WriteAtomic(f.Root, f.Path, data, 0o644, 0o755, false); err != nil {
		return fmt.Errorf("write device-info file: %w", err)
	}
	return nil
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

// Remove deletes the file (a link there is removed, not followed); a
// missing one, or no file at all, is not an error.
func (f File) Remove() error {
	if f.Path == "" {
		return nil
	}
	if err := confine.Remove(f.Root, f.Path); err != nil {
		return fmt.Errorf("remove device-info file %s: %w", f.Path, err)
	}
	return nil
}
