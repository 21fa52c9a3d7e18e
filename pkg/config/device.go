package config

import (
	"regexp"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// pciAddrRE is a full PCI function address: domain:bus:device.function in hex,
// device 00-1f, function 0-7. The address later names paths under /sys, so
// nothing but this exact shape may get through (no "..", "/", spaces, NUL).
var pciAddrRE = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$`)

const pciExample = `"0000:01:10.0"`

// parsePCI validates one source of the device address and lower-cases it, the
// way sysfs spells it.
func parsePCI(field, s string) (string, *types.Error) {
	if !pciAddrRE.MatchString(s) {
		return "", invalid("invalid %s %s: must be a PCI address DDDD:BB:DD.F in hex (device 00-1f, function 0-7), e.g. %s",
			field, quote(s), pciExample)
	}
	return strings.ToLower(s), nil
}

// checkDevice picks the effective VF address: deviceID, else
// runtimeConfig.deviceID, else pciBusID. Every source that is set must be
// well-formed, even one that loses: a garbled one means something upstream is wrong.
func checkDevice(b *build) *types.Error {
	// In order of precedence.
	sources := [...]struct{ field, value string }{
		{"deviceID", b.net.DeviceID},
		{"runtimeConfig.deviceID", b.net.RuntimeConfig.DeviceID},
		{"pciBusID", b.net.PCIBusID},
	}
	var addrs [len(sources)]string
	effective := ""
	for i, src := range sources {
		if src.value == "" {
			continue
		}
		addr, err := parsePCI(src.field, src.value)
		if err != nil {
			return err
		}
		addrs[i] = addr
		if effective == "" {
			effective = addr
		}
	}
	if effective == "" {
		return invalid(`missing deviceID: set "deviceID" (or "pciBusID"/runtimeConfig.deviceID) to the VF's PCI address, e.g. %s`, pciExample)
	}
	// Multus fills both from the device plugin; if they disagree, picking one
	// could take a VF allocated to another pod.
	if d, p := addrs[0], addrs[2]; d != "" && p != "" && d != p {
		return invalid("conflicting deviceID %s and pciBusID %s: when both are set they must name the same VF",
			quote(b.net.DeviceID), quote(b.net.PCIBusID))
	}
	b.cfg.DeviceID = effective
	return nil
}
