package config

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad measures Load on what Multus sends for an RDMA VF attachment;
// it runs on every ADD, so it should stay far below the cost of a netns move.
func BenchmarkLoad(b *testing.B) {
	stdin, err := os.ReadFile(filepath.Join(fixtureDir, "valid", "multus-deviceid-pcibusid.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stdin)))
	for b.Loop() {
		if _, err := Load(stdin, typicalArgs); err != nil {
			b.Fatal(err)
		}
	}
}
