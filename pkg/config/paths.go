package config

import (
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/confine"
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
	root, err := confined("stateDir", d, b.opts.Roots.State, DefaultStateDir)
	if err != nil {
		return err
	}
	b.cfg.StateDir, b.cfg.StateRoot = d, root
	return nil
}

// confined finds the node's root that p lies below. The netconf is tenant
// input and the plugin runs as root: a path anywhere else (a CNI config, a
// system directory) is refused before anything is created or written.
func confined(field, p string, roots []string, example string) (string, *types.Error) {
	root := confine.Match(roots, p)
	if root == "" {
		return "", invalid(`invalid %s %s: must be below %s, e.g. %q; a node administrator can allow more roots in %s`,
			field, quote(p), confine.List(roots), example, confine.NodeFile)
	}
	return root, nil
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
	// log files anyway, whatever roots a node allows.
	for _, p := range []string{"/dev/", "/proc/", "/sys/"} {
		if strings.HasPrefix(f, p) {
			return invalid(`invalid logFile %s: must be a regular file, not under %s (stdout carries the CNI result), e.g. %q`, quote(f), p, exampleLogFile)
		}
	}
	root, err := confined("logFile", f, b.opts.Roots.Log, exampleLogFile)
	if err != nil {
		return err
	}
	b.cfg.LogFile, b.cfg.LogRoot = f, root
	return nil
}

const exampleDeviceInfo = confine.DeviceInfoDir + "/cni/net1-device.json"

// checkDeviceInfoFile: Multus names the device-info file; only a file in the
// device-info directory may be written (and later removed) by the plugin.
func checkDeviceInfoFile(b *build) *types.Error {
	f := b.net.RuntimeConfig.CNIDeviceInfoFile
	if f == "" {
		return nil
	}
	const field = "runtimeConfig.CNIDeviceInfoFile"
	if err := checkPath(field, f, exampleDeviceInfo); err != nil {
		return err
	}
	root, err := confined(field, f, b.opts.Roots.DeviceInfo, exampleDeviceInfo)
	if err != nil {
		return err
	}
	b.cfg.DeviceInfoFile, b.cfg.DeviceInfoRoot = f, root
	return nil
}
