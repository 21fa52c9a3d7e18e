package main

// Case 10: a DEL the plugin fails, as the runtime hears it. The plugin
// answers "try again" (code 11) when another operation holds the VF past
// its lock wait; the lane holds the VF's lock the way such an operation
// would. Thin Multus returns the error to the runtime, which retries the
// sandbox's teardown; multus-shim (thick) reports success for every DEL, so
// the runtime never retries and the journal is all that is left.

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

func caseK8sDelError(t *kt) {
	const net = "de-net"
	t.nad(net, vfResource, ourConf(net, "1.1.0", hostLocalIPAM("10.56.0.90", "10.56.0.99")))
	p := t.pod("del-error", podSpec{networks: net, vfs: 1})
	t.add(p)
	vf := t.vfByAddr(p.devices[0])
	journal := filepath.Join(laneStateDir, p.sb.cid+"-net1.json")

	unlock := t.holdLock(vf.addr)
	err := t.n.del(p)
	unlock()
	t.hostLacks(vf)
	if _, serr := os.Stat(journal); serr != nil {
		t.Errorf("the journal of the failed DEL is gone: %v", serr)
	}
	if t.thick {
		if err != nil {
			t.Errorf("thick: the runtime's DEL failed: %v (multus-shim reports every DEL as done)", err)
		}
	} else if err == nil || !strings.Contains(err.Error(), "try again") {
		t.Errorf("thin: the runtime's DEL = %v, want the plugin's \"try again\"", err)
	}
	t.measured("a DEL the plugin fails (code 11) reaches the runtime: %s", map[bool]string{true: "yes, it retries", false: "no, DEL reported done; the journal remains"}[err != nil])

	// The retry the runtime makes after an error (under thick, the one a
	// person makes): Multus finds the pod's networks again and the plugin
	// restores the VF.
	t.del(p)
	t.vfHome(vf)
	if _, serr := os.Stat(journal); serr == nil {
		t.Errorf("the journal is still there after the retried DEL")
	}
}

// holdLock takes the VF's node-wide lock, as another operation on it
// would; the plugin's own wait for it then runs out.
func (t *kt) holdLock(addr string) func() {
	f, err := os.OpenFile(state.Locks{Dir: state.DefaultLockDir}.Path(addr), os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open the lock of %s: %v", addr, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		t.Fatalf("lock %s: %v", addr, err)
	}
	return func() { _ = f.Close() }
}
