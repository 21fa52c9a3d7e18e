// Package confine keeps the files a netconf names inside the directories a
// node allows for them.
//
// A NetworkAttachmentDefinition is a namespaced object: whoever may create
// one writes the plugin's netconf, and the plugin runs as root. So the paths
// a netconf names (stateDir, logFile, runtimeConfig.CNIDeviceInfoFile) must
// lie below a root the node chose, and below that root the plugin never
// follows a symbolic link: every directory it walks, creates or writes in is
// opened with O_NOFOLLOW, one component at a time.
//
// The checks on a path are pure (Roots.Match); the file operations live in
// fs.go.
package confine

import (
	"path/filepath"
	"strings"
)

// Roots lists, per kind of file, the directories its paths must lie below.
// Each root is absolute and clean; a path must be strictly below it.
type Roots struct {
	// State holds stateDir: journals.
	State []string `json:"stateDirRoots,omitempty"`
	// Log holds logFile.
	Log []string `json:"logFileRoots,omitempty"`
	// DeviceInfo holds runtimeConfig.CNIDeviceInfoFile.
	DeviceInfo []string `json:"deviceInfoRoots,omitempty"`
}

// DeviceInfoDir is where Multus asks for device-info files; /var/run is the
// same directory on every systemd node, and Multus spells it that way.
const DeviceInfoDir = "/run/k8s.cni.cncf.io/devinfo"

// Default is what a node allows without a node settings file: CNI's own
// state directories, /var/log, and the device-info directory.
func Default() Roots {
	return Roots{
		State:      []string{"/var/lib/cni", "/run"},
		Log:        []string{"/var/log"},
		DeviceInfo: []string{DeviceInfoDir, "/var" + DeviceInfoDir},
	}
}

// Widen returns r with o's roots added.
func (r Roots) Widen(o Roots) Roots {
	return Roots{
		State:      appendNew(r.State, o.State),
		Log:        appendNew(r.Log, o.Log),
		DeviceInfo: appendNew(r.DeviceInfo, o.DeviceInfo),
	}
}

func appendNew(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		found := false
		for _, t := range out {
			found = found || s == t
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// Match returns the root among roots that p lies strictly below, "" when
// none does. p must already be absolute and clean (the netconf checks say
// so first); a root is compared as a whole directory, so "/var/logs" is not
// below "/var/log".
func Match(roots []string, p string) string {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return ""
	}
	for _, r := range roots {
		if r == "/" {
			if p != "/" {
				return r
			}
			continue
		}
		if strings.HasPrefix(p, r+"/") {
			return r
		}
	}
	return ""
}

// List renders roots for an error message: "/var/lib/cni/ or /run/".
func List(roots []string) string {
	parts := make([]string, len(roots))
	for i, r := range roots {
		parts[i] = strings.TrimSuffix(r, "/") + "/"
	}
	switch len(parts) {
	case 0:
		return "(none)"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
