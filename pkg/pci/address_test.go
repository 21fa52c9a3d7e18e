package pci_test

import (
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
)

func TestValidAddress(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"0000:01:00.0", true},
		{"0000:01:10.2", true},
		{"0000:3b:1f.7", true},
		{"ffff:ff:1f.7", true},
		{"0001:af:0e.3", true},
		{"", false},
		{"../../etc", false},
		{"0000:01:10.0/../..", false},
		{"0000:01:10.0/", false},
		{"01:10.0", false},         // no domain: lspci's short form
		{"0000:01:10.A", false},    // function is a digit
		{"0000:3B:00.0", false},    // upper-case hex: callers lower-case first
		{"0000:01:0A.0", false},    // upper-case device
		{"0000:01:20.0", false},    // device > 1f
		{"0000:01:10.8", false},    // function > 7
		{"00000:01:10.0", false},   // 5-digit domain
		{"0000:001:10.0", false},   // 3-digit bus
		{"0000:01:10.0\n", false},  // sysfs-style trailing newline
		{" 0000:01:10.0", false},   // leading space
		{"0000:01:10.0 ", false},   // trailing space
		{"0000:01:10 .0", false},   // inner space
		{"0000-01-10.0", false},    // wrong separators
		{"0000:01:10.0.1", false},  // extra component
		{"0000:0g:10.0", false},    // non-hex bus
		{"pci0000:01:10.0", false}, // prefixed
	}
	for _, tc := range tests {
		if got := pci.ValidAddress(tc.addr); got != tc.want {
			t.Errorf("ValidAddress(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
