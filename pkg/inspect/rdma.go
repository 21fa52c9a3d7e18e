package inspect

import (
	"os"
	"path/filepath"
	"strings"
)

// roceOf says whether any of the VF's RDMA devices has a RoCE v2 GID.
func (c *collector) roceOf(devs []RDMADevice) string {
	if len(devs) == 0 {
		return ""
	}
	inPod := false
	for _, d := range devs {
		if d.InPod {
			inPod = true
			continue
		}
		if c.hasRoCEv2(d.Name) {
			return RoCEYes
		}
	}
	if inPod {
		return RoCEInPod
	}
	return RoCENo
}

// hasRoCEv2 reads the GID types of every port of an RDMA device. The kernel
// answers EINVAL for unused GID entries: unreadable entries are skipped.
func (c *collector) hasRoCEv2(dev string) bool {
	ports := filepath.Join(c.o.SysfsRoot, "class", "infiniband", dev, "ports")
	for _, p := range dirNames(ports) {
		types := filepath.Join(ports, p, "gid_attrs", "types")
		for _, g := range dirNames(types) {
			b, err := os.ReadFile(filepath.Join(types, g))
			if err == nil && strings.TrimSpace(string(b)) == "RoCE v2" {
				return true
			}
		}
	}
	return false
}
