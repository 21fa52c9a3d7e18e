package state_test

// Journal keys: what a containerID and an ifname may be, and that one
// attachment never reads another's journal.

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

func TestWriteBadKey(t *testing.T) {
	s := newStore(t)
	r := fullRecord()
	r.ContainerID = "../../etc/x"
	if err := s.Write(r); !errors.Is(err, state.ErrBadKey) {
		t.Fatalf("Write err = %v, want ErrBadKey", err)
	}
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		if e.Name() != "locks" {
			t.Errorf("Write with a bad key left %s", e.Name())
		}
	}
}

func TestReadNotFound(t *testing.T) {
	s := newStore(t)
	if _, err := s.Read("nope", "net1"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Read of a missing journal: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Read("a/b", "net1"); !errors.Is(err, state.ErrBadKey) {
		t.Errorf("Read with a bad key: err = %v, want ErrBadKey", err)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		cid, ifname string
		ok          bool
	}{
		{"0123abcd", "net1", true},
		{"a.b_c-d", "eth0", true},
		{"", "net1", false},
		{"abc", "", false},
		{".", "net1", false},
		{"..", "net1", false},
		{"abc", "..", false},
		{"a/b", "net1", false},
		{"abc", "net/1", false},
		{"a\x00b", "net1", false},
		{"abc", "net\x00", false},
		{strings.Repeat("a", 257), "net1", false},
		{strings.Repeat("a", 256), "net1", true},
	}
	for _, tt := range tests {
		key, err := state.Key(tt.cid, tt.ifname)
		if tt.ok {
			if err != nil || key != tt.cid+"-"+tt.ifname {
				t.Errorf("Key(%q, %q) = %q, %v; want %q", tt.cid, tt.ifname, key, err, tt.cid+"-"+tt.ifname)
			}
			continue
		}
		if !errors.Is(err, state.ErrBadKey) {
			t.Errorf("Key(%q, %q) = %q, %v; want ErrBadKey", tt.cid, tt.ifname, key, err)
		}
	}
}

func TestRecordKeyMatchesStoreKey(t *testing.T) {
	r := fullRecord()
	k, err := state.Key(r.ContainerID, r.IfName)
	if err != nil {
		t.Fatal(err)
	}
	if r.Key() != k {
		t.Errorf("Record.Key() = %q, Key() = %q: GC would look for the wrong journal", r.Key(), k)
	}
}

// Keys join containerID and ifname with "-": ("a-b","c") and ("a","b-c")
// share a file. Reading one attachment must never return the other's record.
func TestReadRefusesForeignJournal(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	r := fullRecord()
	r.ContainerID, r.IfName = "a-b", "c"
	if err := s.Write(r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read("a", "b-c"); !errors.Is(err, state.ErrForeign) {
		t.Fatalf("Read of the colliding key = %v, want ErrForeign", err)
	}
	if got, err := s.Read("a-b", "c"); err != nil || got.ContainerID != "a-b" {
		t.Fatalf("Read of the owner = %+v, %v", got, err)
	}
}
