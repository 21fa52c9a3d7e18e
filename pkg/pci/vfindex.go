package pci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// sriovGeometry is what the PF's SR-IOV capability says about where its VFs live.
type sriovGeometry struct {
	offset, stride, numVFs int
}

func readGeometry(pfDir string) (sriovGeometry, error) {
	var g sriovGeometry
	for _, f := range []struct {
		name string
		dst  *int
	}{{"sriov_offset", &g.offset}, {"sriov_stride", &g.stride}, {"sriov_numvfs", &g.numVFs}} {
		v, err := readInt(filepath.Join(pfDir, f.name))
		if err != nil {
			return sriovGeometry{}, fmt.Errorf("read pf %s: %w", f.name, err)
		}
		*f.dst = v
	}
	return g, nil
}

// vfIndexOf computes a VF's index from PCIe routing IDs. The SR-IOV spec
// places VF n at RID(PF) + First VF Offset + n * VF Stride, possibly on a bus
// number above the PF's, always in the PF's domain. The kernel only allows a
// zero stride when the PF has a single VF.
func vfIndexOf(vf, pf string, g sriovGeometry) (int, error) {
	v, p := parseLocation(vf), parseLocation(pf)
	if v.domain != p.domain {
		return 0, fmt.Errorf("vf %s is in another pci domain than its pf %s: %w", vf, pf, ErrNotVF)
	}
	delta := v.rid - p.rid - g.offset
	if delta < 0 {
		return 0, fmt.Errorf("vf %s sits before the first vf of pf %s (sriov_offset %d): %w", vf, pf, g.offset, ErrNotVF)
	}
	var idx int
	switch {
	case g.stride > 0 && delta%g.stride == 0:
		idx = delta / g.stride
	case g.stride == 0 && delta == 0:
		idx = 0
	default:
		return 0, fmt.Errorf("vf %s is not on the sriov_stride %d grid of pf %s (sriov_offset %d): %w",
			vf, g.stride, pf, g.offset, ErrNotVF)
	}
	if idx >= g.numVFs {
		return 0, fmt.Errorf("vf %s would be vf %d but pf %s has sriov_numvfs %d: %w", vf, idx, pf, g.numVFs, ErrNotVF)
	}
	return idx, nil
}

// confirmIndex reads the one virtfn link the arithmetic points at. It catches a
// PF whose offset/stride changed under us (they depend on NumVFs) or a tree
// that lies; it never lists the PF directory, which holds one link per VF.
func confirmIndex(pfDir, vf string, idx int) error {
	link := "virtfn" + strconv.Itoa(idx)
	target, err := os.Readlink(filepath.Join(pfDir, link))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pf has no %s link for vf %s: %w", link, vf, ErrNotVF)
	}
	if err != nil {
		return fmt.Errorf("read pf %s link: %w", link, err)
	}
	if got := filepath.Base(target); got != vf {
		return fmt.Errorf("pf %s points at %s, not at %s: %w", link, got, vf, ErrNotVF)
	}
	return nil
}
