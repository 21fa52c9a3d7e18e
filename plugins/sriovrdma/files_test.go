package sriovrdma

// The files the plugin writes: journals and locks private whatever the
// umask, a stateDir it did not create left as it is, paths only below the
// node's roots, and a device-info file removed only by the attachment that
// created it.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Journals hold IPAM configs and pod names; a lock anyone could take would
// be a denial of service: files 0600 and the directories the plugin makes
// 0700, whatever the umask.
func TestStateAndLockFilesArePrivate(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	p, conf := n.attached("pod-a", 0, nil)
	want := map[string]os.FileMode{
		n.stateDir: os.ModeDir | 0o700,
		n.lockDir:  os.ModeDir | 0o700,
		filepath.Join(n.stateDir, "pod-a-net1.json"):  0o600,
		state.Locks{Dir: n.lockDir}.Path(n.vfAddr(0)): 0o600,
		n.logFile: 0o600,
	}
	for path, mode := range want {
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if st.Mode() != mode {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), mode)
		}
	}
	// Nothing else in either directory, and nothing there anyone else may read.
	for _, dir := range []string{n.stateDir, n.lockDir} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			info, err := e.Info()
			if err == nil && info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s/%s has mode %v", dir, e.Name(), info.Mode())
			}
		}
		if len(ents) != 1 {
			t.Errorf("%s holds %d entries, want 1", dir, len(ents))
		}
	}
	n.mustDel(p, conf)
}

// The netconf names stateDir: a directory that exists already (a node's
// shared directory under /run, say) is the node's, and the plugin must not
// change its mode. Its own files in it are still private.
func TestExistingStateDirKeepsItsMode(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	if err := os.MkdirAll(n.stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(n.stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, conf := n.attached("pod-a", 0, nil)
	if st, err := os.Stat(n.stateDir); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("stateDir the plugin did not create: mode %v (%v), want 0755 kept", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(n.stateDir, "pod-a-net1.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("journal: %v %v, want 0600", st, err)
	}
	n.mustDel(p, conf)
}

// The device-info file: created by ADD, removed by DEL; one the device
// plugin wrote first is merged into and left for Multus; one that is not a
// device-info document is never touched, not even by the rollback.
func TestDeviceInfoFileOwnership(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 3})
	dir := filepath.Join(t.TempDir(), "devinfo")
	withFile := func(i int, f string) []byte {
		return n.conf(i, map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": f}})
	}

	ours := filepath.Join(dir, "ours.json")
	a := n.newPod("pod-a")
	n.mustAdd(a, withFile(0, ours))
	if _, err := os.Stat(ours); err != nil {
		t.Fatalf("ADD wrote no device-info file: %v", err)
	}
	if err := n.del(a, withFile(0, ours)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ours); !os.IsNotExist(err) {
		t.Errorf("DEL left the file ADD created: %v", err)
	}

	theirs := filepath.Join(dir, "theirs.json")
	if err := os.WriteFile(theirs, []byte(`{"type":"pci","version":"1.1.0","pci":{"pci-address":"`+n.vfAddr(1)+`"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b := n.newPod("pod-b")
	n.mustAdd(b, withFile(1, theirs))
	if err := n.del(b, withFile(1, theirs)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("DEL removed the device plugin's file: %v", err)
	}

	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := n.snapshot()
	c := n.newPod("pod-c")
	if _, err := n.add(c, withFile(2, other)); err == nil {
		t.Fatalf("ADD merged into a file that is not a device-info document")
	}
	if got, _ := os.ReadFile(other); string(got) != "not json" {
		t.Errorf("the rollback changed or removed the file: %q", got)
	}
	n.sameAs(before, "node after the failed ADD differs")
}

// Paths a netconf names outside the node's roots are refused before
// anything changes, naming the field and the roots.
func TestAddRefusesPathsOutsideTheRoots(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	etc := t.TempDir()
	n.p.Options.Roots.DeviceInfo = []string{"/run/k8s.cni.cncf.io/devinfo"}
	victim := filepath.Join(etc, "10-net.conflist")
	if err := os.WriteFile(victim, []byte(`{"cniVersion":"1.0.0","name":"node","plugins":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	before := n.snapshot()
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"runtimeConfig": map[string]any{"CNIDeviceInfoFile": victim}}))
	if code(err) != types.ErrInvalidNetworkConfig || !strings.Contains(err.Error(), "runtimeConfig.CNIDeviceInfoFile") ||
		!strings.Contains(err.Error(), "/run/k8s.cni.cncf.io/devinfo/") {
		t.Fatalf("ADD with a device-info file in a CNI config dir: %v, want code 7 naming the field and the root", err)
	}
	if b, _ := os.ReadFile(victim); !bytes.Contains(b, []byte(`"plugins":[]`)) || bytes.Contains(b, []byte(`"pci"`)) {
		t.Errorf("the file was changed: %s", b)
	}
	n.sameAs(before, "node changed")
}
