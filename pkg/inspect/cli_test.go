package inspect_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/inspect"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

// cli runs `sriov-rdma inspect` against the busy node as root.
func (nd *node) cli(args ...string) (code int, stdout, stderr string) {
	o := nd.options()
	o.StateDirs = nil
	c := inspect.CLI{Options: o, IsRoot: func() bool { return true }}
	full := append([]string{"--sysfs", nd.root, "--lock-dir", nd.locks, "--state-dir", nd.state, "--state-dir", nd.otherState}, args...)
	var out, errb bytes.Buffer
	code = c.Run(full, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunJSON(t *testing.T) {
	nd := busyNode(t)
	code, out, errOut := nd.cli("--json")
	if code != inspect.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rep inspect.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("--json output does not decode as a Report: %v\n%s", err, out)
	}
	want := collect(t, nd.options())
	gotJSON, _ := json.Marshal(rep)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("--json differs from Collect:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	// Field names machines rely on.
	for _, k := range []string{`"rdmaNetnsMode": "exclusive"`, `"state": "in pod"`, `"state": "stale"`, `"state": "free"`,
		`"roceV2": "yes"`, `"podName": "trainer-0"`, `"containerID": "c1a2b3c4d5e6f7a8b9c0"`, `"ifName": "net1"`, `"staleJournals"`} {
		if !strings.Contains(out, k) {
			t.Errorf("--json output lacks %s", k)
		}
	}
}

func TestRunText(t *testing.T) {
	nd := busyNode(t)
	code, out, errOut := nd.cli()
	if code != inspect.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	t.Logf("\n%s", out)
	lines := strings.Split(out, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "VF  PCI") })
	if header < 0 {
		t.Fatalf("no VF table header in\n%s", out)
	}
	col := strings.Index(lines[header], "STATE")
	podCol := strings.Index(lines[header], "POD")
	rows := map[string]string{} // pci -> row
	for _, l := range lines[header+1 : header+8] {
		f := strings.Fields(l)
		rows[f[1]] = l
		// Aligned: every row's state starts under STATE.
		if !strings.HasPrefix(l[col:], "free") && !strings.HasPrefix(l[col:], "in pod") && !strings.HasPrefix(l[col:], "stale") {
			t.Errorf("row not aligned under STATE: %q", l)
		}
	}
	if r := rows[vf(1)]; !strings.Contains(r[podCol:], "ml/trainer-0  c1a2b3c4d5e6  net1") {
		t.Errorf("VF 1 row %q lacks pod, short container ID and ifname", r)
	}
	for _, s := range []string{
		"RDMA netns mode  exclusive",
		"PF 0000:01:00.0  netdev eth0  driver igb  VFs 7 of 7",
		"PF 0001:81:00.0  netdev ib0  driver mlx5_core  VFs 1 of 7",
		"Stale journals (4)",
		"torn-net1.json",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q", s)
		}
	}
}

func TestRunNoSRIOV(t *testing.T) {
	root := t.TempDir()
	if err := fixture.Build(root, fixture.Node{Plain: []string{"0000:02:00.0"}}); err != nil {
		t.Fatal(err)
	}
	c := inspect.CLI{Options: inspect.Options{RDMA: fakeMode{mode: "exclusive"}}, IsRoot: func() bool { return true }}
	var out, errb bytes.Buffer
	code := c.Run([]string{"--sysfs", root, "--state-dir", t.TempDir(), "--lock-dir", t.TempDir()}, &out, &errb)
	want := "no SR-IOV physical function under " + root + "/bus/pci/devices: create VFs with echo N > /sys/class/net/<pf>/device/sriov_numvfs"
	if code == inspect.ExitOK || !strings.Contains(errb.String(), want) || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want non-zero and %q", code, out.String(), errb.String(), want)
	}
}

func TestRunPFWithoutVFs(t *testing.T) {
	nd := newNode(t, fixture.Node{PFs: []fixture.PF{{Netdev: "ens1f0"}}})
	code, out, errOut := nd.cli()
	if code == inspect.ExitOK {
		t.Errorf("exit 0 on a node without VFs")
	}
	if !strings.Contains(errOut, "echo N > /sys/class/net/ens1f0/device/sriov_numvfs") {
		t.Errorf("stderr %q does not say how to create VFs on ens1f0", errOut)
	}
	if !strings.Contains(out, "PF 0000:01:00.0  netdev ens1f0") || !strings.Contains(out, "no VFs") {
		t.Errorf("the PF is not shown:\n%s", out)
	}
}

func TestRunNotRoot(t *testing.T) {
	nd := busyNode(t)
	c := inspect.CLI{Options: nd.options(), IsRoot: func() bool { return false }}
	var out, errb bytes.Buffer
	code := c.Run(nil, &out, &errb)
	if code == inspect.ExitOK || out.Len() != 0 ||
		errb.String() != "sriov-rdma inspect: inspect reads VF state and journals that only root can read: run it as root\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestRunUsage(t *testing.T) {
	nd := busyNode(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, inspect.ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"--state-dir", "relative/dir"}, inspect.ExitUsage, `"relative/dir" is not an absolute path`},
		{[]string{"extra"}, inspect.ExitUsage, `unexpected argument "extra"`},
		{[]string{"--help"}, inspect.ExitOK, "usage: sriov-rdma inspect"},
	}
	for _, tc := range tests {
		code, _, errOut := nd.cli(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
