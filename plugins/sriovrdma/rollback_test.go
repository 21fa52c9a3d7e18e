package sriovrdma

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
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

// renamingLinks stands in for a kernel that names the moved netdev
// otherwise than asked ("net%d" becomes "net0").
type renamingLinks struct {
	Links
	as string
}

func (l renamingLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	if newName == "net1" {
		newName = l.as
	}
	return l.Links.MoveRename(from, name, to, newName)
}

// ADD knows the moved VF by the index the kernel reports, not by the name
// it asked for: a name the kernel did not keep fails ADD, and the rollback
// finds the VF by its index and brings it home.
func TestRollbackFindsAVFTheKernelNamedOtherwise(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.p.Links = renamingLinks{n.p.Links, "net0"}
	before := n.snapshot()
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"mtu": 1400}))
	if err == nil || !strings.Contains(err.Error(), `"net0"`) {
		t.Fatalf("ADD: %v, want a failure naming the name the kernel chose", err)
	}
	n.sameAs(before, "node after the rollback differs")
	if got := links(t, p.ns); len(got) != 1 {
		t.Errorf("pod netns still has %v", got)
	}
}

// vanishingLinks loses the VF in the pod while ADD configures it.
type vanishingLinks struct{ Links }

func (l vanishingLinks) SetMTU(in ns.NetNS, name string, mtu int) error {
	if err := inLink(in, name, func(k netlink.Link) error { return netlink.LinkDel(k) }); err != nil {
		return err
	}
	return errors.New("set mtu: no such device")
}

// A rollback that cannot find a VF the journal says it moved never reports
// success: the journal stays, and so does the VF's ownership, for DEL.
func TestRollbackThatCannotFindTheVFKeepsTheJournal(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	n.p.Links = vanishingLinks{n.p.Links}
	p := n.newPod("pod-a")
	_, err := n.add(p, n.conf(0, map[string]any{"mtu": 1400}))
	if err == nil || !strings.Contains(err.Error(), "rollback incomplete") {
		t.Fatalf("ADD: %v, want an error saying the rollback is incomplete", err)
	}
	if !n.journalExists(p) {
		t.Errorf("journal dropped although the VF was not found")
	}
}
