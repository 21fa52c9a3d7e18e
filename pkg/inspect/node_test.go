package inspect_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

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
