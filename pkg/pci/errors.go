package pci

import "errors"

// Sentinel errors; callers decide on them with errors.Is.
var (
	// ErrInvalidAddress: the address is not a canonical DDDD:BB:DD.F; nothing was read.
	ErrInvalidAddress = errors.New("invalid pci address")
	// ErrNotFound: no such device under <root>/bus/pci/devices.
	ErrNotFound = errors.New("pci device not found")
	// ErrNotVF: the device exists but is not (or does not check out as) an SR-IOV VF.
	ErrNotVF = errors.New("pci device is not an sr-iov virtual function")
)
