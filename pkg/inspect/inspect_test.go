package inspect_test

import (
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
)

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
