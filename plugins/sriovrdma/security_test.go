package sriovrdma

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// The security rules README's Guarantees table lists, one test each:
//   - deviceID and ifname never escape their directory or namespace (here);
//   - only VFs are moved: a PF or a non-SR-IOV device is refused (here);
//   - spoofchk on and trust off unless the config asks (here);
//   - journal and lock files 0600 in 0700 directories; paths only below the
//     node's roots; a device-info file removed only by the attachment that
//     created it (files_test.go);
//   - a VF a live pod owns is never handed out or reconfigured by another
//     attachment's DEL or GC (ownership_test.go);
//   - GC removes only journals it can prove are its network's (gc_test.go);
//   - when a driver refuses the original admin MAC, a unique locally
//     administered MAC is set instead and logged, never a duplicate
//     (mac_test.go).

// treeFiles lists every file and directory under the roots, but skip, so a
// test can tell that nothing was written anywhere in a node's trees.
func treeFiles(t *testing.T, skip string, roots ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, root := range roots {
		_ = filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err == nil && path != skip {
				out[path] = true
			}
			return nil
		})
	}
	return out
}

// newFiles names what after holds that before did not, and what went.
func newFiles(before, after map[string]bool) []string {
	var out []string
	for f := range after {
		if !before[f] {
			out = append(out, "+"+f)
		}
	}
	for f := range before {
		if !after[f] {
			out = append(out, "-"+f)
		}
	}
	sort.Strings(out)
	return out
}

// nodeFiles is every file of the node's own trees: the state dir's, the
// lock dir's and the log file's parents, and the fixture sysfs. The log
// file the netconf names is the one file a refused verb may write.
func (n *node) nodeFiles(t *testing.T) map[string]bool {
	return treeFiles(t, n.logFile, filepath.Dir(n.stateDir), filepath.Dir(n.lockDir), filepath.Dir(n.logFile), n.sys)
}

func TestDeviceIDNeverEscapes(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	before, files := n.snapshot(), n.nodeFiles(t)
	p := n.newPod("pod-a")
	vf0 := n.vfAddr(0)
	hostile := []string{
		"..", "../../../../etc/passwd", vf0 + "/..", vf0 + "/../../../../../etc",
		"/sys/bus/pci/devices/" + vf0, "./" + vf0, vf0 + "/", vf0 + "\x00", vf0 + "\n../x",
		" " + vf0, "0000:01:10.0..", "0000:01:1/.0", "%2e%2e%2f", "0000:01:10.0;rm -rf /",
	}
	for _, field := range []string{"deviceID", "pciBusID", "runtimeConfig.deviceID"} {
		for _, v := range hostile {
			extra := map[string]any{"deviceID": nil}
			switch field {
			case "runtimeConfig.deviceID":
				extra["runtimeConfig"] = map[string]any{"deviceID": v}
			default:
				extra[field] = v
			}
			conf := n.conf(0, extra)
			_, err := n.add(p, conf)
			if err == nil {
				t.Fatalf("ADD with %s %q succeeded", field, v)
			}
			if code := cniCode(t, err); code != types.ErrInvalidNetworkConfig {
				t.Errorf("ADD with %s %q: code %d (%v), want %d", field, v, code, err, types.ErrInvalidNetworkConfig)
			}
			// DEL of what never happened: nothing to undo, success.
			if err := n.del(p, conf); err != nil {
				t.Errorf("DEL with %s %q: %v", field, v, err)
			}
		}
	}
	n.sameAs(before, "hostile deviceIDs changed the node")
	if d := newFiles(files, n.nodeFiles(t)); len(d) != 0 {
		t.Errorf("hostile deviceIDs changed files: %v", d)
	}
	for _, dir := range []string{n.stateDir, n.lockDir} {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s not empty: %v", dir, ents)
		}
	}
	if l := links(t, p.ns); len(l) != 1 {
		t.Errorf("pod got links: %v", l)
	}
}

// CNI_IFNAME and CNI_CONTAINERID name the journal file: "/" or ".." in
// either is refused before anything changes, so no journal or lock lands
// outside the state and lock directories and no netdev moves.
func TestIfNameAndContainerIDNeverEscape(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	before, files := n.snapshot(), n.nodeFiles(t)
	conf := n.conf(0, nil)
	podNS := n.newPod("x").ns
	for _, tc := range []struct{ id, ifname string }{
		{"pod-a", "../escape"}, {"pod-a", ".."}, {"pod-a", "."}, {"pod-a", "a/b"}, {"pod-a", "/"},
		{"pod-a", "net1/../../../x"}, {"pod-a", "net\x001"}, {"pod-a", ""},
		{"../../../tmp/x", "net1"}, {"..", "net1"}, {"a/b", "net1"}, {"", "net1"}, {"pod\x00a", "net1"},
	} {
		p := &pod{ns: podNS, id: tc.id, ifname: tc.ifname}
		_, err := n.add(p, conf)
		if err == nil {
			t.Fatalf("ADD with container %q ifname %q succeeded", tc.id, tc.ifname)
		}
		if code := cniCode(t, err); code != types.ErrInvalidEnvironmentVariables {
			t.Errorf("ADD with container %q ifname %q: code %d (%v), want %d", tc.id, tc.ifname, code, err, types.ErrInvalidEnvironmentVariables)
		}
		// DEL, CHECK: refused or a no-op, never a change.
		_ = n.del(p, conf)
		_ = n.check(p, conf, nil)
	}
	n.sameAs(before, "hostile names changed the node")
	if d := newFiles(files, n.nodeFiles(t)); len(d) != 0 {
		t.Errorf("hostile names changed files: %v", d)
	}
	if c := n.changeCalls(); len(c) != 0 {
		t.Errorf("hostile names made device calls: %v", c)
	}
	if l := links(t, podNS); len(l) != 1 {
		t.Errorf("pod got links: %v", l)
	}
}

// Only VFs go into pods: the PF (the usual mistake) and a NIC without
// SR-IOV are refused with code 7 before anything changes.
func TestOnlyVFsAreMoved(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	// The same node's sysfs with a plain NIC added.
	root := t.TempDir()
	const plain = "0000:02:00.0"
	if err := fixture.Build(root, fixture.Node{PFs: []fixture.PF{n.pf}, Plain: []string{plain}}); err != nil {
		t.Fatal(err)
	}
	n.p.Devices = pci.Sysfs{Root: root}
	pfLink, err := os.Readlink(filepath.Join(root, "bus/pci/devices", n.vfAddr(0), "physfn"))
	if err != nil {
		t.Fatal(err)
	}
	pfAddr := filepath.Base(pfLink)
	before := n.snapshot()
	n.resetCalls()
	p := n.newPod("pod-a")
	for _, tc := range []struct{ addr, want string }{
		{pfAddr, "sr-iov physical function"},
		{plain, "no physfn link"},
		{"0000:05:00.0", "no such PCI device"},
	} {
		_, err := n.add(p, n.conf(0, map[string]any{"deviceID": tc.addr}))
		if err == nil {
			t.Fatalf("ADD of %s succeeded", tc.addr)
		}
		if code := cniCode(t, err); code != types.ErrInvalidNetworkConfig {
			t.Errorf("ADD of %s: code %d (%v), want %d", tc.addr, code, err, types.ErrInvalidNetworkConfig)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ADD of %s: %q does not say %q", tc.addr, err, tc.want)
		}
	}
	n.sameAs(before, "refused ADDs changed the node")
	if c := n.changeCalls(); len(c) != 0 {
		t.Errorf("refused ADDs made device calls: %v", c)
	}
	if l := links(t, p.ns); len(l) != 1 {
		t.Errorf("pod got links: %v", l)
	}
}

// Spoof checking on and trust off unless the config asks, whatever the VF's
// previous user left; DEL puts back what it found.
func TestSecureDefaultsUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		name            string
		extra           map[string]any
		spoofchk, trust bool
	}{
		{"nothing asked", nil, true, false},
		{"spoofchk off asked", map[string]any{"spoofchk": "off"}, false, false},
		{"trust on asked", map[string]any{"trust": "on"}, true, true},
		{"both asked the secure way", map[string]any{"spoofchk": "on", "trust": "off"}, true, false},
		{"other settings only", map[string]any{"vlan": 3, "mac": "02:00:00:00:00:03"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1})
			left := n.vfs.State("pf0", 0)
			left.SpoofChk, left.Trust = false, true
			n.vfs.Set("pf0", 0, left)
			p, conf := n.attached("pod-a", 0, tc.extra)
			if got := n.vfs.State("pf0", 0); got.SpoofChk != tc.spoofchk || got.Trust != tc.trust {
				t.Errorf("VF in the pod: spoofchk %t trust %t, want %t %t", got.SpoofChk, got.Trust, tc.spoofchk, tc.trust)
			}
			n.mustDel(p, conf)
			if got := n.vfs.State("pf0", 0); got != left {
				t.Errorf("DEL left %+v, want what it found %+v", got, left)
			}
		})
	}
}

// "net%d" would make the kernel pick the name: refused before anything
// changes.
func TestAddRefusesAPatternIfName(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	before := n.snapshot()
	p := n.newPod("pod-a")
	p.ifname = "net%d"
	_, err := n.add(p, n.conf(0, nil))
	if code(err) != types.ErrInvalidEnvironmentVariables || !strings.Contains(err.Error(), "net%d") {
		t.Fatalf("ADD as net%%d: %v, want code 4 naming it", err)
	}
	n.sameAs(before, "node changed")
}
