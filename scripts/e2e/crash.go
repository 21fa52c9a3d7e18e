package main

// The crash matrix (`make crash`). For every fault
// point of ADD and DEL (sriovrdma.FaultPoints) the fault-injection build
// (-tags faultinject) is run as the plugin — first in CNI_PATH under the
// plugin's own name, so the netconf's type stays "sriov-rdma" — and kills
// itself with SIGKILL at that point. Then the node is recovered the ways a
// runtime would: a plain DEL with the shipped binary, separately a GC with
// no valid attachment, and for ADD points separately a retried ADD of the
// same attachment. After each the VF must be home with every original
// attribute (name, MAC, MTU, up/down), nothing RDMA left behind, the
// address released, the journal and the lock gone, no process left.

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/plugins/sriovrdma"
)

const (
	faultEnv = "SRIOV_RDMA_FAULT" // cmd/sriov-rdma/fault_on.go
	// The pod-side MAC and MTU every crash attachment asks for, so that a
	// crash after they were set leaves something for the recovery to undo.
	crashMAC = "02:c4:a5:00:00:01"
	crashMTU = 1400
	// before-rollback is reached only when a step fails: host-local is
	// given a pool of one address that somebody else holds, so IPAM ADD
	// fails after the journal and the moves, and the rollback starts.
	poolIP   = "10.56.0.9"
	squatter = "e2e-crash-squatter"
)

// crashVFs: one VF per fault point, and at least the ten that give the
// lane's fixture its three RDMA-capable VFs (0, 5 and the auxiliary 9).
func crashVFs() int { return max(len(sriovrdma.FaultPoints()), 10) }

// Recoveries.
const (
	recDEL   = "del"   // a plain DEL with the shipped binary
	recGC    = "gc"    // GC with no valid attachment
	recRetry = "retry" // the same ADD again, with the shipped binary, then DEL
)

// crashPlan is what the matrix does with one fault point.
type crashPlan struct {
	point      string
	verb       string // "add" or "del": the verb killed
	recoveries []string
}

// planCrash classifies the fault points; a point of neither verb is an
// error, so a new kind of point cannot slip past the matrix.
func planCrash(points []string) ([]crashPlan, error) {
	var out []crashPlan
	for _, p := range points {
		switch {
		case strings.HasPrefix(p, "add:"):
			out = append(out, crashPlan{p, "add", []string{recDEL, recGC, recRetry}})
		case strings.HasPrefix(p, "del:"):
			out = append(out, crashPlan{p, "del", []string{recDEL, recGC}})
		default:
			return nil, fmt.Errorf("fault point %q is neither an ADD nor a DEL point", p)
		}
	}
	return out, nil
}

// assignVFs gives each point its own VF, so what one point leaves cannot
// hide what another does. Points named after RDMA steps get the VFs with an
// RDMA device first.
func assignVFs(points []string, vfs []vfSpec) (map[string]vfSpec, error) {
	if len(vfs) < len(points) {
		return nil, fmt.Errorf("%d fault points but only %d VFs", len(points), len(vfs))
	}
	var withRDMA, plain []vfSpec
	for _, v := range vfs {
		if v.rdma != "" || v.auxRDMA != "" {
			withRDMA = append(withRDMA, v)
		} else {
			plain = append(plain, v)
		}
	}
	out := map[string]vfSpec{}
	for _, p := range points {
		if strings.Contains(p, "rdma") && len(withRDMA) > 0 {
			out[p], withRDMA = withRDMA[0], withRDMA[1:]
		}
	}
	rest := append(plain, withRDMA...)
	for _, p := range points {
		if _, ok := out[p]; !ok {
			out[p], rest = rest[0], rest[1:]
		}
	}
	return out, nil
}

// crashStats are the matrix's figures; cases add to them.
type crashStats struct {
	mu       sync.Mutex
	recovery map[string][]time.Duration // by recovery, the recovering command's time
	kill     []time.Duration            // the killed command's time
	orphans  int                        // kills that left an IPAM process running
	kills    int
}

func (s *crashStats) add(rec string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recovery[rec] = append(s.recovery[rec], d)
}

func crashMode(l *Lane, args []string) int {
	var only string
	err := modeFlags("crash", args, func(fs *flag.FlagSet) {
		fs.StringVar(&only, "points", "", "comma-separated fault points to run (default: all)")
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	points := sriovrdma.FaultPoints()
	if only != "" {
		var sel []string
		for _, p := range strings.Split(only, ",") {
			if !slices.Contains(points, p) {
				fmt.Fprintf(os.Stderr, "crash: no fault point %q; points: %s\n", p, strings.Join(points, " "))
				return 2
			}
			sel = append(sel, p)
		}
		points = sel
	}
	plans, err := planCrash(points)
	if err == nil {
		var vfOf map[string]vfSpec
		if vfOf, err = assignVFs(sriovrdma.FaultPoints(), l.vfs); err == nil {
			var faultPath string
			if faultPath, err = l.faultCNIPath(); err == nil {
				return runCrash(l, plans, vfOf, faultPath)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "crash:", err)
	return 1
}

func runCrash(l *Lane, plans []crashPlan, vfOf map[string]vfSpec, faultPath string) int {
	s := newSuite(l, fmt.Sprintf("crash matrix: %d fault points, the fault build killed with SIGKILL at each, then DEL, GC or a retried ADD", len(plans)))
	st := &crashStats{recovery: map[string][]time.Duration{}}
	for _, pl := range plans {
		for _, rec := range pl.recoveries {
			c := crashCase{crashPlan: pl, rec: rec, v: vfOf[pl.point], faultPath: faultPath, stats: st}
			if !s.run(tcase{name: pl.point + " " + rec, what: c.what(), run: c.run}) {
				return s.finish()
			}
		}
	}
	s.figure("fault points %d (ADD %d, DEL %d); cases %d", len(plans),
		countVerb(plans, "add"), countVerb(plans, "del"), s.passed+s.failed)
	s.figure("killed commands %d, each `signal: killed`: %s", st.kills, latency(st.kill))
	s.figure("kills that left an IPAM process running: %d", st.orphans)
	for _, rec := range []string{recDEL, recGC, recRetry} {
		if d := st.recovery[rec]; len(d) > 0 {
			s.figure("recovery by %-5s %s", rec, latency(d))
		}
	}
	return s.finish()
}

func countVerb(plans []crashPlan, verb string) int {
	return count(plans, func(p crashPlan) bool { return p.verb == verb })
}

// faultCNIPath makes a CNI_PATH whose sriov-rdma is the fault-injection
// build, with host-local behind it.
func (l *Lane) faultCNIPath() (string, error) {
	fi := l.plugin + "-faultinject"
	if _, err := os.Stat(fi); err != nil {
		return "", fmt.Errorf("%w (make build-faultinject builds it)", err)
	}
	dir := filepath.Join(l.work, "faultbin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(fi, filepath.Join(dir, "sriov-rdma")); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return dir + ":" + filepath.Join(l.root, ".tools", "bin"), nil
}

// crashCase is one (fault point, recovery) of the matrix.
type crashCase struct {
	crashPlan
	rec       string
	v         vfSpec
	faultPath string
	stats     *crashStats
}

func (c crashCase) what() string {
	rdma := ""
	if c.v.rdma != "" || c.v.auxRDMA != "" {
		rdma = ", RDMA " + c.v.rdma + c.v.auxRDMA
	}
	how := map[string]string{
		recDEL:   "a plain DEL restores",
		recGC:    "GC with no valid attachment restores",
		recRetry: "the retried ADD succeeds, DEL restores",
	}[c.rec]
	return fmt.Sprintf("%s killed at %s on %s (%s%s); %s", strings.ToUpper(c.verb), c.point, c.v.netdev, c.v.addr, rdma, how)
}

// name is short and unique per case: networks and pods are named after it.
func (c crashCase) name() string {
	return "cr-" + strings.NewReplacer(":", "-", "before-", "b", "after-", "a").Replace(c.point) + "-" + c.rec
}

func (c crashCase) run(t *T) {
	v := c.v
	// The device-info file Multus asks for (capability CNIDeviceInfoFile)
	// is one more thing ADD writes and DEL must remove.
	set := map[string]any{"mac": crashMAC, "mtu": crashMTU, "capabilities": map[string]any{"CNIDeviceInfoFile": true}}
	devInfo := filepath.Join("/run/k8s.cni.cncf.io/devinfo", c.name()+".json")
	capArgs := `{"CNIDeviceInfoFile":"` + devInfo + `"}`
	rollback := c.point == "add:before-rollback"
	if rollback {
		set["ipam"] = map[string]any{
			"type": "host-local", "dataDir": t.ipamDir,
			"ranges": [][]map[string]any{{{"subnet": subnet, "rangeStart": poolIP, "rangeEnd": poolIP}}},
		}
	}
	net := t.net(c.name(), "1.1.0", v, set, true)
	p := t.pod(c.name())
	// Whatever happened, a runtime's DEL must end it, and succeed.
	t.Cleanup(func() {
		if r := t.cnitoolRun("del", net, p, "net1", capArgs); !r.ok() {
			t.Errorf("final DEL: %s", r)
		}
	})
	if rollback {
		t.squat(net)
	}

	phase := state.PhaseAdding
	if c.verb == "del" {
		res := t.add(net, p, "net1", capArgs)
		t.wantAttached(p, "net1", res)
		t.wantDevInfo(devInfo, v, true)
		phase = state.PhaseCommitted
	}
	start := time.Now()
	r := t.cnitoolWith(c.faultPath, []string{faultEnv + "=" + c.point}, c.verb, net, p, "net1", capArgs)
	c.stats.mu.Lock()
	c.stats.kill = append(c.stats.kill, time.Since(start))
	c.stats.kills++
	if len(t.strays()) > 0 {
		c.stats.orphans++
	}
	c.stats.mu.Unlock()
	if r.ok() || !strings.Contains(r.output(), "signal: killed") {
		t.Fatalf("the fault build was not killed at %s: %s", c.point, r)
	}
	t.wantJournalled(p, v, phase)

	start = time.Now()
	switch c.rec {
	case recDEL:
		t.mustCNI("del", net, p, "net1", capArgs)
	case recGC:
		if err := t.gcNone(net); err != nil {
			t.Fatalf("GC: %v", err)
		}
		// The plugin's GC restored it (host-local's own GC, which libcni
		// runs too, would only have freed the address).
		restored := false
		for _, rec := range t.logRecords(net) {
			restored = restored || (rec.Msg == "GC restored attachment" && rec.str("device") == v.addr)
		}
		if !restored {
			t.Errorf(`the plugin's log has no "GC restored attachment" for %s`, v.addr)
		}
	case recRetry:
		if rollback {
			// The cause of the failure goes first, as an operator would.
			t.unsquat(net)
		}
		res := t.add(net, p, "net1", capArgs)
		t.wantAttached(p, "net1", res)
		t.wantDevInfo(devInfo, v, true)
		k := t.podLink(p, "net1")
		if !strings.EqualFold(k.MAC, crashMAC) || k.MTU != crashMTU {
			t.Errorf("retried ADD: net1 has MAC %s MTU %d, want %s %d", k.MAC, k.MTU, crashMAC, crashMTU)
		}
		if rec, err := state.ReadFile(t.journal(p, "net1")); err != nil || rec.Phase != state.PhaseCommitted {
			t.Errorf("retried ADD: journal %v, phase %v, want committed", err, phaseOf(rec))
		}
		t.hostLacks(v)
		t.mustCNI("del", net, p, "net1", capArgs)
	}
	c.stats.add(c.rec, time.Since(start))
	if rollback {
		if c.rec == recDEL {
			// DEL released this attachment's address, not another's.
			t.ipHeld(net, poolIP, true)
		}
		t.unsquat(net)
	}
	t.wantRestored(net, p, v)
	t.wantDevInfo(devInfo, v, false)
}

func phaseOf(rec *state.Record) string {
	if rec == nil {
		return "none"
	}
	return string(rec.Phase)
}

// wantJournalled: the killed verb left its journal (in phase) naming the
// VF's RDMA device, and the VF's lock file naming the journal as owner.
func (t *T) wantJournalled(p *pod, v vfSpec, phase state.Phase) {
	j := t.journal(p, "net1")
	rec, err := state.ReadFile(j)
	if err != nil {
		t.Errorf("after the kill: journal %s: %v", filepath.Base(j), err)
		return
	}
	if rec.Phase != phase || rec.DeviceID != v.addr || rec.Orig.Netdev != v.netdev {
		t.Errorf("after the kill: journal has phase %s device %s netdev %s, want %s %s %s",
			rec.Phase, rec.DeviceID, rec.Orig.Netdev, phase, v.addr, v.netdev)
	}
	for _, name := range []string{v.rdma, v.auxRDMA} {
		if name == "" {
			continue
		}
		found := false
		for _, d := range rec.RDMA {
			found = found || d.Name == name
		}
		if !found {
			t.Errorf("after the kill: journal does not record RDMA device %s: %+v", name, rec.RDMA)
		}
		if rec.RDMAInPod {
			t.Errorf("after the kill: journal says %s goes to the pod on a kernel without RDMA", name)
		}
	}
	owner, err := os.ReadFile(state.Locks{Dir: state.DefaultLockDir}.Path(v.addr))
	if err != nil || strings.TrimSpace(string(owner)) != j {
		t.Errorf("after the kill: lock of %s names %q (%v), want the journal %s", v.addr, strings.TrimSpace(string(owner)), err, j)
	}
}

// wantRestored: the node is as it began for this attachment.
func (t *T) wantRestored(net string, p *pod, v vfSpec) {
	t.podLacks(p, "net1")
	t.vfHome(v)
	t.noIPs(net)
	t.stateEmpty()
	t.rdmaHome(v)
	if left := t.waitStrays(2 * time.Second); len(left) > 0 {
		t.Errorf("processes left running: %s", strings.Join(left, " "))
	}
}

// rdmaHome: the VF's RDMA device is where the node had it. This kernel has
// no RDMA subsystem, so rdma: auto keeps the device on the host (the
// journal records it, wantJournalled checks); what must hold is that it is
// still listed under the VF's PCI function and in class/infiniband.
func (t *T) rdmaHome(v vfSpec) {
	dev := "/sys/bus/pci/devices/" + v.addr
	if v.rdma != "" {
		for _, p := range []string{dev + "/infiniband/" + v.rdma, "/sys/class/infiniband/" + v.rdma} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("RDMA device %s of %s: %v", v.rdma, v.addr, err)
			}
		}
	}
	if v.auxRDMA != "" {
		m, _ := filepath.Glob(dev + "/mlx5_core.rdma.*/infiniband/" + v.auxRDMA)
		if _, err := os.Stat("/sys/class/infiniband/" + v.auxRDMA); len(m) != 1 || err != nil {
			t.Errorf("RDMA device %s of %s not under its auxiliary device (%v) or class/infiniband (%v)", v.auxRDMA, v.addr, m, err)
		}
	}
}

// squat makes host-local's one-address pool of network net full: the
// address is reserved for another container, in host-local's own format.
func (t *T) squat(net string) {
	dir := filepath.Join(t.ipamDir, net)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, poolIP), []byte(squatter+"\r\nnet1"), 0o644); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { t.unsquat(net) })
}

func (t *T) unsquat(net string) {
	if err := os.Remove(filepath.Join(t.ipamDir, net, poolIP)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v", err)
	}
}

// wantDevInfo: the device-info file names the VF while it is attached and
// is gone once it is not.
func (t *T) wantDevInfo(path string, v vfSpec, want bool) {
	b, err := os.ReadFile(path)
	switch {
	case !want && err == nil:
		t.Errorf("device-info file %s is still there: %s", filepath.Base(path), oneLine(string(b)))
	case !want && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("device-info file: %v", err)
	case want && err != nil:
		t.Errorf("no device-info file: %v", err)
	case want && !strings.Contains(string(b), `"`+v.addr+`"`):
		t.Errorf("device-info file does not name %s: %s", v.addr, oneLine(string(b)))
	}
}
