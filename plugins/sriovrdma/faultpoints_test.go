package sriovrdma

import (
	"slices"
	"sync"
	"testing"
)

// Every fault point the crash matrix kills at must be one the code reaches,
// and every point the code reaches must be in the list.
func TestFaultPointsMatchTheCode(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, softRDMA: true})
	var mu sync.Mutex
	var hit []string
	n.p.Fault = func(p string) {
		mu.Lock()
		defer mu.Unlock()
		hit = append(hit, p)
	}
	p, conf := n.attached("pod-a", 0, nil)
	n.mustDel(p, conf)
	// The rollback point is reached only by a failing ADD.
	n.inj.reset("link-move vf0 net1")
	if _, err := n.add(n.newPod("pod-b"), conf); err == nil {
		t.Fatal("ADD with a failing move succeeded")
	}
	var reached []string
	for _, h := range hit {
		if !slices.Contains(reached, h) {
			reached = append(reached, h)
		}
	}
	for _, want := range FaultPoints() {
		if !slices.Contains(reached, want) {
			t.Errorf("fault point %q is listed but never reached", want)
		}
	}
	for _, got := range reached {
		if !slices.Contains(FaultPoints(), got) {
			t.Errorf("fault point %q is reached but not listed in FaultPoints", got)
		}
	}
}
