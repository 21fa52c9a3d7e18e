package inspect

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Small sysfs readers. They never fail loudly: a diagnostic shows what it
// can read, and an attribute that vanished since a listing is simply absent.

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return n, nil
}

// linkBase is the last element of a symlink's target, "" when absent.
func linkBase(path string) string {
	t, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// dirNames lists a directory's entries, sorted; nil when it is unreadable.
func dirNames(path string) []string {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func firstName(path string) string {
	if n := dirNames(path); len(n) > 0 {
		return n[0]
	}
	return ""
}
