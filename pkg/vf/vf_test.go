package vf_test

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
	"golang.org/x/sys/unix"
)

const pf = "ens1f0"

// powerOn is the state vftest.AddPF gives VF 0.
var powerOn = vf.State{
	MAC:       "aa:af:23:88:00:00",
	Proto:     vf.Proto8021Q,
	SpoofChk:  true,
	LinkState: vf.LinkStateAuto,
}

// everything differs from powerOn in every attribute.
var everything = vf.State{
	MAC:       "02:00:00:00:00:01",
	VLAN:      100,
	QoS:       3,
	Proto:     vf.Proto8021Q,
	SpoofChk:  false,
	Trust:     true,
	LinkState: vf.LinkStateEnable,
	MinTxRate: 10,
	MaxTxRate: 1000,
}

func newFake(t *testing.T, drv vftest.Driver) *vftest.Fake {
	t.Helper()
	f := vftest.New()
	f.AddPF(pf, drv, 4)
	if got := f.State(pf, 0); got != powerOn {
		t.Fatalf("fake power-on state = %+v, tests assume %+v", got, powerOn)
	}
	return f
}

type change struct{ setting, value string }

func changesOf(cs []vf.Change) []change {
	var out []change
	for _, c := range cs {
		out = append(out, change{c.Setting, c.Value})
	}
	return out
}

func TestDiff(t *testing.T) {
	with := func(f func(*vf.State)) vf.State {
		s := powerOn
		f(&s)
		return s
	}
	tests := []struct {
		name      string
		cur, want vf.State
		changes   []change
	}{
		{name: "equal", cur: powerOn, want: powerOn},
		{name: "mac differs only in case",
			cur: powerOn, want: with(func(s *vf.State) { s.MAC = "AA:AF:23:88:00:00" })},
		{name: "empty wanted mac leaves mac alone",
			cur: powerOn, want: with(func(s *vf.State) { s.MAC = "" })},
		{name: "empty proto equals 802.1q",
			cur:  with(func(s *vf.State) { s.VLAN = 100; s.Proto = "" }),
			want: with(func(s *vf.State) { s.VLAN = 100; s.Proto = vf.Proto8021Q })},
		{name: "proto compared case-insensitively",
			cur:  with(func(s *vf.State) { s.VLAN = 100; s.Proto = "802.1Q" }),
			want: with(func(s *vf.State) { s.VLAN = 100; s.Proto = "802.1q" })},
		{name: "proto irrelevant without a vlan",
			cur:  with(func(s *vf.State) { s.Proto = vf.Proto8021AD }),
			want: with(func(s *vf.State) { s.Proto = vf.Proto8021Q })},
		{name: "empty wanted link state leaves it alone",
			cur: powerOn, want: with(func(s *vf.State) { s.LinkState = "" })},
		{name: "mac",
			cur: powerOn, want: with(func(s *vf.State) { s.MAC = "02:00:00:00:00:01" }),
			changes: []change{{vf.SettingMAC, "02:00:00:00:00:01"}}},
		{name: "vlan proto only",
			cur:     with(func(s *vf.State) { s.VLAN = 100 }),
			want:    with(func(s *vf.State) { s.VLAN = 100; s.Proto = vf.Proto8021AD }),
			changes: []change{{vf.SettingVLAN, "100 qos 0 proto 802.1ad"}}},
		{name: "qos only, default proto spelled out",
			cur:     with(func(s *vf.State) { s.VLAN = 7; s.Proto = "" }),
			want:    with(func(s *vf.State) { s.VLAN = 7; s.QoS = 5; s.Proto = "" }),
			changes: []change{{vf.SettingVLAN, "7 qos 5 proto 802.1q"}}},
		{name: "vlan removed",
			cur:     with(func(s *vf.State) { s.VLAN = 100; s.Proto = vf.Proto8021AD }),
			want:    powerOn,
			changes: []change{{vf.SettingVLAN, "0 qos 0 proto 802.1q"}}},
		{name: "min rate only",
			cur:     with(func(s *vf.State) { s.MaxTxRate = 100 }),
			want:    with(func(s *vf.State) { s.MaxTxRate = 100; s.MinTxRate = 10 }),
			changes: []change{{vf.SettingRate, "100/10 Mbps"}}},
		{name: "everything, in documented order",
			cur: powerOn, want: everything,
			changes: []change{
				{vf.SettingMAC, "02:00:00:00:00:01"},
				{vf.SettingVLAN, "100 qos 3 proto 802.1q"},
				{vf.SettingSpoofChk, "off"},
				{vf.SettingTrust, "on"},
				{vf.SettingLinkState, "enable"},
				{vf.SettingRate, "1000/10 Mbps"},
			}},
		{name: "everything back",
			cur: everything, want: powerOn,
			changes: []change{
				{vf.SettingMAC, "aa:af:23:88:00:00"},
				{vf.SettingVLAN, "0 qos 0 proto 802.1q"},
				{vf.SettingSpoofChk, "on"},
				{vf.SettingTrust, "off"},
				{vf.SettingLinkState, "auto"},
				{vf.SettingRate, "0/0 Mbps"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changesOf(vf.Diff(tt.cur, tt.want))
			if !reflect.DeepEqual(got, tt.changes) {
				t.Errorf("Diff\n got %v\nwant %v", got, tt.changes)
			}
		})
	}
}

// TestApplyCalls checks that Apply makes exactly the kernel calls Diff
// promises, in order, and that the VF ends in the wanted state.
func TestApplyCalls(t *testing.T) {
	tests := []struct {
		name  string
		want  vf.State
		calls []string
	}{
		{name: "nothing to do", want: powerOn, calls: nil},
		{name: "everything", want: everything, calls: []string{
			"set-mac ens1f0 0 02:00:00:00:00:01",
			"set-vlan ens1f0 0 100 3 802.1q",
			"set-spoofchk ens1f0 0 false",
			"set-trust ens1f0 0 true",
			"set-state ens1f0 0 enable",
			"set-rate ens1f0 0 10 1000",
		}},
		{name: "upper-case mac and proto are normalised", want: vf.State{
			MAC: "02:AB:00:00:00:01", VLAN: 5, Proto: "802.1AD", SpoofChk: true, LinkState: vf.LinkStateAuto,
		}, calls: []string{
			"set-mac ens1f0 0 02:ab:00:00:00:01",
			"set-vlan ens1f0 0 5 0 802.1ad",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, vftest.Full)
			if err := vf.Apply(f, pf, 0, powerOn, tt.want); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := f.Calls(); !reflect.DeepEqual(got, tt.calls) {
				t.Errorf("calls\n got %q\nwant %q", got, tt.calls)
			}
			if len(vf.Diff(f.State(pf, 0), tt.want)) != 0 {
				t.Errorf("after Apply the VF is %+v, want %+v", f.State(pf, 0), tt.want)
			}
			if got := f.State(pf, 1); got.MAC != "aa:af:23:88:00:01" || got.VLAN != 0 {
				t.Errorf("Apply to VF 0 changed VF 1: %+v", got)
			}
		})
	}
}

func TestApplyStopsAtFirstRefusal(t *testing.T) {
	tests := []struct {
		name    string
		want    vf.State
		setting string
		errno   error
		calls   []string
	}{
		{
			name: "igb refuses link state",
			want: vf.State{MAC: powerOn.MAC, SpoofChk: true, Trust: true,
				LinkState: vf.LinkStateDisable, MaxTxRate: 100},
			setting: vf.SettingLinkState,
			errno:   unix.EOPNOTSUPP,
			calls:   []string{"set-trust ens1f0 0 true", "set-state ens1f0 0 disable"},
		},
		{
			name:    "igb refuses a min rate",
			want:    vf.State{MAC: powerOn.MAC, SpoofChk: true, LinkState: vf.LinkStateAuto, MinTxRate: 10, MaxTxRate: 100},
			setting: vf.SettingRate,
			errno:   unix.EINVAL,
			calls:   []string{"set-rate ens1f0 0 10 100"},
		},
		{
			name: "igb refuses 802.1ad",
			want: vf.State{MAC: "02:00:00:00:00:09", VLAN: 10, Proto: vf.Proto8021AD,
				SpoofChk: false, LinkState: vf.LinkStateAuto},
			setting: vf.SettingVLAN,
			errno:   unix.EPROTONOSUPPORT,
			calls:   []string{"set-mac ens1f0 0 02:00:00:00:00:09", "set-vlan ens1f0 0 10 0 802.1ad"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, vftest.IGB)
			err := vf.Apply(f, pf, 0, powerOn, tt.want)
			var se *vf.SettingError
			if !errors.As(err, &se) {
				t.Fatalf("Apply error = %v, want a *vf.SettingError", err)
			}
			if se.Setting != tt.setting {
				t.Errorf("refused setting = %q, want %q", se.Setting, tt.setting)
			}
			if !errors.Is(err, tt.errno) {
				t.Errorf("error %v does not wrap %v", err, tt.errno)
			}
			if !strings.Contains(err.Error(), tt.setting) {
				t.Errorf("error %q does not name the setting %q", err, tt.setting)
			}
			if got := f.Calls(); !reflect.DeepEqual(got, tt.calls) {
				t.Errorf("calls\n got %q\nwant %q (nothing after the refusal)", got, tt.calls)
			}
		})
	}
}

func TestApplyBadMAC(t *testing.T) {
	f := newFake(t, vftest.Full)
	want := powerOn
	want.MAC = "not-a-mac"
	err := vf.Apply(f, pf, 0, powerOn, want)
	var se *vf.SettingError
	if !errors.As(err, &se) || se.Setting != vf.SettingMAC {
		t.Fatalf("Apply error = %v, want a SettingError for %q", err, vf.SettingMAC)
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("an unparsable mac reached the kernel: %q", calls)
	}
}

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

func TestMismatches(t *testing.T) {
	tests := []struct {
		name       string
		live, want vf.State
		out        []string
	}{
		{name: "equal", live: powerOn, want: powerOn},
		{name: "mac case only", live: powerOn, want: vf.State{MAC: "AA:AF:23:88:00:00", Proto: "",
			SpoofChk: true, LinkState: vf.LinkStateAuto}},
		{name: "vlan", live: powerOn,
			want: vf.State{MAC: powerOn.MAC, VLAN: 100, SpoofChk: true, LinkState: vf.LinkStateAuto},
			out:  []string{"VLAN is 0 qos 0 proto 802.1q, expected 100 qos 0 proto 802.1q"}},
		{name: "mac and spoofchk", live: powerOn,
			want: vf.State{MAC: "02:00:00:00:00:01", SpoofChk: false, LinkState: vf.LinkStateAuto},
			out: []string{
				"MAC is aa:af:23:88:00:00, expected 02:00:00:00:00:01",
				"SPOOFCHK is on, expected off",
			}},
		{name: "everything", live: powerOn, want: everything, out: []string{
			"MAC is aa:af:23:88:00:00, expected 02:00:00:00:00:01",
			"VLAN is 0 qos 0 proto 802.1q, expected 100 qos 3 proto 802.1q",
			"SPOOFCHK is on, expected off",
			"TRUST is off, expected on",
			"LINK_STATE is auto, expected enable",
			"MAX_TX_RATE/MIN_TX_RATE is 0/0 Mbps, expected 1000/10 Mbps",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vf.Mismatches(tt.live, tt.want)
			if !reflect.DeepEqual(got, tt.out) {
				t.Errorf("Mismatches\n got %q\nwant %q", got, tt.out)
			}
		})
	}
}

func TestSettingErrorMessage(t *testing.T) {
	err := error(&vf.SettingError{Setting: vf.SettingLinkState, Value: "enable", Err: unix.EOPNOTSUPP})
	if got, want := err.Error(), "set link_state enable: "+unix.EOPNOTSUPP.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		t.Error("SettingError does not unwrap to its cause")
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
