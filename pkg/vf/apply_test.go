package vf_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

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

func TestSettingErrorMessage(t *testing.T) {
	err := error(&vf.SettingError{Setting: vf.SettingLinkState, Value: "enable", Err: unix.EOPNOTSUPP})
	if got, want := err.Error(), "set link_state enable: "+unix.EOPNOTSUPP.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		t.Error("SettingError does not unwrap to its cause")
	}
}
