package sriovrdma

// The rdma policy (auto, required, off) against what the node's RDMA
// subsystem can do, and the warnings of a netdev-only attachment.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
)

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
			p := n.newPod("pod-a")
			conf := n.conf(0, map[string]any{"rdma": tc.policy})
			if tc.wantErr != "" {
				n.refusedAdd(p, conf, CodeRDMAUnavailable, tc.wantErr)
				return
			}
			before := n.snapshot()
			n.mustAdd(p, conf)
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
			n.mustDel(p, conf)
			n.sameAs(before, "DEL did not restore the node")
		})
	}
}

// Without logFile, warnings reach stderr, which the runtime logs: an
// attachment that fell back to netdev-only is never silent.
func TestWarningsGoToStderrWithoutLogFile(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1, hwRDMA: true})
	n.rdma.mode = "shared"
	var stderr bytes.Buffer
	n.p.Stderr = &stderr
	p, conf := n.attached("pod-a", 0, map[string]any{"logFile": nil})
	if !strings.Contains(stderr.String(), `"level":"WARN"`) || !strings.Contains(stderr.String(), "netdev-only") {
		t.Errorf("stderr has no warning about the netdev-only attachment:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), `"level":"INFO"`) {
		t.Errorf("stderr carries info records:\n%s", stderr.String())
	}
	n.mustDel(p, conf)
}
