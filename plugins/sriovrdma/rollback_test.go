package sriovrdma

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// TestAddFailureAtEveryStepLeavesHostAsBefore fails, in turn, each call
// that changes something during a full ADD (PF settings, RDMA moves, the
// netdev move, MAC, MTU, up, IPAM, addresses) and checks that the node ends
// exactly as it began: links, PF-side settings, RDMA devices, addresses,
// state directory.
func TestAddFailureAtEveryStepLeavesHostAsBefore(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts nodeOpts
	}{
		{"hardware RDMA", nodeOpts{vfs: 1, hwRDMA: true}},
		{"software RDMA", nodeOpts{vfs: 1, softRDMA: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]any{"mac": "02:00:00:00:00:07", "mtu": 1400, "vlan": 7, "trust": "on", "max_tx_rate": 100}
			// A clean run counts the calls that change something.
			n := newNode(t, tc.opts)
			p := n.newPod("pod")
			n.mustAdd(p, n.conf(0, extra))
			total := len(n.inj.log())
			calls := n.inj.log()
			t.Logf("%d changing calls: %v", total, calls)
			if total < 8 {
				t.Fatalf("a full ADD made only %d changing calls: %v", total, calls)
			}
			// IPAM runs beside the kernel work, so calls are failed by name,
			// not by position.
			for i := 1; i <= total; i++ {
				n := newNode(t, tc.opts)
				before := n.snapshot()
				n.inj.reset(calls[i-1])
				p := n.newPod("pod")
				_, err := n.add(p, n.conf(0, extra))
				if err == nil {
					t.Fatalf("ADD with call %d (%s) failing succeeded", i, calls[i-1])
				}
				var cniErr *types.Error
				if !errors.As(err, &cniErr) || !strings.Contains(err.Error(), "injected failure") {
					t.Errorf("call %d (%s): error %v does not carry the cause", i, calls[i-1], err)
				}
				if d := before.diff(n.snapshot()); d != "" {
					t.Errorf("call %d (%s) failing left the node changed:\n%s", i, calls[i-1], d)
				}
				if l := links(t, p.ns); len(l) != 1 {
					t.Errorf("call %d (%s) failing left links in the pod: %v", i, calls[i-1], l)
				}
			}
		})
	}
}
