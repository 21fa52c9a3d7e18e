package pci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Sysfs reads a sysfs tree rooted at Root ("/sys" in production, a temp dir in
// tests). The zero value reads /sys.
type Sysfs struct{ Root string }

func (s Sysfs) root() string {
	if s.Root == "" {
		return "/sys"
	}
	return s.Root
}

// devicePath is the bus view of a device; the kernel makes it a link into
// /sys/devices, so every read below follows it.
func (s Sysfs) devicePath(addr string) string {
	return filepath.Join(s.root(), "bus", "pci", "devices", addr)
}

// readTrimmed returns a sysfs attribute without its trailing newline.
func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readInt reads a decimal sysfs attribute (sriov_offset, net/<if>/type ...).
func readInt(path string) (int, error) {
	v, err := readTrimmed(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return n, nil
}

// linkBase returns the last element of a symlink's target ("igbvf" for
// driver -> ../../../../bus/pci/drivers/igbvf). ok is false when the link is
// absent, which for driver means "unbound" and for physfn "not a VF".
func linkBase(path string) (base string, ok bool, err error) {
	target, err := os.Readlink(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return filepath.Base(target), true, nil
}

// dirNames lists a directory's entry names, sorted; an absent directory is empty,
// because sysfs only creates net/ or infiniband/ when there is something in it.
func dirNames(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil // os.ReadDir returns entries sorted by name
}

// firstName is the sorted-first entry of a directory, "" when it is absent or empty.
func firstName(path string) (string, error) {
	names, err := dirNames(path)
	if err != nil || len(names) == 0 {
		return "", err
	}
	return names[0], nil
}
