package config

import (
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

const macExample = `"02:00:00:00:00:01"`

// guidRE is an InfiniBand GUID as Multus and the IB device plugins write it.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){7}$`)

// parseMAC accepts what net.ParseMAC does, narrowed to addresses a VF can be
// given: 6 bytes, unicast, not zero (the kernel refuses the last two as a VF MAC).
func parseMAC(field, s string) (net.HardwareAddr, *types.Error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, invalid("invalid %s %s: must be a MAC address, e.g. %s", field, quote(s), macExample)
	}
	if len(mac) != 6 {
		return nil, invalid("invalid %s %s: must be a 6-byte Ethernet MAC address, e.g. %s (for InfiniBand set runtimeConfig.infinibandGUID)",
			field, quote(s), macExample)
	}
	if mac[0]&1 != 0 {
		return nil, invalid("invalid %s %s: must be a unicast MAC address (low bit of the first octet clear), e.g. %s",
			field, quote(s), macExample)
	}
	if mac.String() == "00:00:00:00:00:00" {
		return nil, invalid("invalid %s %s: must not be all zeros, e.g. %s", field, quote(s), macExample)
	}
	return mac, nil
}

// checkMAC resolves the effective MAC: runtimeConfig.mac (set per pod by
// Multus) overrides mac (set per network). Both must be valid when set.
func checkMAC(b *build) *types.Error {
	var mac net.HardwareAddr
	if s := b.net.MAC; s != "" {
		m, err := parseMAC("mac", s)
		if err != nil {
			return err
		}
		mac = m
	}
	if s := b.net.RuntimeConfig.MAC; s != "" {
		m, err := parseMAC("runtimeConfig.mac", s)
		if err != nil {
			return err
		}
		mac = m
	}
	b.cfg.MAC = mac
	// A copy: the PF-side and pod-side settings are applied and undone apart.
	b.cfg.VF.MAC = slices.Clone(mac)
	return nil
}

// checkGUID validates the format only; whether the port is InfiniBand is
// known only once the device is resolved. All-zero and all-F are refused:
// the kernel and mlx5 use them for "no GUID" and "unset".
func checkGUID(b *build) *types.Error {
	var eff net.HardwareAddr
	for _, f := range []struct{ name, v string }{
		{"guid", b.net.GUID},
		{"runtimeConfig.infinibandGUID", b.net.RuntimeConfig.InfinibandGUID},
	} {
		if f.v == "" {
			continue
		}
		if !guidRE.MatchString(f.v) {
			return invalid(`invalid %s %s: must be 8 hex octets separated by ":", e.g. "01:23:45:67:89:ab:cd:ef"`, f.name, quote(f.v))
		}
		g, err := net.ParseMAC(f.v)
		if err != nil || len(g) != 8 {
			return invalid(`invalid %s %s: must be 8 hex octets separated by ":"`, f.name, quote(f.v))
		}
		if s := strings.ToLower(g.String()); s == "00:00:00:00:00:00:00:00" || s == "ff:ff:ff:ff:ff:ff:ff:ff" {
			return invalid(`invalid %s %s: all-zero and all-F mean "no GUID"; give a real GUID`, f.name, quote(f.v))
		}
		eff = g
	}
	b.cfg.GUID = eff
	return nil
}

// checkPKey accepts a 16-bit partition key, "0x8001" or decimal. 0x0000 and
// 0x8000 are the invalid partition of the InfiniBand spec.
func checkPKey(b *build) *types.Error {
	p := b.net.PKey
	if p == "" {
		return nil
	}
	v, err := strconv.ParseUint(p, 0, 16)
	if err != nil || v&0x7fff == 0 {
		return invalid(`invalid pkey %s: must be a 16-bit partition key such as "0x7fff" or "0x8001" (0x0000 and 0x8000 are invalid)`, quote(p))
	}
	b.cfg.PKey = uint16(v)
	return nil
}
