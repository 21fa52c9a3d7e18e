package inspect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/inspect"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	vfnl "github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

const (
	thisBoot  = "3f6c2d1e-0b9a-4c8d-a7e6-5f4b3c2d1e0f"
	otherBoot = "00000000-1111-2222-3333-444444444444"
	// liveNetns is a namespace that exists for as long as the test runs,
	// and the plugin's own netnsAlive rule (ns.GetNS) accepts it unprivileged.
	liveNetns = "/proc/self/ns/net"
)

type fakeMode struct {
	mode string
	err  error
}

func (f fakeMode) NetnsMode() (string, error) { return f.mode, f.err }

// pf0 is an igb-like PF: VF n at 0000:01:10.0 + 2n.
var pf0 = fixture.PF{VFs: []fixture.VF{
	{Netdev: "eth1"},                    // 0 free, rxe0 on it: RoCE v2
	{},                                  // 1 in pod: netdev and hw RDMA moved away
	{Netdev: "eth3"},                    // 2 stale: pod netns gone, kernel handed the netdev back
	{Netdev: "eth4"},                    // 3 stale: journal of an earlier boot
	{Netdev: "eth5", RDMA: "mlx5_2"},    // 4 free, hw RoCE device
	{Driver: "vfio-pci"},                // 5 free, userspace driver
	{Netdev: "eth7", AuxRDMA: "mlx5_7"}, // 6 in pod with rdma off: RDMA stays on the host
}}

// pf1 is an InfiniBand PF: its VF's RDMA device has no RoCE GIDs.
var pf1 = fixture.PF{Addr: "0001:81:00.0", Netdev: "ib0", Driver: "mlx5_core", Offset: 2, Stride: 1,
	VFs: []fixture.VF{{Netdev: "ib1", Driver: "mlx5_core", LinkType: 32, RDMA: "mlx5_4"}}}

func vf(n int) string { return fixture.VFAddr(pf0, n) }

// node is a fixture tree, two state dirs, a lock dir and a boot ID file.
type node struct {
	t                 *testing.T
	root, locks, boot string
	state, otherState string
	journals          map[string]string // name -> journal path
}

func newNode(t *testing.T, n fixture.Node) *node {
	t.Helper()
	tmp := t.TempDir()
	nd := &node{
		t:          t,
		root:       filepath.Join(tmp, "sys"),
		locks:      filepath.Join(tmp, "run", "locks"),
		boot:       filepath.Join(tmp, "boot_id"),
		state:      filepath.Join(tmp, "state"),
		otherState: filepath.Join(tmp, "state-b"),
		journals:   map[string]string{},
	}
	for _, d := range []string{nd.root, nd.locks, nd.state, nd.otherState} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := fixture.Build(nd.root, n); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nd.boot, []byte(thisBoot+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	return nd
}

// journal writes a journal with state.Store.Write, as the plugin does, and,
// when owner is set, the VF's lock file naming it.
func (nd *node) journal(dir string, r state.Record, owner bool) string {
	nd.t.Helper()
	if r.Phase == "" {
		r.Phase = state.PhaseCommitted
	}
	if r.Created.IsZero() {
		r.Created = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	}
	store := state.Store{Dir: dir}
	if err := store.Init(); err != nil {
		nd.t.Fatal(err)
	}
	if err := store.Write(&r); err != nil {
		nd.t.Fatal(err)
	}
	path := store.Path(r.Key())
	if owner {
		if err := os.WriteFile(filepath.Join(nd.locks, r.DeviceID+".lock"), []byte(path+"\n"), 0o600); err != nil {
			nd.t.Fatal(err)
		}
	}
	nd.journals[r.ContainerID] = path
	return path
}

func (nd *node) options() inspect.Options {
	return inspect.Options{
		SysfsRoot:  nd.root,
		StateDirs:  []string{nd.state, nd.otherState},
		LockDir:    nd.locks,
		BootIDFile: nd.boot,
		RDMA:       fakeMode{mode: rdma.ModeExclusive},
		VFs:        fakeVFs{},
	}
}

// fakeVFs answers netlink's VF dump from a map; any other PF's driver
// reports no VF settings, as a veth's would.
type fakeVFs map[string][]vfnl.State

func (f fakeVFs) List(pf string) ([]vfnl.State, error) {
	if s, ok := f[pf]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("pf %s: %w", pf, vfnl.ErrNoVFInfo)
}

// busyNode has a VF in every state, and journals no VF explains.
func busyNode(t *testing.T) *node {
	nd := newNode(t, fixture.Node{
		PFs:  []fixture.PF{pf0, pf1},
		Soft: []fixture.SoftRDMA{{Name: "rxe0", Netdev: "eth1"}},
	})
	nd.journal(nd.state, state.Record{
		BootID: thisBoot, Network: "rdma-net", ContainerID: "c1a2b3c4d5e6f7a8b9c0", IfName: "net1", Netns: liveNetns,
		PodNamespace: "ml", PodName: "trainer-0", DeviceID: vf(1), RDMAInPod: true,
		RDMA: []state.RDMADevice{{Name: "mlx5_3", Kind: "hw"}},
	}, true)
	nd.journal(nd.state, state.Record{
		BootID: thisBoot, Network: "rdma-net", ContainerID: "gone2", IfName: "net1",
		Netns:        filepath.Join(nd.root, "..", "netns-that-died"),
		PodNamespace: "ml", PodName: "trainer-1", DeviceID: vf(2),
	}, true)
	nd.journal(nd.otherState, state.Record{
		BootID: otherBoot, Network: "rdma-net-b", ContainerID: "oldboot3", IfName: "net2", Netns: liveNetns,
		PodNamespace: "default", PodName: "old", DeviceID: vf(3),
	}, false)
	nd.journal(nd.state, state.Record{
		BootID: thisBoot, Network: "rdma-off", ContainerID: "c6", IfName: "net1", Netns: liveNetns,
		PodNamespace: "ml", PodName: "ps-0", DeviceID: vf(6),
		RDMA: []state.RDMADevice{{Name: "mlx5_7", Kind: "aux"}},
	}, true)
	// A journal for a VF that is gone (sriov_numvfs lowered).
	nd.journal(nd.state, state.Record{
		BootID: thisBoot, ContainerID: "novf", IfName: "net1", Netns: liveNetns, DeviceID: "0000:01:1f.0",
	}, false)
	// A live-looking journal for VF 1 whose lock names another owner.
	nd.journal(nd.otherState, state.Record{
		BootID: thisBoot, ContainerID: "loser", IfName: "net9", Netns: liveNetns, DeviceID: vf(1),
	}, false)
	// A torn journal: a warning, never a crash.
	if err := os.WriteFile(filepath.Join(nd.state, "torn-net1.json"), []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The netdev of VF 6 was moved into the pod: the fixture cannot hide it,
	// so take it out of the host view, as the kernel does.
	if err := os.RemoveAll(filepath.Join(nd.root, "bus/pci/devices", vf(6), "net")); err != nil {
		t.Fatal(err)
	}
	return nd
}

func collect(t *testing.T, o inspect.Options) *inspect.Report {
	t.Helper()
	rep, err := inspect.Collect(o)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return rep
}

func TestCollectVFStates(t *testing.T) {
	nd := busyNode(t)
	rep := collect(t, nd.options())

	if len(rep.PFs) != 2 || rep.PFs[0].PCI != "0000:01:00.0" || rep.PFs[1].PCI != "0001:81:00.0" {
		t.Fatalf("PFs = %+v, want 0000:01:00.0 and 0001:81:00.0", rep.PFs)
	}
	p := rep.PFs[0]
	if p.Netdev != "eth0" || p.Driver != "igb" || p.NumVFs != 7 || p.TotalVFs != 7 || len(p.VFs) != 7 {
		t.Fatalf("PF 0 = %+v", p)
	}

	type want struct {
		netdev, driver, rdma, roce string
		st                         inspect.State
		pod, ifname, note          string
	}
	wants := []want{
		{"eth1", "igbvf", "rxe0", "yes", inspect.StateFree, "", "", ""},
		{"", "igbvf", "mlx5_3", "in pod", inspect.StateInPod, "ml/trainer-0", "net1", ""},
		{"eth3", "igbvf", "", "", inspect.StateStale, "ml/trainer-1", "net1", "netns-that-died is gone"},
		{"eth4", "igbvf", "", "", inspect.StateStale, "default/old", "net2", "earlier boot (00000000)"},
		{"eth5", "igbvf", "mlx5_2", "yes", inspect.StateFree, "", "", ""},
		{"", "vfio-pci", "", "", inspect.StateFree, "", "", ""},
		{"", "igbvf", "mlx5_7", "yes", inspect.StateInPod, "ml/ps-0", "net1", ""},
	}
	for i, w := range wants {
		v := p.VFs[i]
		var names []string
		for _, r := range v.RDMA {
			names = append(names, r.Name)
		}
		pod, ifname := "", ""
		if v.Owner != nil {
			pod, ifname = v.Owner.PodNamespace+"/"+v.Owner.PodName, v.Owner.IfName
		}
		if v.Index != i || v.PCI != vf(i) || v.Netdev != w.netdev || v.Driver != w.driver ||
			strings.Join(names, ",") != w.rdma || v.RoCEv2 != w.roce || v.State != w.st ||
			pod != w.pod || ifname != w.ifname || !strings.Contains(v.Note, w.note) || v.Error != "" {
			t.Errorf("VF %d = %+v (owner %+v)\nwant %+v", i, v, v.Owner, w)
		}
	}
	// What a user needs to find the pod: the full container ID and the journal.
	if o := p.VFs[1].Owner; o == nil || o.ContainerID != "c1a2b3c4d5e6f7a8b9c0" || o.Journal != nd.journals["c1a2b3c4d5e6f7a8b9c0"] ||
		o.Netns != liveNetns || o.Network != "rdma-net" || o.Phase != "committed" {
		t.Errorf("VF 1 owner = %+v", o)
	}
	if r := p.VFs[1].RDMA; len(r) != 1 || !r[0].InPod || r[0].Kind != "hw" {
		t.Errorf("VF 1 RDMA = %+v, want mlx5_3 from the journal, marked in pod", r)
	}
	if r := p.VFs[6].RDMA; len(r) != 1 || r[0].InPod || r[0].Kind != "aux" {
		t.Errorf("VF 6 RDMA = %+v, want mlx5_7 seen on the host (rdma off)", r)
	}

	ib := rep.PFs[1].VFs[0]
	if ib.LinkType != "infiniband" || ib.Netdev != "ib1" || ib.RoCEv2 != "no" || ib.State != inspect.StateFree {
		t.Errorf("IB VF = %+v, want an infiniband VF without RoCE v2, free", ib)
	}
	if rep.RDMANetnsMode != "exclusive" || rep.BootID != thisBoot || rep.LockDir != nd.locks ||
		!slices.Equal(rep.StateDirs, []string{nd.state, nd.otherState}) {
		t.Errorf("header = mode %q boot %q lock %q dirs %v", rep.RDMANetnsMode, rep.BootID, rep.LockDir, rep.StateDirs)
	}
}

func TestCollectStaleJournals(t *testing.T) {
	nd := busyNode(t)
	rep := collect(t, nd.options())

	got := map[string]string{}
	for _, j := range rep.StaleJournals {
		got[j.ContainerID] = j.Reason
		if j.Journal != nd.journals[j.ContainerID] {
			t.Errorf("stale %s: journal %q, want %q", j.ContainerID, j.Journal, nd.journals[j.ContainerID])
		}
	}
	want := map[string]string{
		"gone2":    "netns-that-died is gone",
		"oldboot3": "written in an earlier boot",
		"novf":     "VF 0000:01:1f.0 no longer exists",
		"loser":    "is owned by " + nd.journals["c1a2b3c4d5e6f7a8b9c0"],
	}
	if len(got) != len(want) {
		t.Errorf("stale journals = %v, want exactly %v", got, slices.Sorted(maps.Keys(want)))
	}
	for id, reason := range want {
		if !strings.Contains(got[id], reason) {
			t.Errorf("stale %s: reason %q, want it to contain %q", id, got[id], reason)
		}
	}
	// Live attachments are not stale.
	for _, id := range []string{"c1a2b3c4d5e6f7a8b9c0", "c6"} {
		if _, ok := got[id]; ok {
			t.Errorf("live attachment %s listed as stale", id)
		}
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "torn-net1.json") || !strings.Contains(rep.Warnings[0], "corrupt") {
		t.Errorf("warnings = %q, want one naming the torn journal", rep.Warnings)
	}
}

// A network with its own stateDir: its in-use VFs are found through the
// lock file even when inspect is not told about the directory.
func TestOwnerFoundThroughLockOutsideStateDirs(t *testing.T) {
	nd := newNode(t, fixture.Node{PFs: []fixture.PF{{VFs: []fixture.VF{{Netdev: "eth1"}}}}})
	elsewhere := filepath.Join(t.TempDir(), "per-network-state")
	nd.journal(elsewhere, state.Record{
		BootID: thisBoot, ContainerID: "abc", IfName: "net1", Netns: liveNetns,
		PodNamespace: "ns", PodName: "p", DeviceID: vf(0),
	}, true)
	o := nd.options()
	o.StateDirs = []string{nd.state}
	rep := collect(t, o)
	v := rep.PFs[0].VFs[0]
	if v.State != inspect.StateInPod || v.Owner == nil || v.Owner.PodName != "p" {
		t.Errorf("VF = %+v, want in pod by ns/p through its lock file", v)
	}
}

func TestStaleJournalWhenVFStillShowsNetdevOfEarlierBoot(t *testing.T) {
	// After a reboot /run is empty: no lock file, only the old journal.
	nd := newNode(t, fixture.Node{PFs: []fixture.PF{{VFs: []fixture.VF{{Netdev: "eth1"}}}}})
	nd.journal(nd.state, state.Record{BootID: otherBoot, ContainerID: "x", IfName: "net1", Netns: liveNetns, DeviceID: vf(0)}, false)
	rep := collect(t, nd.options())
	if v := rep.PFs[0].VFs[0]; v.State != inspect.StateStale || len(rep.StaleJournals) != 1 {
		t.Errorf("VF = %+v, stale = %+v; want stale from an earlier boot", v, rep.StaleJournals)
	}
}

func TestRDMANetnsMode(t *testing.T) {
	tests := []struct {
		name      string
		reader    fakeMode
		want      string
		wantError string
	}{
		{"exclusive", fakeMode{mode: "exclusive"}, "exclusive", ""},
		{"shared", fakeMode{mode: "shared"}, "shared", ""},
		{"no rdma in the kernel", fakeMode{err: fmt.Errorf("read rdma netns mode: %w", rdma.ErrNoRDMA)}, "unavailable", ""},
		{"other failure", fakeMode{err: errors.New("netlink: permission denied")}, "unknown", "permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nd := newNode(t, fixture.Node{PFs: []fixture.PF{{VFs: []fixture.VF{{Netdev: "eth1"}}}}})
			o := nd.options()
			o.RDMA = tc.reader
			rep := collect(t, o)
			if rep.RDMANetnsMode != tc.want || !strings.Contains(rep.RDMANetnsModeError, tc.wantError) {
				t.Errorf("mode = %q (%q), want %q (%q)", rep.RDMANetnsMode, rep.RDMANetnsModeError, tc.want, tc.wantError)
			}
		})
	}
}

func TestCollectNoSRIOV(t *testing.T) {
	for name, n := range map[string]*fixture.Node{
		"plain nic only": {Plain: []string{"0000:02:00.0"}},
		"no pci bus":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if n != nil {
				if err := fixture.Build(root, *n); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := inspect.Collect(inspect.Options{SysfsRoot: root, RDMA: fakeMode{mode: "exclusive"},
				StateDirs: []string{t.TempDir()}, LockDir: t.TempDir()})
			if !errors.Is(err, inspect.ErrNoSRIOV) || rep != nil {
				t.Fatalf("Collect = %v, %v; want ErrNoSRIOV and no report", rep, err)
			}
			if !strings.Contains(err.Error(), "sriov_numvfs") {
				t.Errorf("error %q does not say how to create VFs", err)
			}
		})
	}
}

// snapshot lists every path under dirs with its mode, size and mtime.
func snapshot(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := os.Lstat(p)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s %v %d %d", p, info.Mode(), info.Size(), info.ModTime().UnixNano()))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestCollectIsReadOnlyAndNeverLocks(t *testing.T) {
	nd := busyNode(t)
	// Another invocation holds VF 1's lock: inspect must not wait for it.
	f, err := os.OpenFile(filepath.Join(nd.locks, vf(1)+".lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, filepath.Dir(nd.root))

	o := nd.options()
	missing := filepath.Join(t.TempDir(), "absent")
	o.StateDirs = append(o.StateDirs, filepath.Join(missing, "state"))
	done := make(chan error, 1)
	go func() { _, err := inspect.Collect(o); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Collect waited on a held VF lock")
	}

	if after := snapshot(t, filepath.Dir(nd.root)); !slices.Equal(before, after) {
		t.Errorf("Collect changed the tree:\nbefore %d entries\nafter  %d entries", len(before), len(after))
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Collect created %s (err %v); it must never create directories", missing, err)
	}

	// Nor does it create a missing lock directory.
	o.LockDir = filepath.Join(missing, "locks")
	if _, err := inspect.Collect(o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Collect created the lock dir (err %v)", err)
	}
}

// cli runs `sriov-rdma inspect` against the busy node as root.
func (nd *node) cli(args ...string) (code int, stdout, stderr string) {
	o := nd.options()
	o.StateDirs = nil
	c := inspect.CLI{Options: o, IsRoot: func() bool { return true }}
	full := append([]string{"--sysfs", nd.root, "--lock-dir", nd.locks, "--state-dir", nd.state, "--state-dir", nd.otherState}, args...)
	var out, errb bytes.Buffer
	code = c.Run(full, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunJSON(t *testing.T) {
	nd := busyNode(t)
	code, out, errOut := nd.cli("--json")
	if code != inspect.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rep inspect.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("--json output does not decode as a Report: %v\n%s", err, out)
	}
	want := collect(t, nd.options())
	gotJSON, _ := json.Marshal(rep)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("--json differs from Collect:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// Field names machines rely on.
	for _, k := range []string{`"rdmaNetnsMode": "exclusive"`, `"state": "in pod"`, `"state": "stale"`, `"state": "free"`,
		`"roceV2": "yes"`, `"podName": "trainer-0"`, `"containerID": "c1a2b3c4d5e6f7a8b9c0"`, `"ifName": "net1"`, `"staleJournals"`} {
		if !strings.Contains(out, k) {
			t.Errorf("--json output lacks %s", k)
		}
	}
}

func TestRunText(t *testing.T) {
	nd := busyNode(t)
	code, out, errOut := nd.cli()
	if code != inspect.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	t.Logf("\n%s", out)
	lines := strings.Split(out, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "VF  PCI") })
	if header < 0 {
		t.Fatalf("no VF table header in\n%s", out)
	}
	col := strings.Index(lines[header], "STATE")
	podCol := strings.Index(lines[header], "POD")
	rows := map[string]string{} // pci -> row
	for _, l := range lines[header+1 : header+8] {
		f := strings.Fields(l)
		rows[f[1]] = l
		// Aligned: every row's state starts under STATE.
		if !strings.HasPrefix(l[col:], "free") && !strings.HasPrefix(l[col:], "in pod") && !strings.HasPrefix(l[col:], "stale") {
			t.Errorf("row not aligned under STATE: %q", l)
		}
	}
	if r := rows[vf(1)]; !strings.Contains(r[podCol:], "ml/trainer-0  c1a2b3c4d5e6  net1") {
		t.Errorf("VF 1 row %q lacks pod, short container ID and ifname", r)
	}
	for _, s := range []string{
		"RDMA netns mode  exclusive",
		"PF 0000:01:00.0  netdev eth0  driver igb  VFs 7 of 7",
		"PF 0001:81:00.0  netdev ib0  driver mlx5_core  VFs 1 of 7",
		"Stale journals (4)",
		"torn-net1.json",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q", s)
		}
	}
}

func TestRunNoSRIOV(t *testing.T) {
	root := t.TempDir()
	if err := fixture.Build(root, fixture.Node{Plain: []string{"0000:02:00.0"}}); err != nil {
		t.Fatal(err)
	}
	c := inspect.CLI{Options: inspect.Options{RDMA: fakeMode{mode: "exclusive"}}, IsRoot: func() bool { return true }}
	var out, errb bytes.Buffer
	code := c.Run([]string{"--sysfs", root, "--state-dir", t.TempDir(), "--lock-dir", t.TempDir()}, &out, &errb)
	want := "no SR-IOV physical function under " + root + "/bus/pci/devices: create VFs with echo N > /sys/class/net/<pf>/device/sriov_numvfs"
	if code == inspect.ExitOK || !strings.Contains(errb.String(), want) || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want non-zero and %q", code, out.String(), errb.String(), want)
	}
}

func TestRunPFWithoutVFs(t *testing.T) {
	nd := newNode(t, fixture.Node{PFs: []fixture.PF{{Netdev: "ens1f0"}}})
	code, out, errOut := nd.cli()
	if code == inspect.ExitOK {
		t.Errorf("exit 0 on a node without VFs")
	}
	if !strings.Contains(errOut, "echo N > /sys/class/net/ens1f0/device/sriov_numvfs") {
		t.Errorf("stderr %q does not say how to create VFs on ens1f0", errOut)
	}
	if !strings.Contains(out, "PF 0000:01:00.0  netdev ens1f0") || !strings.Contains(out, "no VFs") {
		t.Errorf("the PF is not shown:\n%s", out)
	}
}

func TestRunNotRoot(t *testing.T) {
	nd := busyNode(t)
	c := inspect.CLI{Options: nd.options(), IsRoot: func() bool { return false }}
	var out, errb bytes.Buffer
	code := c.Run(nil, &out, &errb)
	if code == inspect.ExitOK || out.Len() != 0 ||
		errb.String() != "sriov-rdma inspect: inspect reads VF state and journals that only root can read: run it as root\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestRunUsage(t *testing.T) {
	nd := busyNode(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, inspect.ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"--state-dir", "relative/dir"}, inspect.ExitUsage, `"relative/dir" is not an absolute path`},
		{[]string{"extra"}, inspect.ExitUsage, `unexpected argument "extra"`},
		{[]string{"--help"}, inspect.ExitOK, "usage: sriov-rdma inspect"},
	}
	for _, tc := range tests {
		code, _, errOut := nd.cli(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
