package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

const (
	proto8021Q  = "802.1q"
	proto8021AD = "802.1ad"
)

// checkVLAN checks vlan, vlanQoS and vlanProto together: QoS and protocol
// describe the VF's VLAN tag and mean nothing without one.
func checkVLAN(b *build) *types.Error {
	n := b.net
	if n.VLAN != nil && (*n.VLAN < 0 || *n.VLAN > 4094) {
		return invalid("invalid vlan %d: must be an integer 0-4094 (0 = untagged)", *n.VLAN)
	}
	if q := n.VLANQoS; q != nil {
		if *q < 0 || *q > 7 {
			return invalid("invalid vlanQoS %d: must be an integer 0-7", *q)
		}
		if n.VLAN == nil && *q != 0 {
			return invalid(`invalid vlanQoS %d: needs "vlan" to be set (QoS is the priority of the VF's VLAN tag)`, *q)
		}
		// As sriov-cni: a priority on "no VLAN" is refused rather than
		// silently turned into priority tagging by some drivers only.
		if n.VLAN != nil && *n.VLAN == 0 && *q != 0 {
			return invalid(`invalid vlanQoS %d: needs a non-zero "vlan" (vlan 0 means untagged)`, *q)
		}
	}
	var proto *string
	if p := n.VLANProto; p != nil {
		lp := strings.ToLower(*p)
		if lp != proto8021Q && lp != proto8021AD {
			return invalid("invalid vlanProto %s: must be %q or %q", quote(*p), proto8021Q, proto8021AD)
		}
		if n.VLAN == nil {
			return invalid(`invalid vlanProto %s: needs "vlan" to be set`, quote(*p))
		}
		if lp == proto8021AD && *n.VLAN == 0 {
			return invalid(`invalid vlanProto %s with vlan 0: 802.1ad needs a non-zero "vlan" (the kernel refuses it)`, quote(*p))
		}
		proto = &lp
	}
	b.cfg.VF.VLAN = clonePtr(n.VLAN)
	// sriov-cni accepted "vlanQoS": 0 on its own and NADs carry it; without a
	// vlan it asks for nothing.
	if n.VLAN != nil {
		b.cfg.VF.QoS = clonePtr(n.VLANQoS)
	}
	b.cfg.VF.Proto = proto
	return nil
}

// clonePtr copies a pointed-to value so Config never aliases NetConf.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
