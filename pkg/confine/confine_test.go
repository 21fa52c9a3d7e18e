package confine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestMatch(t *testing.T) {
	roots := Default()
	for _, c := range []struct {
		roots []string
		p     string
		want  string
	}{
		{roots.State, "/var/lib/cni/sriov-rdma", "/var/lib/cni"},
		{roots.State, "/run/sriov-rdma/state", "/run"},
		{roots.State, "/var/lib/cni", ""},      // the root itself: journals would sit among CNI's own files
		{roots.State, "/var/lib/cnix/a", ""},   // a sibling with the root as prefix
		{roots.State, "/etc/cni/net.d", ""},    // outside
		{roots.State, "/var/lib/cni/../x", ""}, // not clean
		{roots.State, "var/lib/cni/x", ""},     // not absolute
		{roots.Log, "/var/log/sriov-rdma.log", "/var/log"},
		{roots.Log, "/var/lib/cni/x.log", ""},
		{roots.DeviceInfo, "/run/k8s.cni.cncf.io/devinfo/cni/a.json", DeviceInfoDir},
		{roots.DeviceInfo, "/var/run/k8s.cni.cncf.io/devinfo/cni/a.json", "/var" + DeviceInfoDir},
		{roots.DeviceInfo, "/etc/cni/net.d/10-net.conflist", ""},
		{[]string{"/"}, "/anything", "/"},
	} {
		if got := Match(c.roots, c.p); got != c.want {
			t.Errorf("Match(%v, %q) = %q, want %q", c.roots, c.p, got, c.want)
		}
	}
	if got := List(roots.State); got != "/var/lib/cni/ or /run/" {
		t.Errorf("List = %q", got)
	}
}

func TestMkdirAllCreatesBelowRootAndChmodsOnlyWhatItMade(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "shared")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(existing, "a", "b")
	if err := MkdirAll(root, want, 0o700); err != nil {
		t.Fatalf("MkdirAll: %v", err)
	}
	for p, mode := range map[string]os.FileMode{existing: 0o755, filepath.Join(existing, "a"): 0o700, want: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %s, want %s", p, fi.Mode().Perm(), mode)
		}
	}
	if err := MkdirAll(root, filepath.Dir(root), 0o700); !errors.Is(err, ErrOutside) {
		t.Errorf("MkdirAll above the root: %v, want ErrOutside", err)
	}
}

func TestNoSymlinkFollowedBelowRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim.conflist")
	if err := os.WriteFile(victim, []byte(`{"name":"node-net"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link as a directory component and a link as the file itself.
	if err := os.Symlink(outside, filepath.Join(root, "dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(root, "file.json")); err != nil {
		t.Fatal(err)
	}
	viaDir := filepath.Join(root, "dir", "victim.conflist")
	if _, err := ReadFile(root, viaDir, 1<<10); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("ReadFile through a linked directory: %v, want a refusal naming the link", err)
	}
	if err := WriteAtomic(root, viaDir, []byte("x"), 0o644, 0o755, false); err == nil {
		t.Errorf("WriteAtomic through a linked directory succeeded")
	}
	if err := MkdirAll(root, filepath.Join(root, "dir", "sub"), 0o700); err == nil {
		t.Errorf("MkdirAll through a linked directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a directory was created outside the root: %v", err)
	}
	if _, err := ReadFile(root, filepath.Join(root, "file.json"), 1<<10); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("ReadFile of a link: %v, want a refusal naming the link", err)
	}
	if _, err := OpenAppend(root, filepath.Join(root, "file.json"), 0o600, 0o700); err == nil {
		t.Errorf("OpenAppend of a link succeeded")
	}
	// Replacing the link replaces the link, never the file it names.
	if err := WriteAtomic(root, filepath.Join(root, "file.json"), []byte(`{"type":"pci"}`), 0o644, 0o755, true); err != nil {
		t.Fatalf("WriteAtomic over a link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != `{"name":"node-net"}` {
		t.Errorf("the linked file was rewritten: %s", b)
	}
	if err := Remove(root, viaDir); err == nil {
		t.Errorf("Remove through a linked directory succeeded")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("the file outside the root is gone: %v", err)
	}
}

func TestReadAndAppendRefuseNonRegular(t *testing.T) {
	root := t.TempDir()
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := ReadFile(root, fifo, 10); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile of a FIFO: %v", err)
	}
	if _, err := OpenAppend(root, fifo, 0o600, 0o700); err == nil {
		t.Errorf("OpenAppend of a FIFO succeeded")
	}
}

func TestOpenAppendCreatesWithMode(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "sub", "plugin.log")
	f, err := OpenAppend(root, p, 0o600, 0o700)
	if err != nil {
		t.Fatalf("OpenAppend: %v", err)
	}
	_, _ = f.WriteString("one\n")
	_ = f.Close()
	f, err = OpenAppend(root, p, 0o600, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("two\n")
	_ = f.Close()
	b, _ := os.ReadFile(p)
	if string(b) != "one\ntwo\n" {
		t.Errorf("log is %q, want both lines appended", b)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %s, want 0600", fi.Mode().Perm())
	}
}

func TestRemoveAndExists(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a", "f.json")
	if ok, err := Exists(root, p); ok || err != nil {
		t.Fatalf("Exists before: %v %v", ok, err)
	}
	if err := WriteAtomic(root, p, []byte("{}"), 0o644, 0o755, false); err != nil {
		t.Fatal(err)
	}
	if ok, err := Exists(root, p); !ok || err != nil {
		t.Fatalf("Exists after write: %v %v", ok, err)
	}
	if err := Remove(root, p); err != nil {
		t.Fatal(err)
	}
	if err := Remove(root, p); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if ok, _ := Exists(root, p); ok {
		t.Errorf("file still there")
	}
}

func TestLoadNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the settings file must be owned by root")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "node.json")
	if r, err := LoadNode(p); err != nil || len(r.State) != len(Default().State) {
		t.Fatalf("missing file: %v %v", r, err)
	}
	if err := os.WriteFile(p, []byte(`{"stateDirRoots":["/data/cni"],"logFileRoots":["/data/log"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := LoadNode(p)
	if err != nil {
		t.Fatalf("LoadNode: %v", err)
	}
	if Match(r.State, "/data/cni/sriov") == "" || Match(r.Log, "/data/log/x.log") == "" || Match(r.State, "/var/lib/cni/x") == "" {
		t.Errorf("roots not widened: %+v", r)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	if r, err := LoadNode(p); err == nil || Match(r.State, "/data/cni/sriov") != "" {
		t.Errorf("a world-writable settings file was used: %+v %v", r, err)
	}
	if err := os.WriteFile(p, []byte(`{"stateDirRoots":["data"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(p, 0o644)
	if _, err := LoadNode(p); err == nil {
		t.Errorf("a relative root was accepted")
	}
	if err := os.WriteFile(p, []byte(`{"stateDirRoot":["/x"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNode(p); err == nil {
		t.Errorf("a misspelt key was accepted")
	}
}
