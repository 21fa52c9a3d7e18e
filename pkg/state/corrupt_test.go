package state_test

// A journal that is torn, garbage, or from another version of the plugin
// reads as corrupt, never as a record.

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

func validJSON(t testing.TB) []byte {
	r := fullRecord()
	r.Version = state.SchemaVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mutate(t *testing.T, f func(m map[string]any)) []byte {
	var m map[string]any
	if err := json.Unmarshal(validJSON(t), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadCorrupt(t *testing.T) {
	valid := validJSON(t)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated", valid[:len(valid)/2]},
		{"last byte missing", valid[:len(valid)-1]},
		{"garbage", []byte("\x00\xff garbage")},
		{"null", []byte("null")},
		{"array", []byte("[]")},
		{"trailing garbage", append(append([]byte(nil), valid...), []byte("}{")...)},
		{"no version", mutate(t, func(m map[string]any) { delete(m, "version") })},
		{"newer version", mutate(t, func(m map[string]any) { m["version"] = state.SchemaVersion + 1 })},
		{"version as string", mutate(t, func(m map[string]any) { m["version"] = "1" })},
		{"no deviceID", mutate(t, func(m map[string]any) { delete(m, "deviceID") })},
		{"no containerID", mutate(t, func(m map[string]any) { delete(m, "containerID") })},
		{"containerID with slash", mutate(t, func(m map[string]any) { m["containerID"] = "../../x" })},
		{"ifName with NUL", mutate(t, func(m map[string]any) { m["ifName"] = "net\x001" })},
		{"bad time", mutate(t, func(m map[string]any) { m["created"] = "yesterday" })},
		{"too large", append(append([]byte(`{"pad":"`), strings.Repeat("x", 1<<20)...), []byte(`"}`)...)},
	}
	s := newStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(s.Dir, "0123456789abcdef-net1.json"), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := s.Read("0123456789abcdef", "net1")
			if !errors.Is(err, state.ErrCorrupt) {
				t.Errorf("Read err = %v (record %v), want ErrCorrupt", err, r)
			}
			if r != nil {
				t.Errorf("Read returned a record with its error: %+v", r)
			}
		})
	}
	// The same bytes, valid: the table above fails for the right reason.
	if _, err := state.Decode(valid); err != nil {
		t.Fatalf("Decode of the valid base record: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	valid := validJSON(f)
	f.Add(valid)
	for _, n := range []int{0, 1, 10, len(valid) / 3, len(valid) / 2, len(valid) - 2, len(valid) - 1} {
		f.Add(valid[:n])
	}
	f.Add([]byte("null"))
	f.Add([]byte(`{"version":1,"containerID":"c","ifName":"i","deviceID":"d"}`))
	f.Add([]byte(`{"version":1,"containerID":"..","ifName":"i","deviceID":"d"}`))
	f.Add([]byte("\xff\xfe garbage \x00"))
	f.Add([]byte(`{"version":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := state.Decode(data)
		if err != nil {
			if !errors.Is(err, state.ErrCorrupt) {
				t.Fatalf("Decode error %v is not ErrCorrupt", err)
			}
			if r != nil {
				t.Fatal("Decode returned a record with its error")
			}
			return
		}
		if r.Version != state.SchemaVersion || r.DeviceID == "" {
			t.Fatalf("Decode accepted version %d deviceID %q", r.Version, r.DeviceID)
		}
		if _, err := state.Key(r.ContainerID, r.IfName); err != nil {
			t.Fatalf("Decode accepted a record whose key is invalid: %v", err)
		}
		// What was accepted must survive a Write/Read cycle.
		b, err := json.Marshal(r)
		if err != nil {
			return // a raw message that only Unmarshal tolerated
		}
		if _, err := state.Decode(b); err != nil {
			t.Fatalf("re-encoded record no longer decodes: %v\n%s", err, b)
		}
	})
}

// A journal from a newer plugin is corrupt to this one (its DEL salvages
// it) and says so, so that GC and reclaim can leave it for its owner.
func TestReadNewerVersion(t *testing.T) {
	s := newStore(t)
	data := mutate(t, func(m map[string]any) { m["version"] = state.SchemaVersion + 1 })
	if err := os.WriteFile(filepath.Join(s.Dir, "0123456789abcdef-net1.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Read("0123456789abcdef", "net1")
	if !errors.Is(err, state.ErrNewer) || !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Read err = %v, want ErrNewer and ErrCorrupt", err)
	}
	data = mutate(t, func(m map[string]any) { m["version"] = 0 })
	if err := os.WriteFile(filepath.Join(s.Dir, "0123456789abcdef-net1.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read("0123456789abcdef", "net1"); errors.Is(err, state.ErrNewer) || !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("version 0: err = %v, want ErrCorrupt only", err)
	}
}
