package sriovrdma

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf/vftest"
)

func cniCode(t *testing.T, err error) uint {
	t.Helper()
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a CNI error", err)
	}
	return e.Code
}

func TestCheckDetectsDrift(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drift func(n *node, p *pod) error
		want  string
	}{
		{"mac changed", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", func(l netlink.Link) error {
				return netlink.LinkSetHardwareAddr(l, net.HardwareAddr{2, 0, 0, 0, 0, 0x99})
			})
		}, "MAC of net1 is 02:00:00:00:00:99, expected 02:00:00:00:00:01"},
		{"address removed", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", func(l netlink.Link) error {
				a, _ := netlink.ParseAddr("10.9.0.2/24")
				return netlink.AddrDel(l, a)
			})
		}, "address 10.9.0.2/24 is missing from net1"},
		{"rdma device gone", func(n *node, p *pod) error {
			return n.rdma.Move("mlx5_0", p.ns, n.host)
		}, "RDMA device mlx5_0 is missing from the pod netns"},
		{"vlan changed on the PF", func(n *node, p *pod) error {
			s := n.vfs.State("pf0", 0)
			s.VLAN = 0
			n.vfs.Set("pf0", 0, s)
			return nil
		}, "VLAN is 0 qos 0 proto 802.1q, expected 100 qos 0 proto 802.1q"},
		{"interface down", func(n *node, p *pod) error {
			return inLink(p.ns, "net1", netlink.LinkSetDown)
		}, "net1 is down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"mac": "02:00:00:00:00:01", "vlan": 100})
			res := n.mustAdd(p, conf)
			if err := n.check(p, conf, res); err != nil {
				t.Fatalf("CHECK right after ADD: %v", err)
			}
			if err := tc.drift(n, p); err != nil {
				t.Fatal(err)
			}
			err := n.check(p, conf, res)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CHECK after drift = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func inLink(in ns.NetNS, name string, f func(netlink.Link) error) error {
	return in.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		return f(l)
	})
}

func TestGCRestoresOnlyInvalidAttachments(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 10}))
	n.mustAdd(b, n.conf(1, map[string]any{"vlan": 11}))
	origB := vf.State{MAC: "aa:af:23:88:00:01", Proto: "802.1q", SpoofChk: true, LinkState: "auto"}

	if err := n.gc(n.conf(0, nil), a); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if _, ok := links(t, a.ns)["net1"]; !ok {
		t.Errorf("GC took the VF of the valid attachment pod-a")
	}
	if got := n.vfs.State("pf0", 0).VLAN; got != 10 {
		t.Errorf("GC reset pod-a's VLAN to %d", got)
	}
	if _, ok := links(t, b.ns)["net1"]; ok {
		t.Errorf("GC left the VF in the invalid attachment pod-b")
	}
	if _, ok := links(t, n.host)["vf1"]; !ok {
		t.Errorf("GC did not return vf1 home")
	}
	if got := n.vfs.State("pf0", 1); got != origB {
		t.Errorf("VF 1 PF-side after GC = %+v, want %+v", got, origB)
	}
	if got := n.rdma.where("mlx5_1", b.ns); got != "host" {
		t.Errorf("mlx5_1 after GC is in %s, want host", got)
	}
	ips := n.ipam.allocated()
	if _, ok := ips["pod-a/net1"]; !ok || len(ips) != 1 {
		t.Errorf("addresses after GC = %v, want only pod-a's", ips)
	}
	// A missing list means no attachment is valid.
	if err := n.gc(n.conf(0, nil)); err != nil {
		t.Fatalf("GC without a list: %v", err)
	}
	if _, ok := links(t, n.host)["vf0"]; !ok {
		t.Errorf("GC without a valid list did not return vf0")
	}
	if s := n.snapshot(); len(s.State) != 0 || len(s.IPs) != 0 {
		t.Errorf("after GC of everything: state %v, addresses %v", s.State, s.IPs)
	}
}

func TestRDMAPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    nodeOpts
		setup   func(*fakeRDMA)
		policy  string
		wantErr string // "" = ADD succeeds
		inPod   bool
		logs    string
	}{
		{"auto, exclusive: moved", nodeOpts{hwRDMA: true}, nil, "auto", "", true, ""},
		{"auto, no RDMA in the kernel: netdev-only", nodeOpts{hwRDMA: true}, func(f *fakeRDMA) { f.noRDMA = true }, "auto", "", false, "no RDMA subsystem"},
		{"required, no RDMA in the kernel", nodeOpts{hwRDMA: true}, func(f *fakeRDMA) { f.noRDMA = true }, "required", "rdma: required, but this kernel has no RDMA subsystem", false, ""},
		{"required, shared mode", nodeOpts{hwRDMA: true}, func(f *fakeRDMA) { f.mode = rdma.ModeShared }, "required", "rdma system set netns exclusive", false, ""},
		{"auto, shared mode: netdev-only", nodeOpts{hwRDMA: true}, func(f *fakeRDMA) { f.mode = rdma.ModeShared }, "auto", "", false, "shared netns mode"},
		{"required, VF without RDMA device", nodeOpts{}, nil, "required", "has no RDMA device", false, ""},
		{"off: stays on the host", nodeOpts{hwRDMA: true}, nil, "off", "", false, "rdma off"},
		{"auto, soft device, kernel cannot move it", nodeOpts{softRDMA: true}, func(f *fakeRDMA) { f.softMove = false }, "auto", "", false, "cannot move"},
		{"required, soft device, kernel cannot move it", nodeOpts{softRDMA: true}, func(f *fakeRDMA) { f.softMove = false }, "required", "rdma device cannot change network namespace", false, ""},
		{"auto, soft device re-created in the pod", nodeOpts{softRDMA: true}, nil, "auto", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.vfs = 1
			n := newNode(t, tc.opts)
			if tc.setup != nil {
				tc.setup(n.rdma)
			}
			dev := "mlx5_0"
			if tc.opts.softRDMA {
				dev = "rxe0"
			}
			before := n.snapshot()
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"rdma": tc.policy})
			_, err := n.add(p, conf)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ADD = %v, want an error containing %q", err, tc.wantErr)
				}
				if code := cniCode(t, err); code != CodeRDMAUnavailable {
					t.Errorf("ADD: code %d, want %d (rdma: required, not available)", code, CodeRDMAUnavailable)
				}
				if d := before.diff(n.snapshot()); d != "" {
					t.Errorf("refused ADD changed the node:\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			where := n.rdma.where(dev, p.ns)
			if tc.inPod && where != "pod" {
				t.Errorf("%s is in %s, want pod", dev, where)
			}
			if !tc.inPod && where == "pod" {
				t.Errorf("%s moved into the pod", dev)
			}
			if tc.logs != "" && !strings.Contains(n.logText(), tc.logs) {
				t.Errorf("log does not say %q:\n%s", tc.logs, n.logText())
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("DEL: %v", err)
			}
			if d := before.diff(n.snapshot()); d != "" {
				t.Errorf("DEL did not restore the node:\n%s", d)
			}
		})
	}
}

func TestPFSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		driver vftest.Driver
		extra  map[string]any
		code   uint
		want   []string
	}{
		{"no VF info, vlan asked", vftest.Driver{Name: "veth", NoVFInfo: true}, map[string]any{"vlan": 100},
			types.ErrUnsupportedField, []string{"vlan 100", "driver veth", "reports no VF settings"}},
		{"igb link_state", vftest.IGB, map[string]any{"vlan": 100, "link_state": "enable"},
			types.ErrUnsupportedField, []string{"link_state enable", "driver igb", "operation not supported"}},
		{"igb 802.1ad", vftest.IGB, map[string]any{"vlan": 100, "vlanProto": "802.1ad"},
			types.ErrUnsupportedField, []string{"vlan", "802.1ad", "driver igb"}},
		{"igb min_tx_rate", vftest.IGB, map[string]any{"min_tx_rate": 10, "max_tx_rate": 100},
			types.ErrInternal, []string{"max_tx_rate/min_tx_rate", "driver igb", "invalid argument"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, driver: tc.driver})
			before := n.snapshot()
			p := n.newPod("pod-a")
			_, err := n.add(p, n.conf(0, tc.extra))
			if err == nil {
				t.Fatal("ADD succeeded")
			}
			if got := cniCode(t, err); got != tc.code {
				t.Errorf("code %d, want %d (%v)", got, tc.code, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if d := before.diff(n.snapshot()); d != "" {
				t.Errorf("refused ADD changed the node:\n%s", d)
			}
		})
	}
}

// A PF without VF support still takes a pod-side MAC: it goes on the netdev.
func TestMACWithoutPFSupport(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, driver: vftest.Driver{Name: "veth", NoVFInfo: true}})
	p := n.newPod("pod-a")
	res := n.mustAdd(p, n.conf(0, map[string]any{"mac": "02:00:00:00:00:42"}))
	if res.Interfaces[0].Mac != "02:00:00:00:00:42" {
		t.Errorf("MAC in result = %s", res.Interfaces[0].Mac)
	}
	if !strings.Contains(n.logText(), "PF-side work skipped") {
		t.Errorf("log does not say PF-side work was skipped")
	}
}

// Spoof checking on and trust off unless the config asks: a pod never
// inherits what the VF's previous user (or an operator) left.
func TestSecureDefaults(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	s := n.vfs.State("pf0", 0)
	s.SpoofChk, s.Trust = false, true
	n.vfs.Set("pf0", 0, s)
	p := n.newPod("pod-a")
	conf := n.conf(0, nil)
	n.mustAdd(p, conf)
	if got := n.vfs.State("pf0", 0); !got.SpoofChk || got.Trust {
		t.Errorf("VF in the pod has spoofchk %t trust %t, want on/off", got.SpoofChk, got.Trust)
	}
	if err := n.del(p, conf); err != nil {
		t.Fatal(err)
	}
	if got := n.vfs.State("pf0", 0); got != s {
		t.Errorf("DEL left %+v, want the original %+v", got, s)
	}
}

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

// A killed ADD leaves its journal; the runtime's retry of the same ADD
// restores what the first try did and succeeds.
func TestRetriedAddAfterCrash(t *testing.T) {
	for _, point := range []string{"add:after-journal", "add:pf-settings", "add:rdma-to-pod", "add:netdev-to-pod",
		"add:mac-mtu", "add:addresses", "add:commit"} {
		t.Run(point, func(t *testing.T) {
			n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
			before := n.snapshot()
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"vlan": 4, "mac": "02:00:00:00:00:04"})
			n.crashAt(point, func() {
				if _, err := n.add(p, conf); !errors.Is(err, errCrashed) {
					t.Fatalf("ADD did not crash at %s: %v", point, err)
				}
			})
			if s := n.snapshot(); len(s.State) == 0 {
				t.Fatalf("crash at %s left no journal", point)
			}
			n.p.Fault = nil
			res := n.mustAdd(p, conf)
			if res.Interfaces[0].Mac != "02:00:00:00:00:04" {
				t.Errorf("retried ADD result %+v", res.Interfaces[0])
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("DEL: %v", err)
			}
			if d := before.diff(n.snapshot()); d != "" {
				t.Errorf("node not restored:\n%s", d)
			}
		})
	}
}

// A pod that died without DEL: its netns is gone. The next ADD on the node
// reclaims its VF and address.
func TestAddReclaimsVanishedAttachments(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 6}))
	deleteNS(t, a.ns)
	n.mustAdd(b, n.conf(1, nil))
	ips := n.ipam.allocated()
	if _, ok := ips["pod-a/net1"]; ok || len(ips) != 1 {
		t.Errorf("addresses after reclaim = %v, want only pod-b's", ips)
	}
	if got := n.vfs.State("pf0", 0).VLAN; got != 0 {
		t.Errorf("vanished pod's VLAN still on VF 0: %d", got)
	}
	s := n.snapshot()
	for _, f := range s.State {
		if strings.HasPrefix(f, "state/pod-a") {
			t.Errorf("vanished pod's journal %s still there", f)
		}
	}
}

// A VF whose owner's pod netns is gone is taken over: the old attachment
// is restored first.
func TestAddTakesVFFromVanishedPod(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"vlan": 6, "mtu": 1300}))
	// The kernel returns a real VF to the host when the netns dies.
	if err := inLink(a.ns, "net1", func(l netlink.Link) error { return netlink.LinkSetNsFd(l, int(n.host.Fd())) }); err != nil {
		t.Fatal(err)
	}
	if err := inLink(n.host, "net1", func(l netlink.Link) error { return netlink.LinkSetName(l, "vf0") }); err != nil {
		t.Fatal(err)
	}
	deleteNS(t, a.ns)
	res := n.mustAdd(b, n.conf(0, nil))
	if res.Interfaces[0].Mtu != 1500 {
		t.Errorf("pod-b got MTU %d: pod-a's setting was not undone", res.Interfaces[0].Mtu)
	}
	if got := n.vfs.State("pf0", 0).VLAN; got != 0 {
		t.Errorf("pod-a's VLAN %d still on the VF", got)
	}
	if _, ok := n.ipam.allocated()["pod-a/net1"]; ok {
		t.Errorf("pod-a's address not released")
	}
}

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

// GC of one network never touches another network's attachments, even
// when both share the state directory.
func TestGCLeavesOtherNetworksAlone(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	a, b := n.newPod("pod-a"), n.newPod("pod-b")
	n.mustAdd(a, n.conf(0, map[string]any{"name": "net-x"}))
	n.mustAdd(b, n.conf(1, map[string]any{"name": "net-y"}))
	if err := n.gc(n.conf(0, map[string]any{"name": "net-x"})); err != nil {
		t.Fatalf("GC of net-x: %v", err)
	}
	if _, ok := links(t, a.ns)["net1"]; ok {
		t.Errorf("GC of net-x without a valid list left pod-a's VF in place")
	}
	if _, ok := links(t, b.ns)["net1"]; !ok {
		t.Errorf("GC of net-x took the VF of net-y's pod-b")
	}
}

// STATUS is asked per network, before any pod exists: no deviceID.
func TestStatusWithoutDeviceID(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	conf := n.conf(0, map[string]any{"deviceID": nil})
	if err := n.inHost(func() error { return n.p.Status(&skel.CmdArgs{StdinData: conf, Path: "/nonexistent"}) }); err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if got := n.ipam.callLog(); len(got) == 0 || got[len(got)-1] != "STATUS /" {
		t.Errorf("IPAM calls %v, want a STATUS forwarded", got)
	}
	n.rdma.noRDMA = true
	err := n.inHost(func() error {
		return n.p.Status(&skel.CmdArgs{StdinData: n.conf(0, map[string]any{"rdma": "required"}), Path: "/nonexistent"})
	})
	if err == nil || cniCode(t, err) != types.ErrPluginNotAvailable || !strings.Contains(err.Error(), "no RDMA subsystem") {
		t.Fatalf("STATUS with rdma required on a node without RDMA = %v, want code 50", err)
	}
}

// CNI_NETNS must be a network namespace other than the node's: a path
// that does not exist is a container that does not exist (3), anything
// else is an invalid variable (4); both are refused before the host
// changes.
func TestAddRefusesBadNetns(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	before := n.snapshot()
	for _, tc := range []struct {
		path string
		code uint
	}{
		{"/proc/version", CodeInvalidEnv},
		{"/etc/hostname", CodeInvalidEnv},
		{"netns/relative", CodeInvalidEnv},
		{"/nonexistent/netns", CodeNoContainer},
		{n.host.Path(), CodeInvalidEnv},
	} {
		p := &pod{ns: n.newPod("x").ns, id: "pod-a", ifname: "net1"}
		args := n.args(p, n.conf(0, nil))
		args.Netns = tc.path
		err := n.inHost(func() error { return n.p.Add(args) })
		if err == nil {
			t.Fatalf("ADD into %s succeeded", tc.path)
		}
		if code := cniCode(t, err); code != tc.code {
			t.Errorf("ADD into %s: code %d (%v), want %d", tc.path, code, err, tc.code)
		}
	}
	if d := before.diff(n.snapshot()); d != "" {
		t.Errorf("refused ADDs changed the node:\n%s", d)
	}
}

// The sweep for vanished pods runs at most once per ReclaimEvery, so a
// burst of ADDs does not read every journal N times.
func TestReclaimIsRateLimited(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 3})
	n.p.ReclaimEvery = time.Hour
	a, b, c := n.newPod("pod-a"), n.newPod("pod-b"), n.newPod("pod-c")
	n.mustAdd(a, n.conf(0, nil)) // sweeps, and stamps
	deleteNS(t, a.ns)
	n.mustAdd(b, n.conf(1, nil)) // within the hour: no sweep
	if _, ok := n.ipam.allocated()["pod-a/net1"]; !ok {
		t.Fatalf("the vanished pod was reclaimed within the rate limit")
	}
	n.p.ReclaimEvery = time.Nanosecond
	n.mustAdd(c, n.conf(2, nil))
	if _, ok := n.ipam.allocated()["pod-a/net1"]; ok {
		t.Errorf("the vanished pod's address survived a due sweep")
	}
}
