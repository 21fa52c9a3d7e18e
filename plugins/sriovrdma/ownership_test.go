package sriovrdma

// A VF has one owner at a time: a second ADD is refused as busy, a race has
// one winner, and nobody else's op touches a live attachment.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
)

func TestBusyVFIsRefused(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	conf := n.conf(0, nil)
	n.mustAdd(a, conf)
	snapA := links(t, a.ns)
	_, err := n.add(b, conf)
	if err == nil || !strings.Contains(err.Error(), "busy") || !strings.Contains(err.Error(), "default/pod-a") {
		t.Fatalf("second pod's ADD = %v, want busy naming pod-a", err)
	}
	if code := cniCode(t, err); code != CodeDeviceBusy {
		t.Errorf("second pod's ADD: code %d, want %d (busy)", code, CodeDeviceBusy)
	}
	if got := links(t, a.ns); fmt.Sprint(got) != fmt.Sprint(snapA) {
		t.Errorf("first pod changed: %v, was %v", got, snapA)
	}
	if got := n.rdma.where("mlx5_0", a.ns); got != "pod" {
		t.Errorf("mlx5_0 left pod-a: %s", got)
	}
	// The refused pod's DEL (the runtime sends one) must not touch pod-a.
	if err := n.del(b, conf); err != nil {
		t.Fatalf("DEL of the refused pod: %v", err)
	}
	if _, ok := links(t, a.ns)["net1"]; !ok {
		t.Errorf("the refused pod's DEL took pod-a's VF")
	}
	if ips := n.ipam.allocated(); ips["pod-a/net1"] == "" {
		t.Errorf("pod-a's address released by another pod's DEL: %v", ips)
	}
}

func TestConcurrentAddOfSameVF(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	pods := []*pod{n.newPod("pod-a"), n.newPod("pod-b")}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.inHost(func() error { return n.p.Add(n.args(p, n.conf(0, nil))) })
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		if !strings.Contains(err.Error(), "busy") {
			t.Errorf("pod %d: %v, want a busy error", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d ADDs won, want exactly 1: %v", won, errs)
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
	liveA := n.live(a, 0)
	unchanged := func(when string) {
		t.Helper()
		liveA.unchanged(t, when)
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
