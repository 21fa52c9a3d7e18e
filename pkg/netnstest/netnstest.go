// Package netnstest makes throwaway network namespaces for the tests that
// create, move and configure real netdevs.
package netnstest

import (
	"os"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"golang.org/x/sys/unix"
)

// New makes a network namespace that goes, with everything in it, when t
// ends. It skips t unless it runs as root.
func New(t testing.TB) ns.NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	path := n.Path()
	t.Cleanup(func() {
		// testutils.UnmountNS answers EBUSY while the kernel still
		// references the mount; a lazy unmount always lets the file go.
		_ = n.Close()
		_ = unix.Unmount(path, unix.MNT_DETACH)
		_ = os.Remove(path)
	})
	return n
}
