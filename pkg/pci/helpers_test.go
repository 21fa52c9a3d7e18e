package pci_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// tree builds n into a fresh directory and returns a Sysfs reading it.
func tree(t testing.TB, n fixture.Node) pci.Sysfs {
	t.Helper()
	root := t.TempDir()
	if err := fixture.Build(root, n); err != nil {
		t.Fatalf("build fixture: %v", err)
	}
	return pci.Sysfs{Root: root}
}

// manyVFs is a PF with n igbvf VFs whose netdevs are named ens1f0v<index>.
func manyVFs(n int) fixture.PF {
	pf := fixture.PF{TotalVFs: max(n, 7), VFs: make([]fixture.VF, n)}
	for i := range pf.VFs {
		pf.VFs[i].Netdev = vfNetdev(i)
	}
	return pf
}

func vfNetdev(i int) string { return fmt.Sprintf("ens1f0v%d", i) }

// devPath is a path below a device's bus view in the tree.
func devPath(s pci.Sysfs, addr string, elem ...string) string {
	return filepath.Join(append([]string{s.Root, "bus/pci/devices", addr}, elem...)...)
}

func mustWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRelink(t testing.TB, path, target string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// checkDevice compares every field a caller acts on.
func checkDevice(t *testing.T, got *pci.Device, want pci.Device) {
	t.Helper()
	if got == nil {
		t.Fatalf("Resolve(%s) = nil device", want.Addr)
	}
	g := *got
	if !slices.Equal(g.RDMA, want.RDMA) {
		t.Errorf("Resolve(%s).RDMA = %+v, want %+v", want.Addr, g.RDMA, want.RDMA)
	}
	g.RDMA, want.RDMA = nil, nil
	if !reflect.DeepEqual(g, want) {
		t.Errorf("Resolve(%s) =\n  %+v\nwant\n  %+v", want.Addr, g, want)
	}
}
