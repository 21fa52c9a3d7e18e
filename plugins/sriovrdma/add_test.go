package sriovrdma

import (
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

func TestAddMovesVFAndRDMAAndDelRestoresEverything(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	before := n.snapshot()
	origVF0 := links(t, n.host)["vf0"]
	p := n.newPod("pod-a")
	conf := n.conf(0, map[string]any{
		"mac": "02:11:22:33:44:55", "mtu": 1400, "vlan": 100, "vlanQoS": 3,
		"spoofchk": "off", "trust": "on", "link_state": "enable", "max_tx_rate": 1000, "min_tx_rate": 100,
	})
	res := n.mustAdd(p, conf)

	// The result: one interface with everything a runtime and Multus read.
	if len(res.Interfaces) != 1 {
		t.Fatalf("result has %d interfaces, want 1: %+v", len(res.Interfaces), res)
	}
	itf := res.Interfaces[0]
	if itf.Name != "net1" || itf.Mac != "02:11:22:33:44:55" || itf.Mtu != 1400 || itf.Sandbox != p.ns.Path() || itf.PciID != n.vfAddr(0) {
		t.Errorf("result interface = %+v", itf)
	}
	if len(res.IPs) != 1 || res.IPs[0].Interface == nil || *res.IPs[0].Interface != 0 || res.IPs[0].Address.String() != "10.9.0.2/24" {
		t.Errorf("result IPs = %+v", res.IPs)
	}
	// The pod has the VF, up, with MAC, MTU and the address.
	inPod := links(t, p.ns)["net1"]
	if inPod.MAC != "02:11:22:33:44:55" || inPod.MTU != 1400 || !inPod.Up {
		t.Errorf("net1 in pod = %+v", inPod)
	}
	addrs, err := kernelAddressing{}.Addrs(p.ns, "net1")
	var v4 []string
	for _, a := range addrs {
		if a.IP.To4() != nil {
			v4 = append(v4, a.String())
		}
	}
	if err != nil || len(v4) != 1 || v4[0] != "10.9.0.2/24" {
		t.Errorf("net1 IPv4 addresses = %v, %v", v4, err)
	}
	if _, ok := links(t, n.host)["vf0"]; ok {
		t.Errorf("vf0 still in the host netns")
	}
	// The RDMA device followed it; the other VF's did not.
	if got := n.rdma.where("mlx5_0", p.ns); got != "pod" {
		t.Errorf("mlx5_0 is in %s, want pod", got)
	}
	if got := n.rdma.where("mlx5_1", p.ns); got != "host" {
		t.Errorf("mlx5_1 is in %s, want host", got)
	}
	// The log names the character devices the pod needs for verbs.
	if !strings.Contains(n.logText(), "/dev/infiniband/uverbs-mlx5_0") {
		t.Errorf("log does not name mlx5_0's character devices")
	}
	// PF side: every asked setting applied.
	want := vf.State{MAC: "02:11:22:33:44:55", VLAN: 100, QoS: 3, Proto: "802.1q", SpoofChk: false, Trust: true, LinkState: "enable", MinTxRate: 100, MaxTxRate: 1000}
	if got := n.vfs.State("pf0", 0); got != want {
		t.Errorf("VF 0 PF-side = %+v, want %+v", got, want)
	}

	n.mustDel(p, conf)
	after := n.snapshot()
	if d := before.diff(after); d != "" {
		t.Errorf("DEL did not restore the node:\n%s", d)
	}
	if got := links(t, n.host)["vf0"]; got != origVF0 {
		t.Errorf("vf0 back as %+v, want %+v", got, origVF0)
	}
	if _, ok := links(t, p.ns)["net1"]; ok {
		t.Errorf("net1 still in the pod after DEL")
	}
	if !strings.Contains(n.logText(), `"msg":"DEL"`) {
		t.Errorf("no DEL record in the log:\n%s", n.logText())
	}
}
