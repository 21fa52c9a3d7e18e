package vf_test

import (
	"reflect"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
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
