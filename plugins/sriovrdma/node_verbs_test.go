package sriovrdma

// The CNI verbs as the runtime runs them on a test node, and the checks
// of what one verb must do (succeed, be refused without a change) that
// many tests share.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

func (n *node) args(p *pod, conf []byte) *skel.CmdArgs {
	return &skel.CmdArgs{
		ContainerID: p.id,
		Netns:       p.ns.Path(),
		IfName:      p.ifname,
		Args:        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + p.id,
		Path:        "/nonexistent",
		StdinData:   conf,
	}
}

// inHost runs a verb on a thread inside the node's host namespace, as the
// runtime would run the plugin on the node.
func (n *node) inHost(f func() error) error {
	var verbErr error
	if err := n.host.Do(func(ns.NetNS) error {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(crash); !ok {
					panic(r)
				}
				verbErr = errCrashed
			}
		}()
		verbErr = f()
		return nil
	}); err != nil {
		n.t.Fatalf("enter host netns: %v", err)
	}
	return verbErr
}

func (n *node) add(p *pod, conf []byte) (*current.Result, error) {
	n.stdout.Reset()
	if err := n.inHost(func() error { return n.p.Add(n.args(p, conf)) }); err != nil {
		return nil, err
	}
	res := &current.Result{}
	if err := json.Unmarshal(n.stdout.Bytes(), res); err != nil {
		n.t.Fatalf("ADD printed no result: %v: %q", err, n.stdout.String())
	}
	return res, nil
}

func (n *node) mustAdd(p *pod, conf []byte) *current.Result {
	n.t.Helper()
	res, err := n.add(p, conf)
	if err != nil {
		n.t.Fatalf("ADD %s: %v", p.id, err)
	}
	return res
}

// attached is a new pod named id that ADD gave VF i, with the netconf
// fields extra; its DEL wants the netconf returned.
func (n *node) attached(id string, i int, extra map[string]any) (*pod, []byte) {
	n.t.Helper()
	p := n.newPod(id)
	conf := n.conf(i, extra)
	n.mustAdd(p, conf)
	return p, conf
}

// refusedAdd runs ADD of conf for p, which must fail with the CNI code
// and an error saying each of want, and leave the node as it was.
func (n *node) refusedAdd(p *pod, conf []byte, code uint, want ...string) {
	n.t.Helper()
	before := n.snapshot()
	_, err := n.add(p, conf)
	if err == nil {
		n.t.Fatalf("ADD succeeded, want code %d saying %q", code, want)
	}
	if got := cniCode(n.t, err); got != code {
		n.t.Errorf("ADD: code %d, want %d (%v)", got, code, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			n.t.Errorf("ADD: error %q does not say %q", err, w)
		}
	}
	n.sameAs(before, "refused ADD changed the node")
}

// refusal is an ADD that must be refused: on a node whose PF has driver
// (vftest.Full when unset), the netconf fields extra fail ADD of VF 0 with
// code and an error saying each of want.
type refusal struct {
	name   string
	driver vftest.Driver
	extra  map[string]any
	code   uint
	want   []string
}

// refusals runs each case as a subtest on a one-VF node made as o says,
// the VF asked for by a pod named podName.
func refusals(t *testing.T, o nodeOpts, podName string, cases []refusal) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := o
			o.vfs, o.driver = 1, tc.driver
			n := newNode(t, o)
			n.refusedAdd(n.newPod(podName), n.conf(0, tc.extra), tc.code, tc.want...)
		})
	}
}

func (n *node) del(p *pod, conf []byte) error {
	return n.inHost(func() error { return n.p.Del(n.args(p, conf)) })
}

func (n *node) mustDel(p *pod, conf []byte) {
	n.t.Helper()
	if err := n.del(p, conf); err != nil {
		n.t.Fatalf("DEL %s: %v", p.id, err)
	}
}

func (n *node) check(p *pod, conf []byte, prev *current.Result) error {
	var c map[string]any
	if err := json.Unmarshal(conf, &c); err != nil {
		n.t.Fatal(err)
	}
	c["prevResult"] = prev
	b, _ := json.Marshal(c)
	return n.inHost(func() error { return n.p.Check(n.args(p, b)) })
}

func (n *node) gc(conf []byte, valid ...*pod) error {
	var c map[string]any
	if err := json.Unmarshal(conf, &c); err != nil {
		n.t.Fatal(err)
	}
	var va []map[string]string
	for _, p := range valid {
		va = append(va, map[string]string{"containerID": p.id, "ifname": p.ifname})
	}
	if va != nil {
		c["cni.dev/valid-attachments"] = va
	}
	b, _ := json.Marshal(c)
	return n.inHost(func() error { return n.p.GC(&skel.CmdArgs{StdinData: b, Path: "/nonexistent"}) })
}

// crash is what a fault point panics with in tests: the verb stops there
// as a SIGKILL would stop it.
type crash struct{}

var errCrashed = errors.New("crashed at a fault point")

// crashAt stops the verb at a fault point as a SIGKILL would: no rollback
// runs; the lock goes with the process.
func (n *node) crashAt(point string, verb func()) {
	n.p.Fault = func(p string) {
		if p == point {
			panic(crash{})
		}
	}
	verb()
}
