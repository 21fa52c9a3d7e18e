package sriovrdma

// What the tests read of a node: its links, a snapshot of everything ADD
// may change, the plugin's log, the device calls it made, its journals and
// the CNI codes of its errors.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// linkState is what a user sees of a netdev.
type linkState struct {
	Index int
	MAC   string
	MTU   int
	Up    bool
}

func links(t *testing.T, in ns.NetNS) map[string]linkState {
	t.Helper()
	out := map[string]linkState{}
	err := in.Do(func(ns.NetNS) error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			a := l.Attrs()
			out[a.Name] = linkState{a.Index, a.HardwareAddr.String(), a.MTU, a.Flags&1 != 0}
		}
		return err
	})
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	return out
}

// snapshot is everything of the node that ADD may change.
type snapshot struct {
	Host  map[string]linkState
	VFs   []vf.State
	RDMA  string
	IPs   map[string]string
	State []string
}

func (n *node) snapshot() snapshot {
	s := snapshot{Host: links(n.t, n.host), RDMA: n.rdma.dump(), IPs: n.ipam.allocated()}
	for i := range n.pf.VFs {
		s.VFs = append(s.VFs, n.vfs.State("pf0", i))
	}
	for _, dir := range []string{n.stateDir, n.lockDir} {
		_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				rel, _ := filepath.Rel(filepath.Dir(dir), path)
				s.State = append(s.State, rel)
			}
			return nil
		})
	}
	sort.Strings(s.State)
	return s
}

func (s snapshot) diff(o snapshot) string {
	a, _ := json.MarshalIndent(s, "", " ")
	b, _ := json.MarshalIndent(o, "", " ")
	if string(a) == string(b) {
		return ""
	}
	return fmt.Sprintf("before:\n%s\nafter:\n%s", a, b)
}

// sameAs reports, as an error of the test, how the node differs from
// before; what says what ran since, as in "refused ADD changed the node".
func (n *node) sameAs(before snapshot, what string) {
	n.t.Helper()
	if d := before.diff(n.snapshot()); d != "" {
		n.t.Errorf("%s:\n%s", what, d)
	}
}

func (n *node) logText() string {
	b, _ := os.ReadFile(n.logFile)
	return string(b)
}

func cniCode(t *testing.T, err error) uint {
	t.Helper()
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a CNI error", err)
	}
	return e.Code
}

func code(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func (n *node) journalExists(p *pod) bool {
	_, err := os.Stat(filepath.Join(n.stateDir, p.id+"-"+p.ifname+".json"))
	return err == nil
}

// changeCalls is what the plugin did to devices: link and RDMA changes (the
// injector's log) and PF-side sets (the VF fake's log, reads left out).
func (n *node) changeCalls() []string {
	var out []string
	for _, c := range n.inj.log() {
		if !strings.HasPrefix(c, "ipam-") {
			out = append(out, c)
		}
	}
	for _, c := range n.vfs.Calls() {
		if !strings.HasPrefix(c, "get ") {
			out = append(out, "vf "+c)
		}
	}
	return out
}

func (n *node) resetCalls() {
	n.inj.reset("")
	n.vfs.ResetCalls()
}

// liveView is what the owner of a live attachment sees of it: the pod's
// links, the VF's PF-side state, its address, and its RDMA device in the
// pod. It is taken while the attachment is live, and checked after ops
// that must leave it alone.
type liveView struct {
	n     *node
	p     *pod
	vf    int
	links map[string]linkState
	state vf.State
	ip    string
}

// live views p's attachment of VF i (on a node with hardware RDMA).
func (n *node) live(p *pod, i int) liveView {
	return liveView{n: n, p: p, vf: i, links: links(n.t, p.ns), state: n.vfs.State("pf0", i), ip: n.ipam.allocated()[p.id+"/"+p.ifname]}
}

// unchanged reports, as errors of t, what differs from the view after the
// op named when.
func (v liveView) unchanged(t *testing.T, when string) {
	t.Helper()
	n, p := v.n, v.p
	if got := links(t, p.ns); !reflect.DeepEqual(got, v.links) {
		t.Errorf("%s: %s's links changed: %v, were %v", when, p.id, got, v.links)
	}
	if got := n.vfs.State("pf0", v.vf); got != v.state {
		t.Errorf("%s: VF %d reconfigured: %+v, was %+v", when, v.vf, got, v.state)
	}
	dev := fmt.Sprintf("mlx5_%d", v.vf)
	if got := n.rdma.where(dev, p.ns); got != "pod" {
		t.Errorf("%s: %s left %s: %s", when, dev, p.id, got)
	}
	if got := n.ipam.allocated()[p.id+"/"+p.ifname]; got != v.ip {
		t.Errorf("%s: %s's address %q, was %q", when, p.id, got, v.ip)
	}
}
