package state_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

func newStore(t *testing.T) state.Store {
	t.Helper()
	s := state.Store{Dir: filepath.Join(t.TempDir(), "state")}
	if err := s.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s
}

func fullRecord() *state.Record {
	orig := vf.State{MAC: "aa:af:23:88:00:03", Proto: vf.Proto8021Q, SpoofChk: true, LinkState: vf.LinkStateAuto}
	want := vf.State{MAC: "02:00:00:00:00:01", VLAN: 100, QoS: 2, Proto: vf.Proto8021AD, Trust: true,
		LinkState: vf.LinkStateEnable, MinTxRate: 10, MaxTxRate: 1000}
	return &state.Record{
		BootID:       "6f1c2a9e-0000-4000-8000-000000000001",
		Created:      time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
		Phase:        state.PhaseCommitted,
		ContainerID:  "0123456789abcdef",
		IfName:       "net1",
		Netns:        "/var/run/netns/cni-1234",
		PodNamespace: "default",
		PodName:      "rdma-pod",
		DeviceID:     "0000:3b:00.3",
		PFAddr:       "0000:3b:00.0",
		PFNetdev:     "ens1f0",
		PFDriver:     "mlx5_core",
		VFIndex:      3,
		Driver:       "mlx5_core",
		Orig:         state.Original{Netdev: "ens1f0v3", MAC: "aa:bb:cc:dd:ee:ff", MTU: 1500, IfIndex: 42, Up: true, VF: &orig},
		WantVF:       &want,
		RDMA: []state.RDMADevice{
			{Name: "mlx5_3", Kind: "hw"},
			{Name: "rxe0", Kind: "soft", Type: "rxe", Netdev: "ens1f0v3"},
		},
		RDMAInPod:  true,
		PodIfIndex: 7,
		IPAM: state.IPAM{
			Type:   "host-local",
			Config: json.RawMessage(`{"type":"host-local","subnet":"10.1.0.0/24"}`),
			Args:   "K8S_POD_NAME=rdma-pod",
			Path:   "/opt/cni/bin",
		},
		Result: json.RawMessage(`{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24"}]}`),
	}
}

// sameRecord compares two records, treating raw JSON by meaning (Write
// indents, which re-spaces embedded raw messages).
func sameRecord(t *testing.T, got, want *state.Record) {
	t.Helper()
	norm := func(r *state.Record) []byte {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		out, _ := json.Marshal(v)
		return out
	}
	if g, w := norm(got), norm(want); string(g) != string(w) {
		t.Errorf("record differs\n got %s\nwant %s", g, w)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	s := newStore(t)
	r := fullRecord()
	if err := s.Write(r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if r.Version != state.SchemaVersion {
		t.Errorf("Write did not stamp the schema version: %d", r.Version)
	}
	got, err := s.Read(r.ContainerID, r.IfName)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	sameRecord(t, got, r)
	if !got.Created.Equal(r.Created) {
		t.Errorf("Created = %v, want %v", got.Created, r.Created)
	}
	if *got.Orig.VF != *r.Orig.VF || *got.WantVF != *r.WantVF {
		t.Errorf("vf states lost: orig %+v want %+v", got.Orig.VF, got.WantVF)
	}

	// Overwrite: the phase moves on.
	r.Phase = state.PhaseAdding
	r.Result = nil
	if err := s.Write(r); err != nil {
		t.Fatalf("second Write: %v", err)
	}
	got, err = s.Read(r.ContainerID, r.IfName)
	if err != nil {
		t.Fatalf("Read after overwrite: %v", err)
	}
	if got.Phase != state.PhaseAdding || got.Result != nil {
		t.Errorf("overwrite not visible: phase %q result %s", got.Phase, got.Result)
	}
}

func TestPermissions(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "state")
	locks := filepath.Join(t.TempDir(), "locks")
	s := state.Store{Dir: dir, Root: parent}
	if err := s.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	l, err := state.Locks{Dir: locks}.Lock("0000:01:10.0", time.Second)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	defer l.Release()
	for _, d := range []string{dir, locks} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s mode = %o after Init, want 700", d, got)
		}
	}
	if err := s.Write(fullRecord()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "0123456789abcdef-net1.json"))
	if err != nil {
		t.Fatalf("journal not at the documented path: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("journal mode = %o, want 600", got)
	}
}

// A state directory the plugin did not create (a shared /run/something, or
// one an administrator made) keeps its permissions: the netconf names it,
// and a netconf must not be able to chmod a node's directories.
func TestInitNeverChmodsWhatItDidNotCreate(t *testing.T) {
	parent := t.TempDir()
	shared := filepath.Join(parent, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (state.Store{Dir: shared, Root: parent}).Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if fi, _ := os.Stat(shared); fi.Mode().Perm() != 0o755 {
		t.Errorf("existing directory chmodded to %o", fi.Mode().Perm())
	}
	// Below its root, Init follows no link.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(parent, "link")); err != nil {
		t.Fatal(err)
	}
	if err := (state.Store{Dir: filepath.Join(parent, "link", "state"), Root: parent}).Init(); err == nil {
		t.Errorf("Init through a symbolic link succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "state")); err == nil {
		t.Errorf("a directory was created through the link")
	}
}

func tempLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteAtomic(t *testing.T) {
	s := newStore(t)
	r := fullRecord()
	for i := 0; i < 3; i++ {
		if err := s.Write(r); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if left := tempLeftovers(t, s.Dir); len(left) != 0 {
		t.Errorf("temporary files left after successful writes: %v", left)
	}

	t.Run("encoding fails", func(t *testing.T) {
		bad := fullRecord()
		bad.Phase = state.PhaseAdding
		bad.Result = json.RawMessage(`{"torn`)
		if err := s.Write(bad); err == nil {
			t.Fatal("Write of an unencodable record succeeded")
		}
		got, err := s.Read(r.ContainerID, r.IfName)
		if err != nil {
			t.Fatalf("previous journal lost: %v", err)
		}
		if got.Phase != state.PhaseCommitted {
			t.Errorf("previous journal changed: phase %q", got.Phase)
		}
		if left := tempLeftovers(t, s.Dir); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("rename fails", func(t *testing.T) {
		// A non-empty directory where the journal should go: the temp file
		// is written, the rename over it fails.
		r := fullRecord()
		r.ContainerID = "blocked"
		target := filepath.Join(s.Dir, "blocked-net1.json")
		if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(r); err == nil {
			t.Fatal("Write over a non-empty directory succeeded")
		}
		if left := tempLeftovers(t, s.Dir); len(left) != 0 {
			t.Errorf("temporary files left after a failed rename: %v", left)
		}
	})
}

func TestList(t *testing.T) {
	if keys, err := (state.Store{Dir: filepath.Join(t.TempDir(), "missing")}).List(); err != nil || len(keys) != 0 {
		t.Errorf("List of a missing dir = %v, %v; want none, nil", keys, err)
	}
	s := newStore(t)
	for _, id := range []string{"ccc", "aaa", "bbb"} {
		r := fullRecord()
		r.ContainerID = id
		if err := s.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{
		".tmp-ddd-net1.json-123": "{}",
		"README":                 "not a journal",
		"eee-net1.json.bak":      "{}",
	} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir, "fff-net1.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := s.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []string{"aaa-net1", "bbb-net1", "ccc-net1"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("List = %q, want %q", keys, want)
	}
	for _, k := range keys {
		if _, err := s.ReadKey(k); err != nil {
			t.Errorf("ReadKey(%q) of a listed key: %v", k, err)
		}
	}
}

func TestRemove(t *testing.T) {
	s := newStore(t)
	r := fullRecord()
	if err := s.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(r.ContainerID, r.IfName); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := s.Read(r.ContainerID, r.IfName); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Read after Remove: err = %v, want ErrNotFound", err)
	}
	if err := s.Remove(r.ContainerID, r.IfName); err != nil {
		t.Errorf("second Remove: %v, want nil", err)
	}
	if err := s.RemoveKey("never-was"); err != nil {
		t.Errorf("RemoveKey of a missing journal: %v, want nil", err)
	}
	if err := s.Remove("..", "net1"); !errors.Is(err, state.ErrBadKey) {
		t.Errorf("Remove with a bad key: %v, want ErrBadKey", err)
	}
}

// Update replaces the journal atomically, like Write, and leaves no temp
// file; only its durability differs.
func TestUpdateReplacesAtomically(t *testing.T) {
	s := state.Store{Dir: t.TempDir()}
	r := fullRecord()
	r.Phase = state.PhaseAdding
	if err := s.Write(r); err != nil {
		t.Fatal(err)
	}
	r.Phase = state.PhaseCommitted
	if err := s.Update(r); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := s.Read(r.ContainerID, r.IfName)
	if err != nil || got.Phase != state.PhaseCommitted {
		t.Fatalf("after Update: %+v, %v", got, err)
	}
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 1 {
		t.Errorf("state dir holds %d entries, want the journal only", len(ents))
	}
	fi, err := os.Stat(s.Path(r.Key()))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode after Update = %v, %v", fi.Mode(), err)
	}
}
