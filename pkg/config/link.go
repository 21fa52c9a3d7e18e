package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

const (
	// minMTU is the IPv4 minimum (RFC 791); the kernel refuses less on Ethernet.
	minMTU = 68
	maxMTU = 65535
)

// checkMTU: 0 or absent keeps the VF's current MTU.
func checkMTU(b *build) *types.Error {
	m := b.net.MTU
	if m == nil || *m == 0 {
		return nil
	}
	if *m < minMTU || *m > maxMTU {
		return invalid("invalid mtu %d: must be an integer %d-%d (0 or absent keeps the current MTU)", *m, minMTU, maxMTU)
	}
	b.cfg.MTU = *m
	return nil
}

func checkRDMA(b *build) *types.Error {
	s := b.net.RDMA
	if s == "" {
		return nil
	}
	switch p := RDMAPolicy(strings.ToLower(s)); p {
	case RDMAAuto, RDMARequired, RDMAOff:
		b.cfg.RDMA = p
		return nil
	}
	return invalid(`invalid rdma %s: must be "auto", "required" or "off"`, quote(s))
}
