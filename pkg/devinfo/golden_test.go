package devinfo_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/devinfo"
)

// goldenAllFields is what Write makes of a VF with every field the plugin
// knows. The k8s lane's module feeds this file to Multus's own reader (it
// does not import this module, so it builds against Multus's dependency
// versions): the file must stay exactly what the plugin writes.
const goldenAllFields = "testdata/all-fields.json"

func TestGoldenAllFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net1.json")
	gid := 3
	if err := file(path).Write(devinfo.PCI{PCIAddress: "0000:3b:00.2", RDMADevice: "mlx5_2", PFPCIAddress: "0000:3b:00.0", RoCEv2GIDIndex: &gid}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(goldenAllFields)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Write produced\n%s\nwant (%s)\n%s", got, goldenAllFields, want)
	}
}
