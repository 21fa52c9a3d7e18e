package vf

import (
	"fmt"
	"net"
	"strings"
)

// Request is what a netconf asks of a VF's PF-side settings. A nil field
// is not asked for; its setting stays as it is, except spoof checking and
// trust, which a pod gets on and off unless it asks: it never inherits the
// right to forge addresses from whoever had the VF before.
type Request struct {
	MAC       net.HardwareAddr // admin MAC (the pod's MAC)
	VLAN      *int
	QoS       *int
	Proto     *string // "802.1q" | "802.1ad", lower-case
	SpoofChk  *bool
	Trust     *bool
	LinkState *string // "auto" | "enable" | "disable", lower-case
	MinTxRate *int    // Mbps
	MaxTxRate *int    // Mbps
}

// Asked is one setting a Request asks for, as the netconf spells it.
type Asked struct {
	Field string // the netconf field
	Value string // the value, as one would write it there
	// InfiniBand: an InfiniBand VF takes it. Ethernet settings (VLAN,
	// spoof checking, trust, rates) mean nothing on InfiniBand.
	InfiniBand bool
	// NetdevToo: the pod side can apply it to the VF netdev itself, so a
	// PF without VF settings is no obstacle while the VF has a netdev.
	NetdevToo bool
}

// setting is the one description of a PF-side setting: how a Request asks
// for it and what it puts into the wanted State. Every place that lists the
// settings (what is asked, what InfiniBand takes, the state ADD sets) is
// derived from this table.
type setting struct {
	field      string
	infiniband bool
	netdevToo  bool
	asked      func(Request) (string, bool)
	want       func(Request, *State)
}

// settings, in the order a problem with them is reported.
func settings() []setting {
	return []setting{
		{field: "mac", netdevToo: true,
			asked: func(r Request) (string, bool) { return r.MAC.String(), r.MAC != nil },
			want: func(r Request, w *State) {
				if r.MAC != nil {
					w.MAC = strings.ToLower(r.MAC.String())
				}
			}},
		{field: "vlan",
			asked: func(r Request) (string, bool) { return intValue(r.VLAN) },
			want: func(r Request, w *State) {
				// A VLAN asked for resets its priority and protocol to
				// what the request says, or their defaults.
				if r.VLAN != nil {
					w.VLAN, w.QoS, w.Proto = *r.VLAN, 0, Proto8021Q
				}
			}},
		{field: "vlanQoS",
			asked: func(r Request) (string, bool) { return intValue(r.QoS) },
			want: func(r Request, w *State) {
				if r.VLAN != nil && r.QoS != nil {
					w.QoS = *r.QoS
				}
			}},
		{field: "vlanProto",
			asked: func(r Request) (string, bool) { return strValue(r.Proto) },
			want: func(r Request, w *State) {
				if r.VLAN != nil && r.Proto != nil {
					w.Proto = *r.Proto
				}
			}},
		{field: "spoofchk",
			asked: func(r Request) (string, bool) { return boolValue(r.SpoofChk) },
			want:  func(r Request, w *State) { w.SpoofChk = r.SpoofChk == nil || *r.SpoofChk }},
		{field: "trust",
			asked: func(r Request) (string, bool) { return boolValue(r.Trust) },
			want:  func(r Request, w *State) { w.Trust = r.Trust != nil && *r.Trust }},
		{field: "link_state", infiniband: true,
			asked: func(r Request) (string, bool) { return strValue(r.LinkState) },
			want: func(r Request, w *State) {
				if r.LinkState != nil {
					w.LinkState = *r.LinkState
				}
			}},
		{field: "min_tx_rate",
			asked: func(r Request) (string, bool) { return intValue(r.MinTxRate) },
			want: func(r Request, w *State) {
				if r.MinTxRate != nil {
					w.MinTxRate = *r.MinTxRate
				}
			}},
		{field: "max_tx_rate",
			asked: func(r Request) (string, bool) { return intValue(r.MaxTxRate) },
			want: func(r Request, w *State) {
				if r.MaxTxRate != nil {
					w.MaxTxRate = *r.MaxTxRate
				}
			}},
	}
}

// Asked lists the settings r asks for, in the table's order.
func (r Request) Asked() []Asked {
	var out []Asked
	for _, s := range settings() {
		if v, ok := s.asked(r); ok {
			out = append(out, Asked{Field: s.field, Value: v, InfiniBand: s.infiniband, NetdevToo: s.netdevToo})
		}
	}
	return out
}

// InfiniBandFields names the settings an InfiniBand VF takes.
func InfiniBandFields() []string {
	var out []string
	for _, s := range settings() {
		if s.infiniband {
			out = append(out, s.field)
		}
	}
	return out
}

// Want is the PF-side state r asks for, starting from cur.
func (r Request) Want(cur State) State {
	w := cur
	for _, s := range settings() {
		s.want(r, &w)
	}
	return w
}

// WithoutUntagged drops "vlan": 0 with no priority and no protocol: it
// means untagged, which a VF without PF-side settings (or an InfiniBand VF)
// already is, and sriov-network-operator renders it into every network.
func (r Request) WithoutUntagged() Request {
	if r.VLAN != nil && *r.VLAN == 0 && (r.QoS == nil || *r.QoS == 0) && r.Proto == nil {
		r.VLAN, r.QoS = nil, nil
	}
	return r
}

func intValue(p *int) (string, bool) {
	if p == nil {
		return "", false
	}
	return fmt.Sprint(*p), true
}

func strValue(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return *p, true
}

func boolValue(p *bool) (string, bool) {
	if p == nil {
		return "", false
	}
	return onOff(*p), true
}
