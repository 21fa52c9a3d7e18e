package sriovrdma

// GC restores only what it can prove is its own network's and no longer
// valid.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

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

// GC judges only journals it can prove are its network's: one that does
// not decode and does not say whose it is, one from a newer plugin, and
// another network's torn one stay for the DEL that owns them. Its own
// network's torn journal is restored.
func TestGCLeavesJournalsItCannotProveAreItsOwn(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 2})
	own, conf := n.attached("own", 0, nil)
	// Tear its journal after the network's name and the device.
	ownPath := filepath.Join(n.stateDir, "own-net1.json")
	raw, err := os.ReadFile(ownPath)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(raw, []byte(`"original"`))
	if err := os.WriteFile(ownPath, raw[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(n.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	_ = json.Unmarshal(raw, &rec)
	rec["version"] = 99
	rec["containerID"] = "newer"
	newer, _ := json.Marshal(rec)
	rec["version"] = 1
	rec["containerID"] = "other"
	rec["network"] = "other-net"
	otherRaw, _ := json.Marshal(rec)
	keep := map[string][]byte{
		"garbage-net1.json": []byte("\x00\x01 not a journal"),
		"newer-net1.json":   newer,
		"other-net1.json":   otherRaw[:bytes.Index(otherRaw, []byte(`"original"`))],
	}
	for name, b := range keep {
		if err := os.WriteFile(filepath.Join(n.stateDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.gc(conf); err != nil {
		t.Fatalf("GC: %v", err)
	}
	for name, b := range keep {
		if got, err := os.ReadFile(filepath.Join(n.stateDir, name)); err != nil || !bytes.Equal(got, b) {
			t.Errorf("GC changed or removed %s: %v", name, err)
		}
	}
	if _, err := os.Stat(ownPath); !os.IsNotExist(err) {
		t.Errorf("GC left its own network's torn journal: %v", err)
	}
	// The torn journal lost the original name: the VF comes home under the
	// name derived from its PCI address, as DEL's salvage does.
	if _, ok := links(t, n.host)[fallbackName(n.vfAddr(0))]; !ok {
		t.Errorf("GC did not bring the torn journal's VF home: host has %v", links(t, n.host))
	}
	if _, ok := links(t, own.ns)["net1"]; ok {
		t.Errorf("the VF is still in the pod")
	}
}
