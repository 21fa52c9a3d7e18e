package vf_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

func ptr[T any](v T) *T { return &v }

// Every field of a Request is seen: a setting the table forgot would be
// skipped by ADD, which asks the table what the netconf wants.
func TestAskedSeesEveryField(t *testing.T) {
	for field, r := range map[string]vf.Request{
		"mac": {MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}, "vlan": {VLAN: ptr(0)}, "vlanQoS": {QoS: ptr(0)},
		"vlanProto": {Proto: ptr("802.1q")}, "spoofchk": {SpoofChk: ptr(false)}, "trust": {Trust: ptr(false)},
		"link_state": {LinkState: ptr("auto")}, "min_tx_rate": {MinTxRate: ptr(0)}, "max_tx_rate": {MaxTxRate: ptr(0)},
	} {
		asked := r.Asked()
		if len(asked) != 1 || asked[0].Field != field {
			t.Errorf("a request of only %s lists %+v", field, asked)
		}
	}
	if got := (vf.Request{}).Asked(); len(got) != 0 {
		t.Errorf("an empty request asks %+v", got)
	}
}

// What InfiniBand takes and what the netdev can carry itself, from the one
// table: only link_state for the first, only mac for the second.
func TestAskedSaysWhatEachVFTakes(t *testing.T) {
	r := vf.Request{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, VLAN: ptr(5), QoS: ptr(1), Proto: ptr("802.1q"),
		SpoofChk: ptr(true), Trust: ptr(false), LinkState: ptr("enable"), MinTxRate: ptr(1), MaxTxRate: ptr(10)}
	var ib, netdev []string
	var order []string
	for _, a := range r.Asked() {
		order = append(order, a.Field+"="+a.Value)
		if a.InfiniBand {
			ib = append(ib, a.Field)
		}
		if a.NetdevToo {
			netdev = append(netdev, a.Field)
		}
	}
	want := "[mac=02:00:00:00:00:01 vlan=5 vlanQoS=1 vlanProto=802.1q spoofchk=on trust=off link_state=enable min_tx_rate=1 max_tx_rate=10]"
	if got := fmt.Sprint(order); got != want {
		t.Errorf("asked %s, want %s", got, want)
	}
	if fmt.Sprint(ib) != "[link_state]" || fmt.Sprint(netdev) != "[mac]" {
		t.Errorf("InfiniBand takes %v, the netdev carries %v", ib, netdev)
	}
}

// Want: what is asked, and spoof checking on and trust off unless asked,
// whatever a previous user left.
func TestWant(t *testing.T) {
	cur := vf.State{MAC: "aa:00:00:00:00:01", VLAN: 7, QoS: 3, Proto: vf.Proto8021AD, SpoofChk: false, Trust: true,
		LinkState: vf.LinkStateDisable, MinTxRate: 5, MaxTxRate: 50}
	got := (vf.Request{}).Want(cur)
	want := cur
	want.SpoofChk, want.Trust = true, false
	if got != want {
		t.Errorf("nothing asked: %+v, want %+v", got, want)
	}
	got = (vf.Request{VLAN: ptr(100), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, MaxTxRate: ptr(0)}).Want(cur)
	if got.VLAN != 100 || got.QoS != 0 || got.Proto != vf.Proto8021Q || got.MAC != "02:00:00:00:00:02" || got.MaxTxRate != 0 || got.MinTxRate != 5 {
		t.Errorf("vlan 100, mac, max 0: %+v", got)
	}
	got = (vf.Request{VLAN: ptr(100), QoS: ptr(4), Proto: ptr(vf.Proto8021AD)}).Want(cur)
	if got.VLAN != 100 || got.QoS != 4 || got.Proto != vf.Proto8021AD {
		t.Errorf("vlan 100 qos 4 802.1ad: %+v", got)
	}
}

func TestWithoutUntagged(t *testing.T) {
	if got := (vf.Request{VLAN: ptr(0), QoS: ptr(0)}).WithoutUntagged().Asked(); len(got) != 0 {
		t.Errorf("vlan 0 qos 0 still asks %+v", got)
	}
	if got := (vf.Request{VLAN: ptr(0), Proto: ptr("802.1q")}).WithoutUntagged().Asked(); len(got) != 2 {
		t.Errorf("vlan 0 with a protocol: %+v", got)
	}
	if got := (vf.Request{VLAN: ptr(3)}).WithoutUntagged().Asked(); len(got) != 1 {
		t.Errorf("vlan 3: %+v", got)
	}
}
