package pci

import (
	"errors"
	"strings"
	"testing"
)

// The routing-ID arithmetic on its own, for the geometries a fixture cannot
// reach (cross-domain physfn, single-VF zero stride).
func TestVFIndexOf(t *testing.T) {
	igb := sriovGeometry{offset: 128, stride: 2, numVFs: 7}
	tests := []struct {
		name    string
		vf, pf  string
		geo     sriovGeometry
		want    int
		wantErr string // "" = success; else must wrap ErrNotVF and say this
	}{
		{"igb vf0", "0000:01:10.0", "0000:01:00.0", igb, 0, ""},
		{"igb vf6, last of 7", "0000:01:11.4", "0000:01:00.0", igb, 6, ""},
		{"igb vf3", "0000:01:10.6", "0000:01:00.0", igb, 3, ""},
		{"next bus", "0000:02:00.0", "0000:01:00.0", sriovGeometry{128, 2, 256}, 64, ""},
		{"second pf function", "0000:3b:02.1", "0000:3b:00.1", sriovGeometry{15, 1, 16}, 1, ""},
		{"zero stride, single vf", "0000:05:00.4", "0000:05:00.0", sriovGeometry{4, 0, 1}, 0, ""},
		{"zero stride, wrong function", "0000:05:00.5", "0000:05:00.0", sriovGeometry{4, 0, 1}, 0, "not on the sriov_stride"},
		{"other domain", "0001:01:10.0", "0000:01:00.0", igb, 0, "another pci domain"},
		{"before first vf", "0000:01:00.1", "0000:01:00.0", igb, 0, "before the first vf"},
		{"odd function on stride 2", "0000:01:10.1", "0000:01:00.0", igb, 0, "not on the sriov_stride 2 grid"},
		{"beyond numvfs", "0000:01:11.6", "0000:01:00.0", igb, 0, "vf 7 but pf 0000:01:00.0 has sriov_numvfs 7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vfIndexOf(tc.vf, tc.pf, tc.geo)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("vfIndexOf(%s, %s, %+v) = %d, %v; want %d", tc.vf, tc.pf, tc.geo, got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrNotVF) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("vfIndexOf(%s, %s, %+v) err = %v; want ErrNotVF saying %q", tc.vf, tc.pf, tc.geo, err, tc.wantErr)
			}
		})
	}
}
