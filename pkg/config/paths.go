package config

import (
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// checkPath holds the plugin's own files to one shape: absolute, because the
// runtime's working directory is not ours to rely on; clean, so the path that
// is logged is the path that is used and ".." cannot climb out of it.
func checkPath(field, p, example string) *types.Error {
	switch {
	case strings.ContainsRune(p, 0):
		return invalid("invalid %s %s: must not contain NUL", field, quote(p))
	case !filepath.IsAbs(p):
		return invalid(`invalid %s %s: must be an absolute path, e.g. %q`, field, quote(p), example)
	case hasDotDot(p):
		return invalid(`invalid %s %s: must not contain ".."`, field, quote(p))
	case filepath.Clean(p) != p:
		return invalid(`invalid %s %s: must be a clean path (no ".", "//" or trailing "/"), e.g. %q`, field, quote(p), filepath.Clean(p))
	}
	return nil
}

const exampleLogFile = "/var/log/sriov-rdma.log"

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

func checkStateDir(b *build) *types.Error {
	d := b.net.StateDir
	if d == "" {
		return nil
	}
	if err := checkPath("stateDir", d, DefaultStateDir); err != nil {
		return err
	}
	// Journals and locks would land directly in "/".
	if d == "/" {
		return invalid(`invalid stateDir "/": must be a directory below "/", e.g. %q`, DefaultStateDir)
	}
	b.cfg.StateDir = d
	return nil
}

func checkLogFile(b *build) *types.Error {
	f := b.net.LogFile
	if f == "" {
		return nil
	}
	// Checked before cleanliness: "a directory" says more than "not clean".
	if strings.HasSuffix(f, "/") {
		return invalid(`invalid logFile %s: must name a file, not a directory (no trailing "/"), e.g. %q`, quote(f), exampleLogFile)
	}
	if err := checkPath("logFile", f, exampleLogFile); err != nil {
		return err
	}
	// stdout carries the CNI result: a log there (/dev/stdout,
	// /proc/self/fd/1) would corrupt it. Device and kernel files are no
	// log files anyway.
	for _, p := range []string{"/dev/", "/proc/", "/sys/"} {
		if strings.HasPrefix(f, p) {
			return invalid(`invalid logFile %s: must be a regular file, not under %s (stdout carries the CNI result), e.g. %q`, quote(f), p, exampleLogFile)
		}
	}
	b.cfg.LogFile = f
	return nil
}
