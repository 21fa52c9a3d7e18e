package main

import (
	"encoding/json"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/plugins/sriovrdma"
)

// The reliability harnesses' own logic that needs no root: if it breaks,
// a harness passes without testing what it claims.

func TestCrashPlanCoversEveryFaultPoint(t *testing.T) {
	points := sriovrdma.FaultPoints()
	plans, err := planCrash(points)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != len(points) {
		t.Fatalf("%d plans for %d fault points", len(plans), len(points))
	}
	for _, p := range plans {
		want := []string{recDEL, recGC}
		if p.verb == "add" {
			want = append(want, recRetry)
		}
		if !slices.Equal(p.recoveries, want) {
			t.Errorf("%s: recoveries %v, want %v (each crash is recovered by DEL and, separately, by GC; a killed ADD also by the same ADD again)", p.point, p.recoveries, want)
		}
	}
	if _, err := planCrash([]string{"check:after-lock"}); err == nil {
		t.Error("a fault point of neither ADD nor DEL was accepted: the matrix would not know what to kill")
	}
}

func TestAssignVFsOnePerPointRDMAFirst(t *testing.T) {
	points := sriovrdma.FaultPoints()
	vfs := makeVFs(crashVFs())
	got, err := assignVFs(points, vfs)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, p := range points {
		v, ok := got[p]
		if !ok {
			t.Fatalf("no VF for %s", p)
		}
		if other, dup := seen[v.addr]; dup {
			t.Errorf("%s and %s share VF %s", p, other, v.addr)
		}
		seen[v.addr] = p
		if strings.Contains(p, "rdma") && v.rdma == "" && v.auxRDMA == "" {
			t.Errorf("%s got VF %d, which has no RDMA device", p, v.index)
		}
	}
	if _, err := assignVFs(points, vfs[:len(points)-1]); err == nil {
		t.Error("fewer VFs than points was accepted")
	}
}

func TestCrashCaseNamesFitNetworksAndNetns(t *testing.T) {
	plans, _ := planCrash(sriovrdma.FaultPoints())
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)
	seen := map[string]bool{}
	for _, p := range plans {
		for _, rec := range p.recoveries {
			n := crashCase{crashPlan: p, rec: rec}.name()
			if !valid.MatchString(n) || seen[n] {
				t.Errorf("case name %q is not a valid network name or is taken", n)
			}
			seen[n] = true
		}
	}
}

func TestModesRegistered(t *testing.T) {
	m := modes()
	for name, min := range map[string]int{"crash": len(sriovrdma.FaultPoints()), "stress": 64, "hostile": 2} {
		md, ok := m[name]
		if !ok {
			t.Errorf("mode %s is not registered", name)
			continue
		}
		if md.vfs < min {
			t.Errorf("mode %s has %d VFs, needs %d", name, md.vfs, min)
		}
	}
}

func TestHostileTable(t *testing.T) {
	conf := func(set map[string]any) []byte {
		c := map[string]any{"cniVersion": "1.0.0", "name": "hostile", "type": "sriov-rdma", "deviceID": "0000:01:10.2"}
		for k, v := range set {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	inputs := hostileInputs(conf, makeVFs(2)[1], "/run/netns/h0", "/proc/1/ns/net")
	if len(inputs) < 40 {
		t.Errorf("%d hostile inputs; the Guarantees row promises at least 40", len(inputs))
	}
	names := map[string]bool{}
	codes := map[int]int{}
	for _, in := range inputs {
		if names[in.name] {
			t.Errorf("two inputs named %q", in.name)
		}
		names[in.name] = true
		codes[in.code]++
		if in.name == "netconf over 1 MiB" && len(in.stdin) <= config.MaxConfigBytes {
			t.Errorf("the oversize input is %d bytes, not over the plugin's %d", len(in.stdin), config.MaxConfigBytes)
		}
	}
	// Every class of hostile input: undecodable (6), bad field (7), env (4),
	// version (1), netns that is gone (3).
	for _, c := range []int{1, 3, 4, 6, 7} {
		if codes[c] == 0 {
			t.Errorf("no input expects code %d", c)
		}
	}
}

func TestNetnsMountsInSeesOnlyTheVisibleRunNetns(t *testing.T) {
	// A hidden /run/netns (the machine's, under the lane's /run) with its
	// own netns, then the lane's, with the fabric and one pod.
	mi := strings.Join([]string{
		"73 53 254:0 /run/netns /run/netns rw,relatime - ext4 /dev/vda rw",
		"74 73 0:4 net:[4026532177] /run/netns/cnitest-1 rw - nsfs nsfs rw",
		"83 53 0:39 / /run rw,relatime - tmpfs e2e rw",
		"84 83 0:39 /netns /run/netns rw,relatime shared:11 - tmpfs e2e rw",
		"85 84 0:4 net:[4026532800] /run/netns/e2e-fabric rw shared:12 - nsfs nsfs rw",
		"86 84 0:4 net:[4026532900] /run/netns/pod-a rw - nsfs nsfs rw",
		"87 84 0:40 / /run/netns/not-a-netns rw - tmpfs x rw",
	}, "\n")
	got := netnsMountsIn(mi)
	if want := []string{"e2e-fabric", "pod-a"}; !slices.Equal(got, want) {
		t.Errorf("netnsMountsIn = %v, want %v", got, want)
	}
	if got := netnsMountsIn(""); len(got) != 0 {
		t.Errorf("no /run/netns mount: %v", got)
	}
}

func TestModeFlagsRejectStrays(t *testing.T) {
	n := 0
	define := func(fs *flag.FlagSet) { fs.IntVar(&n, "rounds", 1, "") }
	if err := modeFlags("stress", []string{"-rounds", "3"}, define); err != nil || n != 3 {
		t.Errorf("-rounds 3: n=%d err=%v", n, err)
	}
	if err := modeFlags("stress", []string{"3"}, define); err == nil {
		t.Error("a stray argument was accepted")
	}
	if err := modeFlags("stress", []string{"-nope"}, define); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

func TestSnapshotDiff(t *testing.T) {
	got := snapshotDiff("/a 1; /b 2; state []", "/a 1; /b 3; state [x]")
	if want := "-/b 2; -state []; +/b 3; +state [x]"; got != want {
		t.Errorf("snapshotDiff = %q, want %q", got, want)
	}
	if got := snapshotDiff("x; y", "x; y"); got != "" {
		t.Errorf("same snapshots differ: %q", got)
	}
}
