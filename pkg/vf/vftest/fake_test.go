package vftest_test

import (
	"errors"
	"net"
	"reflect"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
	"golang.org/x/sys/unix"
)

func TestFailAtChangesNothing(t *testing.T) {
	f := vftest.New()
	f.AddPF("pf", vftest.Full, 2)
	before := f.State("pf", 1)
	f.FailAt = func(call string) error {
		if call == "set-trust pf 1 true" {
			return vftest.ErrInjected
		}
		return nil
	}
	if err := f.SetTrust("pf", 1, true); !errors.Is(err, vftest.ErrInjected) {
		t.Fatalf("SetTrust err = %v, want the injected error", err)
	}
	if got := f.State("pf", 1); got != before {
		t.Errorf("a failed call changed the VF: %+v, was %+v", got, before)
	}
	if err := f.SetSpoofChk("pf", 1, false); err != nil {
		t.Fatalf("SetSpoofChk: %v", err)
	}
	if got := f.State("pf", 1); got.SpoofChk || got.Trust {
		t.Errorf("after spoofchk off (trust failed) the VF is %+v", got)
	}
	want := []string{"set-trust pf 1 true", "set-spoofchk pf 1 false"}
	if got := f.Calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("Calls = %q, want %q (failed calls are recorded too)", got, want)
	}
}

func TestNoVFInfo(t *testing.T) {
	f := vftest.New()
	f.AddPF("veth0", vftest.Driver{Name: "veth", NoVFInfo: true}, 1)
	if _, err := f.Get("veth0", 0); !errors.Is(err, vf.ErrNoVFInfo) {
		t.Errorf("Get err = %v, want ErrNoVFInfo", err)
	}
	if err := f.SetMAC("veth0", 0, net.HardwareAddr{2, 0, 0, 0, 0, 1}); !errors.Is(err, vf.ErrNoVFInfo) {
		t.Errorf("SetMAC err = %v, want ErrNoVFInfo", err)
	}
}

func TestDriverRefusals(t *testing.T) {
	f := vftest.New()
	f.AddPF("igb0", vftest.IGB, 1)
	f.AddPF("zero", vftest.Driver{Name: "picky", RejectZeroMAC: true}, 1)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"unknown pf", func() error { _, err := f.Get("nope", 0); return err }, vf.ErrNoVFInfo},
		{"vf out of range", func() error { _, err := f.Get("igb0", 1); return err }, vf.ErrNoVFInfo},
		{"vlan out of range", func() error { return f.SetVLAN("igb0", 0, 4096, 0, vf.Proto8021Q) }, unix.EINVAL},
		{"qos out of range", func() error { return f.SetVLAN("igb0", 0, 1, 8, vf.Proto8021Q) }, unix.EINVAL},
		{"igb 802.1ad", func() error { return f.SetVLAN("igb0", 0, 1, 0, vf.Proto8021AD) }, unix.EPROTONOSUPPORT},
		{"igb link state", func() error { return f.SetLinkState("igb0", 0, vf.LinkStateEnable) }, unix.EOPNOTSUPP},
		{"igb min rate", func() error { return f.SetRate("igb0", 0, 1, 100) }, unix.EINVAL},
		{"zero mac", func() error { return f.SetMAC("zero", 0, make(net.HardwareAddr, 6)) }, unix.EINVAL},
		{"igb max rate alone", func() error { return f.SetRate("igb0", 0, 0, 100) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if got := f.State("igb0", 0); got.MaxTxRate != 100 || got.VLAN != 0 || got.LinkState != vf.LinkStateAuto {
		t.Errorf("igb VF after refusals and one accepted rate: %+v", got)
	}
}
