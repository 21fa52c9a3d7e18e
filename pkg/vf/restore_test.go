package vf_test

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

func setCalls(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "get ") {
			out = append(out, c)
		}
	}
	return out
}

func TestRestore(t *testing.T) {
	tests := []struct {
		name string
		live vf.State // what ADD (or an operator) left
	}{
		{name: "every attribute changed", live: everything},
		{name: "only the vlan changed", live: vf.State{MAC: powerOn.MAC, VLAN: 42, QoS: 1, Proto: vf.Proto8021AD,
			SpoofChk: true, LinkState: vf.LinkStateAuto}},
		{name: "only trust and rate changed", live: vf.State{MAC: powerOn.MAC, Proto: vf.Proto8021Q,
			SpoofChk: true, Trust: true, LinkState: vf.LinkStateAuto, MaxTxRate: 500}},
		{name: "nothing changed", live: powerOn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, vftest.Full)
			f.Set(pf, 0, tt.live)
			if err := vf.Restore(f, pf, 0, powerOn); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := f.State(pf, 0); got != powerOn {
				t.Errorf("after Restore the VF is\n %+v\nwant\n %+v", got, powerOn)
			}
			if want := len(vf.Diff(tt.live, powerOn)); len(setCalls(f.Calls())) != want {
				t.Errorf("Restore made %q, want exactly %d set calls", f.Calls(), want)
			}

			f.ResetCalls()
			if err := vf.Restore(f, pf, 0, powerOn); err != nil {
				t.Fatalf("second Restore: %v", err)
			}
			if got := setCalls(f.Calls()); len(got) != 0 {
				t.Errorf("second Restore is not idempotent: made %q", got)
			}
		})
	}
}

// TestRestoreAfterRefusal is the ADD rollback: Apply stops half-way on igb,
// Restore puts back what it had already changed.
func TestRestoreAfterRefusal(t *testing.T) {
	f := newFake(t, vftest.IGB)
	want := everything // its link state is refused by igb
	want.MinTxRate = 0
	if err := vf.Apply(f, pf, 0, powerOn, want); err == nil {
		t.Fatal("Apply on igb with a link state succeeded; the test needs a refusal")
	}
	if f.State(pf, 0) == powerOn {
		t.Fatal("Apply changed nothing before the refusal; the test needs a half-applied VF")
	}
	if err := vf.Restore(f, pf, 0, powerOn); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := f.State(pf, 0); got != powerOn {
		t.Errorf("after Restore the VF is %+v, want %+v", got, powerOn)
	}
}

func TestRestoreTriesEverySetting(t *testing.T) {
	f := newFake(t, vftest.Full)
	f.Set(pf, 0, everything)
	f.FailAt = func(call string) error {
		if strings.HasPrefix(call, "set-vlan ") || strings.HasPrefix(call, "set-trust ") {
			return vftest.ErrInjected
		}
		return nil
	}
	err := vf.Restore(f, pf, 0, powerOn)
	if !errors.Is(err, vftest.ErrInjected) {
		t.Fatalf("Restore error = %v, want the injected failures", err)
	}
	for _, s := range []string{vf.SettingVLAN, vf.SettingTrust} {
		if !strings.Contains(err.Error(), "set "+s+" ") {
			t.Errorf("error %q does not name the failed setting %q", err, s)
		}
	}
	for _, s := range []string{vf.SettingMAC, vf.SettingSpoofChk, vf.SettingLinkState, vf.SettingRate} {
		if strings.Contains(err.Error(), "set "+s+" ") {
			t.Errorf("error %q names %q, which succeeded", err, s)
		}
	}
	got := f.State(pf, 0)
	want := powerOn
	// The two failed settings keep ADD's values; every other one is back.
	want.VLAN, want.QoS, want.Proto, want.Trust = everything.VLAN, everything.QoS, everything.Proto, everything.Trust
	if got != want {
		t.Errorf("after a partly failed Restore the VF is\n %+v\nwant\n %+v", got, want)
	}
	if n := len(setCalls(f.Calls())); n != 6 {
		t.Errorf("Restore made %d set calls (%q), want all 6 tried", n, f.Calls())
	}

	// Once the driver relents, a second Restore finishes the job.
	f.FailAt = nil
	f.ResetCalls()
	if err := vf.Restore(f, pf, 0, powerOn); err != nil {
		t.Fatalf("second Restore: %v", err)
	}
	if got := f.State(pf, 0); got != powerOn {
		t.Errorf("after the second Restore the VF is %+v, want %+v", got, powerOn)
	}
	if got := setCalls(f.Calls()); len(got) != 2 {
		t.Errorf("second Restore made %q, want only the 2 settings still off", got)
	}
}

func TestRestoreReadFails(t *testing.T) {
	f := vftest.New()
	f.AddPF(pf, vftest.Driver{Name: "veth", NoVFInfo: true}, 1)
	err := vf.Restore(f, pf, 0, powerOn)
	if !errors.Is(err, vf.ErrNoVFInfo) {
		t.Fatalf("Restore error = %v, want ErrNoVFInfo", err)
	}
	if got := setCalls(f.Calls()); len(got) != 0 {
		t.Errorf("Restore set things without knowing the live state: %q", got)
	}
}

// A driver that refuses the original admin MAC (igb-like drivers refuse the
// all-zero "unset" MAC once one was set) gets a unique locally administered
// unicast MAC instead of keeping the pod's.
func TestRestoreFallsBackToUniqueLocalMAC(t *testing.T) {
	f := vftest.New()
	f.AddPF("eth0", vftest.Driver{Name: "picky", RejectZeroMAC: true}, 4)
	orig := f.State("eth0", 1)
	orig.MAC = "00:00:00:00:00:00"
	cur := orig
	cur.MAC = "02:11:22:33:44:55"
	f.Set("eth0", 1, cur)
	// Another VF already holds the first candidate: it must be skipped.
	other := f.State("eth0", 2)
	other.MAC = vf.LocalMAC("eth0", 1, 0).String()
	f.Set("eth0", 2, other)

	rep, err := vf.RestoreReport(f, "eth0", 1, orig)
	if err != nil {
		t.Fatalf("RestoreReport: %v", err)
	}
	got := f.State("eth0", 1).MAC
	if rep.FallbackMAC == "" || got != rep.FallbackMAC {
		t.Fatalf("admin MAC %s, report %q: want the fallback set and reported", got, rep.FallbackMAC)
	}
	mac, _ := net.ParseMAC(got)
	if mac[0]&0x02 == 0 || mac[0]&0x01 != 0 {
		t.Errorf("fallback %s is not a locally administered unicast MAC", got)
	}
	for i := 0; i < 4; i++ {
		if i != 1 && f.State("eth0", i).MAC == got {
			t.Errorf("fallback %s duplicates VF %d's MAC", got, i)
		}
	}
	if got == cur.MAC {
		t.Errorf("the pod's MAC %s was kept", got)
	}
}
