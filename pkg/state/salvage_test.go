package state_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

func TestSalvageWholeJournal(t *testing.T) {
	want := fullRecord()
	data, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got := state.Salvage(data)
	if got.ContainerID != want.ContainerID || got.IfName != want.IfName || got.Netns != want.Netns ||
		got.DeviceID != want.DeviceID || got.PFNetdev != want.PFNetdev || got.VFIndex != want.VFIndex ||
		got.BootID != want.BootID || got.PodIfIndex != want.PodIfIndex || !got.RDMAInPod {
		t.Errorf("identity salvaged as %+v", got)
	}
	if got.Orig.Netdev != want.Orig.Netdev || got.Orig.MAC != want.Orig.MAC || got.Orig.MTU != want.Orig.MTU ||
		got.Orig.IfIndex != want.Orig.IfIndex || got.Orig.Up != want.Orig.Up {
		t.Errorf("original salvaged as %+v, want %+v", got.Orig, want.Orig)
	}
	if got.Orig.VF == nil || *got.Orig.VF != *want.Orig.VF {
		t.Errorf("original VF settings salvaged as %+v, want %+v", got.Orig.VF, want.Orig.VF)
	}
	if !reflect.DeepEqual(got.RDMA, want.RDMA) {
		t.Errorf("RDMA salvaged as %+v, want %+v", got.RDMA, want.RDMA)
	}
	if got.IPAM.Type != "host-local" || got.IPAM.Path != "/opt/cni/bin" {
		t.Errorf("IPAM salvaged as %+v", got.IPAM)
	}
}

// Cut anywhere, the salvage keeps what came before the cut and nothing
// half-read: a nested object counts only once it closed.
func TestSalvageTruncatedJournal(t *testing.T) {
	want := fullRecord()
	data, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut <= len(data); cut++ {
		got := state.Salvage(data[:cut])
		if got.DeviceID != "" && got.DeviceID != want.DeviceID {
			t.Fatalf("cut %d: deviceID %q", cut, got.DeviceID)
		}
		if got.Orig.VF != nil && *got.Orig.VF != *want.Orig.VF {
			t.Fatalf("cut %d: a half-read VF state was kept: %+v", cut, got.Orig.VF)
		}
		for i, d := range got.RDMA {
			if d != want.RDMA[i] {
				t.Fatalf("cut %d: a half-read RDMA device was kept: %+v", cut, d)
			}
		}
	}
	// The identity and the original netdev come first: a journal torn in
	// its second half still names the device and where it came from.
	half := state.Salvage(data[:len(data)/2])
	if half.DeviceID != want.DeviceID || half.Orig.Netdev != want.Orig.Netdev {
		t.Errorf("half a journal salvaged as %+v", half)
	}
}

func FuzzSalvage(f *testing.F) {
	data, _ := json.Marshal(fullRecord())
	f.Add(data)
	f.Add(data[:len(data)/3])
	f.Add([]byte(`{"original":{"vf":{"mac":1,"vlan":"x"}},"rdma":[{"name":["a"]}]}`))
	f.Add([]byte(`[[[[{"a":}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = state.Salvage(b)
	})
}
