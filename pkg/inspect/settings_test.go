package inspect_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/inspect"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	vfnl "github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// settingsNode: pf0's VFs 0 and 4 on the host with their netdevs, VF 1 in a
// pod whose ADD found RoCE v2 GID 3 and set MTU 4000, pf1's IB VF on the
// host with a GUID in its IPoIB address.
func settingsNode(t *testing.T) (*node, inspect.Options) {
	nd := newNode(t, fixture.Node{PFs: []fixture.PF{pf0, pf1}})
	gid := 3
	nd.journal(nd.state, state.Record{
		BootID: thisBoot, Network: "rdma-net", ContainerID: "c1", IfName: "net1", Netns: liveNetns,
		PodNamespace: "ml", PodName: "trainer-0", DeviceID: vf(1), RoCEv2GID: &gid,
		Result: json.RawMessage(`{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"02:00:00:00:00:01","mtu":4000,"sandbox":"/run/netns/p"}]}`),
	}, true)
	netdir := func(addr, name string) string { return filepath.Join(nd.root, "bus/pci/devices", addr, "net", name) }
	for path, content := range map[string]string{
		filepath.Join(netdir(vf(4), "eth5"), "mtu"):                     "9000\n",
		filepath.Join(netdir(vf(0), "eth1"), "mtu"):                     "1500\n",
		filepath.Join(netdir(fixture.VFAddr(pf1, 0), "ib1"), "mtu"):     "2044\n",
		filepath.Join(netdir(fixture.VFAddr(pf1, 0), "ib1"), "address"): "00:00:10:87:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:7e:5a:10\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	states := make([]vfnl.State, len(pf0.VFs))
	for i := range states {
		states[i] = vfnl.State{MAC: "00:00:00:00:00:00", Proto: vfnl.Proto8021Q, SpoofChk: true, LinkState: vfnl.LinkStateAuto}
	}
	states[4] = vfnl.State{MAC: "02:11:22:33:44:55", VLAN: 100, QoS: 5, Proto: vfnl.Proto8021AD, SpoofChk: false, Trust: true,
		LinkState: vfnl.LinkStateEnable, MinTxRate: 10, MaxTxRate: 1000}
	o := nd.options()
	o.VFs = fakeVFs{"eth0": states}
	return nd, o
}

func TestCollectSettingsMTUGUIDAndGIDIndex(t *testing.T) {
	_, o := settingsNode(t)
	rep := collect(t, o)
	byPCI := map[string]inspect.VF{}
	for _, pf := range rep.PFs {
		for _, v := range pf.VFs {
			byPCI[v.PCI] = v
		}
	}
	v4 := byPCI[vf(4)]
	want := inspect.PFSide{AdminMAC: "02:11:22:33:44:55", VLAN: 100, QoS: 5, VLANProto: "802.1ad", Trust: true,
		LinkState: "enable", MinTxRate: 10, MaxTxRate: 1000}
	if v4.PFSide == nil || *v4.PFSide != want {
		t.Errorf("VF 4 PF side = %+v, want %+v", v4.PFSide, want)
	}
	if v4.MTU != 9000 {
		t.Errorf("VF 4 MTU = %d, want 9000 from its netdev", v4.MTU)
	}
	v1 := byPCI[vf(1)]
	if v1.State != inspect.StateInPod || v1.MTU != 4000 || v1.RoCEv2GIDIndex == nil || *v1.RoCEv2GIDIndex != 3 {
		t.Errorf("VF 1 in pod: state %q MTU %d GID index %v, want in pod, 4000 and 3 from the journal", v1.State, v1.MTU, v1.RoCEv2GIDIndex)
	}
	if v0 := byPCI[vf(0)]; v0.RoCEv2GIDIndex != nil || v0.PFSide == nil || !v0.PFSide.SpoofChk {
		t.Errorf("free VF 0: GID index %v, PF side %+v; want no GID index and spoof checking on", v0.RoCEv2GIDIndex, v0.PFSide)
	}
	ib := byPCI[fixture.VFAddr(pf1, 0)]
	if ib.GUID != "0c:42:a1:03:00:7e:5a:10" || ib.MTU != 2044 || ib.PFSide != nil {
		t.Errorf("IB VF: GUID %q MTU %d PF side %+v; want the IPoIB address's GUID, 2044 and none (ib0 reports no VF settings)", ib.GUID, ib.MTU, ib.PFSide)
	}
	if rep.PFs[1].PFSideNote != "driver mlx5_core reports no VF settings over netlink" {
		t.Errorf("pf1 note = %q", rep.PFs[1].PFSideNote)
	}
}

func TestRunTextShowsSettings(t *testing.T) {
	nd, o := settingsNode(t)
	c := inspect.CLI{Options: o, IsRoot: func() bool { return true }}
	var out, errb bytes.Buffer
	if code := c.Run([]string{"--sysfs", nd.root, "--lock-dir", nd.locks, "--state-dir", nd.state}, &out, &errb); code != inspect.ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, s := range []string{
		"VF  ADMIN MAC          VLAN  QOS  PROTO    SPOOFCHK  TRUST  LINK    TX MIN/MAX  MTU   GUID",
		"4   02:11:22:33:44:55  100   5    802.1ad  off       on     enable  10/1000     9000  -",
		"PF-side settings: none shown, driver mlx5_core reports no VF settings over netlink",
		"0c:42:a1:03:00:7e:5a:10",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, out.String())
		}
	}
}

// --json answers in JSON whatever happens: fleet collection pipes stdout.
func TestRunJSONOnEveryOutcome(t *testing.T) {
	nd := busyNode(t)
	noSRIOV := t.TempDir()
	if err := fixture.Build(noSRIOV, fixture.Node{Plain: []string{"0000:02:00.0"}}); err != nil {
		t.Fatal(err)
	}
	noVFs := newNode(t, fixture.Node{PFs: []fixture.PF{{Netdev: "ens1f0"}}})
	tests := []struct {
		name    string
		root    bool
		args    []string
		code    int
		kind    string // "" = success, no error object
		hasPFs  bool
		message string
	}{
		{"ok", true, []string{"--sysfs", nd.root}, inspect.ExitOK, "", true, ""},
		{"not root", false, []string{"--sysfs", nd.root}, inspect.ExitFailure, inspect.FailNotRoot, false, inspect.MsgNotRoot},
		{"no sr-iov", true, []string{"--sysfs", noSRIOV}, inspect.ExitFailure, inspect.FailNoSRIOV, false, "no SR-IOV physical function"},
		{"no vfs", true, []string{"--sysfs", noVFs.root}, inspect.ExitFailure, inspect.FailNoVFs, true, "sriov_numvfs 0"},
		{"bad flag", true, []string{"--bogus"}, inspect.ExitUsage, inspect.FailUsage, false, "-bogus"},
		{"extra argument", true, []string{"extra"}, inspect.ExitUsage, inspect.FailUsage, false, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		c := inspect.CLI{Options: nd.options(), IsRoot: func() bool { return tc.root }}
		var out, errb bytes.Buffer
		code := c.Run(append([]string{"--json"}, tc.args...), &out, &errb)
		var doc struct {
			PFs   []json.RawMessage `json:"pfs"`
			Error *inspect.Failure  `json:"error"`
		}
		dec := json.NewDecoder(&out)
		if err := dec.Decode(&doc); err != nil {
			t.Errorf("%s: stdout is not JSON: %v (stderr %q)", tc.name, err, errb.String())
			continue
		}
		if dec.More() {
			t.Errorf("%s: stdout holds more than one JSON document", tc.name)
		}
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.name, code, tc.code)
		}
		switch {
		case tc.kind == "" && doc.Error != nil:
			t.Errorf("%s: error object %+v on success", tc.name, doc.Error)
		case tc.kind != "" && (doc.Error == nil || doc.Error.Kind != tc.kind || doc.Error.ExitCode != tc.code || !strings.Contains(doc.Error.Message, tc.message)):
			t.Errorf("%s: error object %+v, want kind %s, exit code %d, message with %q", tc.name, doc.Error, tc.kind, tc.code, tc.message)
		}
		if tc.hasPFs != (len(doc.PFs) > 0) {
			t.Errorf("%s: %d PFs in the JSON, want them only when inspect read the node", tc.name, len(doc.PFs))
		}
	}
}
