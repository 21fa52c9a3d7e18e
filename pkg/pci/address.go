package pci

import (
	"regexp"
	"strconv"
)

// canonicalAddress is the form the kernel uses for PCI device names in sysfs
// (pci_name(): "%04x:%02x:%02x.%d"): lower-case hex, device 00-1f, function 0-7.
// Anything else, in particular "/" or "..", could escape <root>/bus/pci/devices.
var canonicalAddress = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$`)

// ValidAddress reports whether s is a canonical PCI address DDDD:BB:DD.F in
// lower-case hex. Callers holding user input lower-case it first.
func ValidAddress(s string) bool {
	return canonicalAddress.MatchString(s)
}

// location is a PCI function split into the parts routing-ID arithmetic needs.
type location struct {
	domain uint16
	rid    int // PCIe routing ID: bus<<8 | device<<3 | function
}

// parseLocation splits a ValidAddress-checked address, so parsing cannot fail.
func parseLocation(addr string) location {
	domain, _ := strconv.ParseUint(addr[0:4], 16, 16)
	bus, _ := strconv.ParseUint(addr[5:7], 16, 8)
	dev, _ := strconv.ParseUint(addr[8:10], 16, 8)
	fn, _ := strconv.ParseUint(addr[11:12], 16, 8)
	return location{domain: uint16(domain), rid: int(bus<<8 | dev<<3 | fn)}
}
