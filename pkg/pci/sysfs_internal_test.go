package pci

import "testing"

func TestZeroSysfsReadsSlashSys(t *testing.T) {
	if got, want := (Sysfs{}).devicePath("0000:01:10.0"), "/sys/bus/pci/devices/0000:01:10.0"; got != want {
		t.Errorf("Sysfs{} reads %s, want %s", got, want)
	}
}
