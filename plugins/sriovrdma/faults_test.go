package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

// Fault injection into the plugin's dependencies. One set of wrappers
// (faultyLinks, faultyRDMA, faultyIPAM, faultyAddr, and faultyVFs for the
// PF-side fake) passes every call on unless the faultPlan it was given fails
// the call first. Two plans decide: the unit tests' injector (one call
// failed by name, a log of the calls that change something) and the fault
// sequences' seqFaults (calls failed by their number within an op).

var errInjected = errors.New("injected failure")

// depCall is one call a fault wrapper passes on.
type depCall struct {
	op     string // the call and what it acts on, as in "link-move vf0 net1"
	change bool   // false for a call that only reads
}

func changes(op string) depCall { return depCall{op: op, change: true} }
func reads(op string) depCall   { return depCall{op: op} }

// A faultPlan decides which calls fail: call either runs the real call,
// run, and returns its error, or fails c with an error of its own and leaves
// run alone.
type faultPlan interface {
	call(c depCall, run func() error) error
}

// planned runs do under plan: do's answer, or plan's error and T's zero.
func planned[T any](plan faultPlan, c depCall, do func() (T, error)) (T, error) {
	var v T
	err := plan.call(c, func() (err error) {
		v, err = do()
		return err
	})
	return v, err
}

// withFaults puts plan in front of every dependency of n's plugin that can
// fail: links, RDMA, IPAM, addresses and the PF-side VF calls.
func (n *node) withFaults(plan faultPlan) {
	n.p.Links = faultyLinks{n.p.Links, plan}
	n.p.RDMA = faultyRDMA{n.p.RDMA, plan}
	n.p.IPAM = faultyIPAM{n.p.IPAM, plan}
	n.p.Addr = faultyAddr{n.p.Addr, plan}
	faultyVFs(n.vfs, plan)
}

// injector is the unit tests' plan. It logs, in order, the calls that
// change something across every wrapper of a node, and fails the first
// call named failOp: a test fails "each step of ADD" by replaying the log
// of a clean run one name at a time.
type injector struct {
	mu     sync.Mutex
	failOp string
	failed bool
	calls  []string
}

func (in *injector) call(c depCall, run func() error) error {
	if !c.change {
		return run()
	}
	if err := in.hit(c.op); err != nil {
		return err
	}
	return run()
}

func (in *injector) hit(op string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls = append(in.calls, op)
	if in.failOp != "" && op == in.failOp && !in.failed {
		in.failed = true
		return fmt.Errorf("%s: %w", op, errInjected)
	}
	return nil
}

// reset empties the log and arms failOp ("" fails nothing).
func (in *injector) reset(failOp string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.failOp, in.failed, in.calls = failOp, false, nil
}

func (in *injector) log() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), in.calls...)
}

// faultyVFs puts plan in front of the PF-side fake's calls, ahead of what
// its FailAt already decides. Reads are the calls named "get ...".
func faultyVFs(f *vftest.Fake, plan faultPlan) {
	inner := f.FailAt
	f.FailAt = func(call string) error {
		return plan.call(depCall{op: "vf " + call, change: !strings.HasPrefix(call, "get ")}, func() error {
			if inner == nil {
				return nil
			}
			return inner(call)
		})
	}
}

type faultyLinks struct {
	Links
	plan faultPlan
}

func (l faultyLinks) Get(in ns.NetNS, name string) (netdev.Attrs, error) {
	return planned(l.plan, reads("link-get "+name), func() (netdev.Attrs, error) { return l.Links.Get(in, name) })
}

func (l faultyLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	return planned(l.plan, changes("link-move "+name+" "+newName), func() (netdev.Attrs, error) {
		return l.Links.MoveRename(from, name, to, newName)
	})
}

func (l faultyLinks) Rename(in ns.NetNS, name, newName string) error {
	return l.plan.call(changes("link-rename "+name+" "+newName), func() error { return l.Links.Rename(in, name, newName) })
}

func (l faultyLinks) SetMAC(in ns.NetNS, name string, mac net.HardwareAddr) error {
	return l.plan.call(changes("link-mac "+name), func() error { return l.Links.SetMAC(in, name, mac) })
}

func (l faultyLinks) SetMTU(in ns.NetNS, name string, mtu int) error {
	return l.plan.call(changes("link-mtu "+name), func() error { return l.Links.SetMTU(in, name, mtu) })
}

func (l faultyLinks) SetUp(in ns.NetNS, name string, up bool) error {
	return l.plan.call(changes("link-up "+name), func() error { return l.Links.SetUp(in, name, up) })
}

type faultyRDMA struct {
	RDMA
	plan faultPlan
}

func (r faultyRDMA) NetnsMode() (string, error) {
	return planned(r.plan, reads("rdma-mode"), r.RDMA.NetnsMode)
}

func (r faultyRDMA) Exists(in ns.NetNS, name string) (bool, error) {
	return planned(r.plan, reads("rdma-exists "+name), func() (bool, error) { return r.RDMA.Exists(in, name) })
}

func (r faultyRDMA) Move(name string, from, to ns.NetNS) error {
	return r.plan.call(changes("rdma-move "+name), func() error { return r.RDMA.Move(name, from, to) })
}

func (r faultyRDMA) AddSoft(in ns.NetNS, name, typ, netdevName string) error {
	return r.plan.call(changes("rdma-add "+name), func() error { return r.RDMA.AddSoft(in, name, typ, netdevName) })
}

func (r faultyRDMA) DelSoft(in ns.NetNS, name string) error {
	return r.plan.call(changes("rdma-del "+name), func() error { return r.RDMA.DelSoft(in, name) })
}

// RoCEv2GIDIndex answers -1 with a failure, as the real one does.
func (r faultyRDMA) RoCEv2GIDIndex(in ns.NetNS, dev string, ips []net.IP, wait time.Duration) (int, error) {
	idx := -1
	err := r.plan.call(reads("rdma-gid "+dev), func() (err error) {
		idx, err = r.RDMA.RoCEv2GIDIndex(in, dev, ips, wait)
		return err
	})
	return idx, err
}

type faultyIPAM struct {
	IPAM
	plan faultPlan
}

func (i faultyIPAM) Add(ctx context.Context, c ipam.Call) (types.Result, error) {
	return planned(i.plan, changes("ipam-add "+attKey(c)), func() (types.Result, error) { return i.IPAM.Add(ctx, c) })
}

func (i faultyIPAM) Del(ctx context.Context, c ipam.Call) error {
	return i.plan.call(changes("ipam-del "+attKey(c)), func() error { return i.IPAM.Del(ctx, c) })
}

func (i faultyIPAM) Check(ctx context.Context, c ipam.Call) error {
	return i.plan.call(reads("ipam-check "+attKey(c)), func() error { return i.IPAM.Check(ctx, c) })
}

func (i faultyIPAM) GC(ctx context.Context, c ipam.Call) error {
	return i.plan.call(changes("ipam-gc"), func() error { return i.IPAM.GC(ctx, c) })
}

type faultyAddr struct {
	Addressing
	plan faultPlan
}

func (a faultyAddr) Configure(in ns.NetNS, ifName string, res *current.Result) error {
	return a.plan.call(changes("addr-configure "+ifName), func() error { return a.Addressing.Configure(in, ifName, res) })
}

func (a faultyAddr) Addrs(in ns.NetNS, ifName string) ([]net.IPNet, error) {
	return planned(a.plan, reads("addr-list "+ifName), func() ([]net.IPNet, error) { return a.Addressing.Addrs(in, ifName) })
}
