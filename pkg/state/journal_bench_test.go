package state_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Every ADD writes its journal twice (before the first change, and at
// commit) and every DEL, GC and ADD's reclaim pass reads journals back, so
// these sit on the pod start-up path. They run without root; `make bench`
// prints them next to the real-kernel figures.

func benchStore(b *testing.B) (state.Store, *state.Record) {
	b.Helper()
	s := state.Store{Dir: filepath.Join(b.TempDir(), "state")}
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	return s, fullRecord()
}

// BenchmarkJournalWrite is one durable journal write: encode, temporary
// file, fsync, rename, directory fsync, on TMPDIR's filesystem. Almost all
// of it is the two fsyncs, so the figure says more about the disk than
// about the code; a jump in allocs/op is the code's.
func BenchmarkJournalWrite(b *testing.B) {
	s, r := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJournalDecode parses and checks a journal as Write leaves it.
func BenchmarkJournalDecode(b *testing.B) {
	s, r := benchStore(b)
	if err := s.Write(r); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(s.Path(r.Key()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := state.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJournalRead is Read from the page cache: what DEL does once and
// ADD's reclaim pass does for every other journal in the state directory.
func BenchmarkJournalRead(b *testing.B) {
	s, r := benchStore(b)
	if err := s.Write(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Read(r.ContainerID, r.IfName); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockCycle takes a free VF's lock, records an owner, and frees
// it again: ADD's lock step and DEL's release, without contention.
func BenchmarkLockCycle(b *testing.B) {
	ls := state.Locks{Dir: filepath.Join(b.TempDir(), "locks")}
	const dev = "0000:3b:00.3"
	b.ReportAllocs()
	for b.Loop() {
		l, err := ls.Lock(dev, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.SetOwner("/var/lib/cni/sriov-rdma/0123456789abcdef-net1.json"); err != nil {
			b.Fatal(err)
		}
		if err := l.ReleaseFree(); err != nil {
			b.Fatal(err)
		}
	}
}
