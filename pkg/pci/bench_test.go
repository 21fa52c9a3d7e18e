package pci_test

import (
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// Resolving the last VF of a 256-VF PF must cost what resolving one of 8
// does; a resolver listing virtfnN links would show up as a ~30x ratio.
func benchmarkResolve(b *testing.B, vfs int) {
	pf := manyVFs(vfs)
	s := tree(b, fixture.Node{PFs: []fixture.PF{pf}})
	addr := fixture.VFAddr(pf, vfs-1)
	for b.Loop() {
		if _, err := s.Resolve(addr); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolve8(b *testing.B)   { benchmarkResolve(b, 8) }
func BenchmarkResolve256(b *testing.B) { benchmarkResolve(b, 256) }
