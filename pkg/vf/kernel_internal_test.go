package vf

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestFromVfInfo(t *testing.T) {
	mac := func(s string) net.HardwareAddr {
		hw, err := net.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return hw
	}
	tests := []struct {
		name string
		in   netlink.VfInfo
		want State
	}{
		{
			name: "every field",
			in: netlink.VfInfo{ID: 3, Mac: mac("02:AB:CD:00:00:01"), Vlan: 100, Qos: 3, VlanProto: 0x88a8,
				Spoofchk: true, Trust: 1, LinkState: 1, MinTxRate: 10, MaxTxRate: 1000, TxRate: 1000},
			want: State{MAC: "02:ab:cd:00:00:01", VLAN: 100, QoS: 3, Proto: Proto8021AD,
				SpoofChk: true, Trust: true, LinkState: LinkStateEnable, MinTxRate: 10, MaxTxRate: 1000},
		},
		{
			name: "power-on defaults",
			in:   netlink.VfInfo{Mac: mac("00:00:00:00:00:00"), VlanProto: 0x8100},
			want: State{MAC: "00:00:00:00:00:00", Proto: Proto8021Q, LinkState: LinkStateAuto},
		},
		{
			name: "no vlan list from the driver means 802.1q",
			in:   netlink.VfInfo{Vlan: 5},
			want: State{VLAN: 5, Proto: Proto8021Q, LinkState: LinkStateAuto},
		},
		{
			name: "link state disable",
			in:   netlink.VfInfo{LinkState: 2},
			want: State{Proto: Proto8021Q, LinkState: LinkStateDisable},
		},
		{
			name: "unknown link state reads as auto",
			in:   netlink.VfInfo{LinkState: 7},
			want: State{Proto: Proto8021Q, LinkState: LinkStateAuto},
		},
		{
			name: "any non-zero trust is on",
			in:   netlink.VfInfo{Trust: 0xffffffff},
			want: State{Proto: Proto8021Q, Trust: true, LinkState: LinkStateAuto},
		},
		{
			name: "legacy tx rate when the driver has no IFLA_VF_RATE",
			in:   netlink.VfInfo{TxRate: 500},
			want: State{Proto: Proto8021Q, LinkState: LinkStateAuto, MaxTxRate: 500},
		},
		{
			name: "IFLA_VF_RATE wins over the legacy rate",
			in:   netlink.VfInfo{TxRate: 500, MaxTxRate: 700, MinTxRate: 100},
			want: State{Proto: Proto8021Q, LinkState: LinkStateAuto, MinTxRate: 100, MaxTxRate: 700},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromVfInfo(tt.in); got != tt.want {
				t.Errorf("fromVfInfo\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFromVfInfoRoundTrip: a state read back from the kernel after Apply
// must not differ from what was applied, or CHECK reports a false mismatch
// and Restore makes needless calls.
func TestFromVfInfoRoundTrip(t *testing.T) {
	applied := State{MAC: "02:ab:cd:00:00:01", VLAN: 100, QoS: 3, Proto: Proto8021AD,
		SpoofChk: false, Trust: true, LinkState: LinkStateDisable, MinTxRate: 10, MaxTxRate: 1000}
	read := fromVfInfo(netlink.VfInfo{Mac: net.HardwareAddr{2, 0xab, 0xcd, 0, 0, 1}, Vlan: 100, Qos: 3,
		VlanProto: int(netlink.VLAN_PROTOCOL_8021AD), Trust: 1, LinkState: 2, MinTxRate: 10, MaxTxRate: 1000})
	if d := Diff(read, applied); len(d) != 0 {
		t.Errorf("read-back state differs from the applied one: %v", Mismatches(read, applied))
	}
}
