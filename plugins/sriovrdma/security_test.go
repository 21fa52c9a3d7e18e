package sriovrdma

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// The security rules README's Guarantees table lists, one test each:
//   - deviceID and ifname never escape their directory or namespace;
//   - only VFs are moved (a PF or a non-SR-IOV device is refused);
//   - a VF a live pod owns is never handed out or reconfigured by another
//     attachment's DEL or GC;
//   - spoofchk on and trust off unless the config asks;
//   - journal and lock files 0600 in 0700 directories;
//   - when a driver refuses the original admin MAC, a unique locally
//     administered MAC is set instead and logged, never a duplicate.

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
	if d := before.diff(n.snapshot()); d != "" {
		t.Errorf("hostile deviceIDs changed the node:\n%s", d)
	}
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
	if d := before.diff(n.snapshot()); d != "" {
		t.Errorf("hostile names changed the node:\n%s", d)
	}
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
	if d := before.diff(n.snapshot()); d != "" {
		t.Errorf("refused ADDs changed the node:\n%s", d)
	}
	if c := n.changeCalls(); len(c) != 0 {
		t.Errorf("refused ADDs made device calls: %v", c)
	}
	if l := links(t, p.ns); len(l) != 1 {
		t.Errorf("pod got links: %v", l)
	}
}

// A VF a live pod owns is never handed to another attachment, and no other
// attachment's DEL or GC reconfigures it: not a refused pod's DEL, not the
// DEL or GC of a stale journal that still names the VF, not the reclaim of
// a vanished pod's journal that names it.
func TestLiveVFNeverTouchedByOthers(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	confA := n.conf(0, map[string]any{"vlan": 10, "mac": "02:00:00:00:00:0a", "mtu": 1400, "trust": "on"})
	n.mustAdd(a, confA)
	journalA, err := os.ReadFile(filepath.Join(n.stateDir, "pod-a-net1.json"))
	if err != nil {
		t.Fatal(err)
	}
	linksA, vfA, ipA := links(t, a.ns), n.vfs.State("pf0", 0), n.ipam.allocated()["pod-a/net1"]
	unchanged := func(when string) {
		t.Helper()
		if got := links(t, a.ns); !reflect.DeepEqual(got, linksA) {
			t.Errorf("%s: pod-a's links changed: %v, were %v", when, got, linksA)
		}
		if got := n.vfs.State("pf0", 0); got != vfA {
			t.Errorf("%s: VF 0 reconfigured: %+v, was %+v", when, got, vfA)
		}
		if got := n.rdma.where("mlx5_0", a.ns); got != "pod" {
			t.Errorf("%s: mlx5_0 left pod-a: %s", when, got)
		}
		if got := n.ipam.allocated()["pod-a/net1"]; got != ipA {
			t.Errorf("%s: pod-a's address %q, was %q", when, got, ipA)
		}
		for _, c := range n.changeCalls() {
			if strings.Contains(c, "pf0 0 ") || strings.Contains(c, "mlx5_0") || strings.Contains(c, "vf0") {
				t.Errorf("%s: call on pod-a's VF: %s", when, c)
			}
		}
		if got, _ := os.ReadFile(filepath.Join(n.stateDir, "pod-a-net1.json")); string(got) != string(journalA) {
			t.Errorf("%s: pod-a's journal changed", when)
		}
	}
	// staleJournal writes, for pod p, a journal naming VF 0: an attachment
	// that once had it (pod-a's record under p's identity).
	staleJournal := func(p *pod) {
		t.Helper()
		var rec map[string]any
		if err := json.Unmarshal(journalA, &rec); err != nil {
			t.Fatal(err)
		}
		rec["containerID"], rec["netns"], rec["podName"] = p.id, p.ns.Path(), p.id
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(filepath.Join(n.stateDir, p.id+"-net1.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := n.ipam.Add(context.Background(), ipam.Call{ContainerID: p.id, IfName: "net1"}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(p *pod, when string) {
		t.Helper()
		if _, ok := n.ipam.allocated()[p.id+"/net1"]; ok {
			t.Errorf("%s: %s's address not released", when, p.id)
		}
		if _, err := os.Stat(filepath.Join(n.stateDir, p.id+"-net1.json")); !os.IsNotExist(err) {
			t.Errorf("%s: %s's journal still there", when, p.id)
		}
	}

	n.resetCalls()
	if _, err := n.add(b, confA); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("pod-b's ADD of pod-a's VF = %v, want busy", err)
	}
	unchanged("refused ADD")
	if err := n.del(b, confA); err != nil {
		t.Fatalf("pod-b's DEL: %v", err)
	}
	unchanged("refused pod's DEL")

	staleJournal(b)
	n.resetCalls()
	if err := n.del(b, confA); err != nil {
		t.Fatalf("DEL of a stale journal naming VF 0: %v", err)
	}
	unchanged("DEL of a stale journal")
	gone(b, "DEL of a stale journal")

	staleJournal(b)
	n.resetCalls()
	if err := n.gc(n.conf(0, nil), a); err != nil {
		t.Fatalf("GC: %v", err)
	}
	unchanged("GC of a stale journal")
	gone(b, "GC of a stale journal")

	// A vanished pod's journal naming VF 0: the next ADD reclaims vanished
	// attachments, and must only drop this one's address and journal.
	c := n.newPod("pod-c")
	staleJournal(c)
	deleteNS(t, c.ns)
	n.resetCalls()
	d := n.newPod("pod-d")
	n.mustAdd(d, n.conf(1, nil))
	unchanged("ADD reclaiming a vanished pod's journal")
	gone(c, "ADD reclaiming a vanished pod's journal")
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
			p := n.newPod("pod-a")
			conf := n.conf(0, tc.extra)
			n.mustAdd(p, conf)
			if got := n.vfs.State("pf0", 0); got.SpoofChk != tc.spoofchk || got.Trust != tc.trust {
				t.Errorf("VF in the pod: spoofchk %t trust %t, want %t %t", got.SpoofChk, got.Trust, tc.spoofchk, tc.trust)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatal(err)
			}
			if got := n.vfs.State("pf0", 0); got != left {
				t.Errorf("DEL left %+v, want what it found %+v", got, left)
			}
		})
	}
}

// Journals hold IPAM configs and pod names; a lock anyone could take would
// be a denial of service: files 0600 and the directories the plugin makes
// 0700, whatever the umask.
func TestStateAndLockFilesArePrivate(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	p := n.newPod("pod-a")
	conf := n.conf(0, nil)
	n.mustAdd(p, conf)
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
	if err := n.del(p, conf); err != nil {
		t.Fatal(err)
	}
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
	p := n.newPod("pod-a")
	conf := n.conf(0, nil)
	n.mustAdd(p, conf)
	if st, err := os.Stat(n.stateDir); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("stateDir the plugin did not create: mode %v (%v), want 0755 kept", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(n.stateDir, "pod-a-net1.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("journal: %v %v, want 0600", st, err)
	}
	if err := n.del(p, conf); err != nil {
		t.Fatal(err)
	}
}

// macRefusingDriver makes the fake refuse, with EINVAL as drivers do, to set
// the given VF's admin MAC back to its original value.
func macRefusingDriver(n *node, idx int, orig string, errno error) {
	inner := n.vfs.FailAt
	refuse := fmt.Sprintf("set-mac pf0 %d %s", idx, orig)
	n.vfs.FailAt = func(call string) error {
		if call == refuse {
			return errno
		}
		return inner(call)
	}
}

// When the driver refuses the original admin MAC, DEL sets a locally
// administered unicast MAC that no other VF of the PF holds, differs from
// the original and from the pod's MAC, and logs it.
//
// What is asserted, after ADD with mac 02:00:00:00:00:aa and DEL:
//   - DEL exits 0 and drops the journal;
//   - VF 0's admin MAC m parses, has bit 1 of the first octet set (locally
//     administered) and bit 0 clear (unicast);
//   - m differs from the original, from the pod's MAC, and from the admin
//     MAC of every other VF of the PF (one of which is set to the first
//     fallback candidate, vf.LocalMAC(pf0, 0, 0), so uniqueness is tested);
//   - the log file names m;
//   - every other PF-side attribute is back to its original.
func TestMACFallbackWhenDriverRefusesOriginal(t *testing.T) {
	for _, tc := range []struct {
		name string
		orig string // VF 0's admin MAC before ADD
		opts nodeOpts
		hook func(n *node)
	}{
		{"driver refuses the all-zero MAC", "00:00:00:00:00:00",
			nodeOpts{vfs: 4, driver: vftest.Driver{Name: "ice", RejectZeroMAC: true}}, nil},
		{"driver refuses the original MAC with EINVAL", "aa:af:23:88:00:00",
			nodeOpts{vfs: 4}, func(n *node) { macRefusingDriver(n, 0, "aa:af:23:88:00:00", unix.EINVAL) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.opts)
			orig := n.vfs.State("pf0", 0)
			orig.MAC = tc.orig
			n.vfs.Set("pf0", 0, orig)
			taken := n.vfs.State("pf0", 1)
			taken.MAC = vf.LocalMAC("pf0", 0, 0).String()
			n.vfs.Set("pf0", 1, taken)
			if tc.hook != nil {
				tc.hook(n)
			}
			p := n.newPod("pod-a")
			const podMAC = "02:00:00:00:00:aa"
			conf := n.conf(0, map[string]any{"mac": podMAC, "vlan": 12})
			n.mustAdd(p, conf)
			if got := n.vfs.State("pf0", 0).MAC; got != podMAC {
				t.Fatalf("admin MAC in the pod %s, want %s", got, podMAC)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("DEL: %v", err)
			}
			got := n.vfs.State("pf0", 0)
			mac, err := net.ParseMAC(got.MAC)
			if err != nil || len(mac) != 6 {
				t.Fatalf("admin MAC after DEL %q: %v", got.MAC, err)
			}
			if mac[0]&0x02 == 0 || mac[0]&0x01 != 0 {
				t.Errorf("admin MAC after DEL %s is not locally administered unicast", mac)
			}
			if strings.EqualFold(got.MAC, tc.orig) || strings.EqualFold(got.MAC, podMAC) {
				t.Errorf("admin MAC after DEL %s: want neither the original %s nor the pod's %s", got.MAC, tc.orig, podMAC)
			}
			for i := 1; i < 4; i++ {
				if other := n.vfs.State("pf0", i).MAC; strings.EqualFold(other, got.MAC) {
					t.Errorf("admin MAC after DEL %s duplicates VF %d's", got.MAC, i)
				}
			}
			if !strings.Contains(n.logText(), got.MAC) {
				t.Errorf("log does not name the fallback MAC %s:\n%s", got.MAC, n.logText())
			}
			rest := got
			rest.MAC = orig.MAC
			if rest != orig {
				t.Errorf("other PF-side attributes after DEL %+v, want %+v", rest, orig)
			}
			if s := n.snapshot(); len(s.State) != 0 || len(s.IPs) != 0 {
				t.Errorf("after DEL: state %v, addresses %v", s.State, s.IPs)
			}
		})
	}
}

// A transient error restoring the admin MAC is no refusal: DEL fails and
// keeps the journal, and the retried DEL puts the original MAC back. A
// fallback here would lose the original MAC for good.
func TestTransientMACErrorIsRetriedNotReplaced(t *testing.T) {
	for _, errno := range []error{unix.EBUSY, unix.ENOBUFS, unix.EAGAIN, vftest.ErrInjected} {
		t.Run(errno.Error(), func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 2})
			orig := n.vfs.State("pf0", 0)
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"mac": "02:00:00:00:00:aa"})
			n.mustAdd(p, conf)
			once := false
			inner := n.vfs.FailAt
			n.vfs.FailAt = func(call string) error {
				if !once && call == "set-mac pf0 0 "+orig.MAC {
					once = true
					return errno
				}
				return inner(call)
			}
			if err := n.del(p, conf); err == nil {
				t.Errorf("DEL with a transient error restoring the MAC exited 0; admin MAC now %s", n.vfs.State("pf0", 0).MAC)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("retried DEL: %v", err)
			}
			if got := n.vfs.State("pf0", 0); got != orig {
				t.Errorf("VF 0 after the retried DEL %+v, want the original %+v", got, orig)
			}
		})
	}
}
