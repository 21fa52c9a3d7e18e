package confine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// NodeFile is the node-level settings file through which an administrator
// widens the roots. It is a file on the node, owned by root: no netconf and
// no CNI_ARGS can name or change it.
const NodeFile = "/etc/sriov-rdma/node.json"

// maxNodeFile bounds the settings file: a few lines of JSON.
const maxNodeFile = 64 << 10

// LoadNode returns the default roots widened by the settings file at path.
// A missing file is no error (the defaults). A file that is not a regular
// file owned by root and writable only by root is refused: whoever could
// write it could point the plugin's files anywhere.
func LoadNode(path string) (Roots, error) {
	roots := Default()
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return roots, nil
	}
	if err != nil {
		return roots, fmt.Errorf("node settings %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return roots, fmt.Errorf("node settings %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return roots, fmt.Errorf("node settings %s: not a regular file; ignored", path)
	case !ok || st.Uid != 0:
		return roots, fmt.Errorf("node settings %s: not owned by root; ignored", path)
	case fi.Mode().Perm()&0o022 != 0:
		return roots, fmt.Errorf("node settings %s: writable by group or others (mode %s); ignored", path, fi.Mode().Perm())
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxNodeFile+1)); err != nil {
		return roots, fmt.Errorf("node settings %s: %w", path, err)
	}
	if buf.Len() > maxNodeFile {
		return roots, fmt.Errorf("node settings %s: larger than %d bytes; ignored", path, maxNodeFile)
	}
	var extra Roots
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&extra); err != nil {
		return roots, fmt.Errorf("node settings %s: %w; ignored", path, err)
	}
	for _, list := range [][]string{extra.State, extra.Log, extra.DeviceInfo} {
		for _, r := range list {
			if !filepath.IsAbs(r) || filepath.Clean(r) != r {
				return roots, fmt.Errorf("node settings %s: root %q must be an absolute, clean path; ignored", path, r)
			}
		}
	}
	return roots.Widen(extra), nil
}
