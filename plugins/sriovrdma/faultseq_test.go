package sriovrdma

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Fault sequences: seeded random runs of ADD, DEL, CHECK and GC over several
// VFs and pods, with netlink (and IPAM) errors and crashes injected at random
// calls. Each sequence prints its seed; a failure reproduces from it:
//
//	SRIOV_RDMA_FAULTSEQ_SEED=<n> go test -race -run TestFaultSequences ./plugins/sriovrdma/
//
// SRIOV_RDMA_FAULTSEQ_COUNT sets how many sequences run (seeds BASE..BASE+COUNT-1,
// BASE from SRIOV_RDMA_FAULTSEQ_BASE, default 1); `make reliability` runs 1000.
const (
	faultSeqSeedEnv      = "SRIOV_RDMA_FAULTSEQ_SEED"
	faultSeqCountEnv     = "SRIOV_RDMA_FAULTSEQ_COUNT"
	faultSeqBaseEnv      = "SRIOV_RDMA_FAULTSEQ_BASE"
	faultSeqDefaultCount = 50

	seqVFs  = 3
	seqPods = 3
	// seqFaultP is the chance that an op is armed with a fault.
	seqFaultP = 0.45
	// seqMaxCall bounds the call number an armed error hits; a number past
	// the op's last call leaves the op clean, which is counted as clean.
	seqMaxCall = 24
)

func faultSeqSeeds(t *testing.T) []int64 {
	t.Helper()
	if s := os.Getenv(faultSeqSeedEnv); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeqSeedEnv, s, err)
		}
		return []int64{seed}
	}
	count, base := faultSeqDefaultCount, int64(1)
	if s := os.Getenv(faultSeqCountEnv); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil || c < 1 {
			t.Fatalf("%s=%q: want a positive count", faultSeqCountEnv, s)
		}
		count = c
	}
	if s := os.Getenv(faultSeqBaseEnv); s != "" {
		b, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeqBaseEnv, s, err)
		}
		base = b
	}
	seeds := make([]int64, count)
	for i := range seeds {
		seeds[i] = base + int64(i)
	}
	return seeds
}

// seqKind is the RDMA flavour of a sequence's node; the seed picks it.
type seqKind int

const (
	seqHW seqKind = iota
	seqSoft
	seqNoRDMA
	seqKinds
)

func (k seqKind) opts() nodeOpts {
	o := nodeOpts{vfs: seqVFs}
	switch k {
	case seqHW:
		o.hwRDMA = true
	case seqSoft:
		o.softRDMA = true
	}
	return o
}

func (k seqKind) String() string { return [...]string{"hw-rdma", "soft-rdma", "no-rdma"}[k] }

// TestFaultSequences runs the sequences. Nodes are reused between
// sequences: a sequence that passes leaves its node exactly at baseline
// (that is what it asserts), so the next one starts as on a fresh node. A
// node whose sequence failed is thrown away.
func TestFaultSequences(t *testing.T) {
	needRoot(t)
	seeds := faultSeqSeeds(t)
	t.Logf("%d sequences, seeds %d..%d (replay one with %s=<seed>)", len(seeds), seeds[0], seeds[len(seeds)-1], faultSeqSeedEnv)
	pool := map[seqKind]*seqNode{}
	var stats seqStats
	start := time.Now()
	for _, seed := range seeds {
		rng := rand.New(rand.NewSource(seed))
		kind := seqKind(rng.Intn(int(seqKinds)))
		if pool[kind] == nil {
			pool[kind] = newSeqNode(t, kind)
		}
		sn := pool[kind]
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := &faultSeq{t: t, seed: seed, rng: rng, sn: sn, n: sn.n, kind: kind}
			defer stats.add(&s.stats)
			s.run()
		})
		if !ok {
			pool[kind] = nil // left as the failure found it
		}
	}
	t.Logf("%d sequences in %s: %s", len(seeds), time.Since(start).Round(time.Millisecond), stats)
}

type seqStats struct {
	ops, faulted, fired, crashes, delRetries, opErrors int
}

func (s *seqStats) add(o *seqStats) {
	s.ops += o.ops
	s.faulted += o.faulted
	s.fired += o.fired
	s.crashes += o.crashes
	s.delRetries += o.delRetries
	s.opErrors += o.opErrors
}

func (s seqStats) String() string {
	return fmt.Sprintf("%d ops, %d armed with a fault, %d faults fired (%d crashes), %d failed ops, %d DEL retries",
		s.ops, s.faulted, s.fired, s.crashes, s.opErrors, s.delRetries)
}

// seqNode is a test node whose dependencies are wrapped by seqFaults, and
// its baseline.
type seqNode struct {
	n    *node
	f    *seqFaults
	base seqBaseline
	// pods outlive sequences too: each sequence ends with them empty.
	pods []*pod
	// devinfo holds the device-info files ADD is asked to write.
	devinfo string
}

type seqBaseline struct {
	host  map[string]linkState
	index []int // ifindex of VF i's netdev
	vfs   []vf.State
	rdma  string
}

func newSeqNode(t *testing.T, kind seqKind) *seqNode {
	n := newNode(t, kind.opts())
	f := &seqFaults{}
	n.p.Links = seqLinks{n.p.Links, f}
	n.p.RDMA = seqRDMA{n.p.RDMA, f}
	n.p.IPAM = seqIPAM{n.p.IPAM, f}
	n.p.Addr = seqAddr{n.p.Addr, f}
	n.p.Fault = f.fault
	// A lock held past an op is a bug the invariants catch; no need to wait.
	n.p.LockWait = 300 * time.Millisecond
	inner := n.vfs.FailAt
	n.vfs.FailAt = func(call string) error {
		if err := f.hit(streamMain, "vf "+call); err != nil {
			return err
		}
		return inner(call)
	}
	sn := &seqNode{n: n, f: f, devinfo: t.TempDir()}
	sn.base.host = links(t, n.host)
	for i := 0; i < seqVFs; i++ {
		l, ok := sn.base.host[fmt.Sprintf("vf%d", i)]
		if !ok {
			t.Fatalf("vf%d missing from the new node", i)
		}
		sn.base.index = append(sn.base.index, l.Index)
		sn.base.vfs = append(sn.base.vfs, n.vfs.State("pf0", i))
	}
	sn.base.rdma = n.rdma.dump()
	for i := 0; i < seqPods; i++ {
		sn.pods = append(sn.pods, n.newPod(fmt.Sprintf("pod%d", i)))
	}
	return sn
}

// Injection streams. IPAM ADD runs on its own goroutine beside the kernel
// work, so its calls are counted apart from the rest: the call an armed
// fault hits then depends on the seed only, not on scheduling.
const (
	streamMain = "main"
	streamIPAM = "ipam-add"
)

// seqFaults fails, per op, the calls numbered in at (one or two calls of
// one stream), or crashes the verb at a fault point. Two failures in one op
// reach what one cannot: a rollback or a restore that fails too.
type seqFaults struct {
	mu      sync.Mutex
	stream  string
	at      []int
	crashAt string
	counts  map[string]int
	fired   []string
	// ipam counts IPAM ADDs started and not finished: a crashed ADD leaves
	// its IPAM goroutine running, as a killed plugin leaves its IPAM child.
	ipam sync.WaitGroup
}

func (f *seqFaults) arm(stream string, at []int, crashAt string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stream, f.at, f.crashAt, f.fired = stream, at, crashAt, nil
	f.counts = map[string]int{}
}

func (f *seqFaults) disarm() { f.arm("", nil, "") }

// firedCalls names the injected failures that happened, "" for none.
func (f *seqFaults) firedCalls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.fired, "; ")
}

func (f *seqFaults) hit(stream, op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts == nil {
		f.counts = map[string]int{}
	}
	f.counts[stream]++
	if f.stream == stream && slices.Contains(f.at, f.counts[stream]) {
		f.fired = append(f.fired, fmt.Sprintf("%s (%s call %d)", op, stream, f.counts[stream]))
		return fmt.Errorf("%s: %w", op, errInjected)
	}
	return nil
}

func (f *seqFaults) fault(point string) {
	f.mu.Lock()
	crashNow := f.crashAt == point
	if crashNow {
		f.crashAt = ""
		f.fired = append(f.fired, "crash at "+point)
	}
	f.mu.Unlock()
	if crashNow {
		panic(crash{})
	}
	if point == "add:ipam" {
		f.ipam.Add(1) // the IPAM goroutine starts right after this point
	}
}

type seqLinks struct {
	Links
	f *seqFaults
}

func (l seqLinks) Get(in ns.NetNS, name string) (a netdev.Attrs, err error) {
	if err := l.f.hit(streamMain, "link-get "+name); err != nil {
		return a, err
	}
	return l.Links.Get(in, name)
}

func (l seqLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	if err := l.f.hit(streamMain, "link-move "+name+" "+newName); err != nil {
		return netdev.Attrs{}, err
	}
	return l.Links.MoveRename(from, name, to, newName)
}

func (l seqLinks) Rename(in ns.NetNS, name, newName string) error {
	if err := l.f.hit(streamMain, "link-rename "+name+" "+newName); err != nil {
		return err
	}
	return l.Links.Rename(in, name, newName)
}

func (l seqLinks) SetMAC(in ns.NetNS, name string, mac net.HardwareAddr) error {
	if err := l.f.hit(streamMain, "link-mac "+name); err != nil {
		return err
	}
	return l.Links.SetMAC(in, name, mac)
}

func (l seqLinks) SetMTU(in ns.NetNS, name string, mtu int) error {
	if err := l.f.hit(streamMain, "link-mtu "+name); err != nil {
		return err
	}
	return l.Links.SetMTU(in, name, mtu)
}

func (l seqLinks) SetUp(in ns.NetNS, name string, up bool) error {
	if err := l.f.hit(streamMain, "link-up "+name); err != nil {
		return err
	}
	return l.Links.SetUp(in, name, up)
}

type seqRDMA struct {
	RDMA
	f *seqFaults
}

func (r seqRDMA) NetnsMode() (string, error) {
	if err := r.f.hit(streamMain, "rdma-mode"); err != nil {
		return "", err
	}
	return r.RDMA.NetnsMode()
}

func (r seqRDMA) Exists(in ns.NetNS, name string) (bool, error) {
	if err := r.f.hit(streamMain, "rdma-exists "+name); err != nil {
		return false, err
	}
	return r.RDMA.Exists(in, name)
}

func (r seqRDMA) Move(name string, from, to ns.NetNS) error {
	if err := r.f.hit(streamMain, "rdma-move "+name); err != nil {
		return err
	}
	return r.RDMA.Move(name, from, to)
}

func (r seqRDMA) AddSoft(in ns.NetNS, name, typ, netdevName string) error {
	if err := r.f.hit(streamMain, "rdma-add "+name); err != nil {
		return err
	}
	return r.RDMA.AddSoft(in, name, typ, netdevName)
}

func (r seqRDMA) DelSoft(in ns.NetNS, name string) error {
	if err := r.f.hit(streamMain, "rdma-del "+name); err != nil {
		return err
	}
	return r.RDMA.DelSoft(in, name)
}

func (r seqRDMA) RoCEv2GIDIndex(in ns.NetNS, dev string, ips []net.IP, wait time.Duration) (int, error) {
	if err := r.f.hit(streamMain, "rdma-gid "+dev); err != nil {
		return -1, err
	}
	return r.RDMA.RoCEv2GIDIndex(in, dev, ips, wait)
}

type seqIPAM struct {
	IPAM
	f *seqFaults
}

func (i seqIPAM) Add(ctx context.Context, c ipam.Call) (types.Result, error) {
	defer i.f.ipam.Done()
	if err := i.f.hit(streamIPAM, "ipam-add "+attKey(c)); err != nil {
		return nil, err
	}
	return i.IPAM.Add(ctx, c)
}

func (i seqIPAM) Del(ctx context.Context, c ipam.Call) error {
	if err := i.f.hit(streamMain, "ipam-del "+attKey(c)); err != nil {
		return err
	}
	return i.IPAM.Del(ctx, c)
}

func (i seqIPAM) Check(ctx context.Context, c ipam.Call) error {
	if err := i.f.hit(streamMain, "ipam-check "+attKey(c)); err != nil {
		return err
	}
	return i.IPAM.Check(ctx, c)
}

func (i seqIPAM) GC(ctx context.Context, c ipam.Call) error {
	if err := i.f.hit(streamMain, "ipam-gc"); err != nil {
		return err
	}
	return i.IPAM.GC(ctx, c)
}

type seqAddr struct {
	Addressing
	f *seqFaults
}

func (a seqAddr) Configure(in ns.NetNS, ifName string, res *current.Result) error {
	if err := a.f.hit(streamMain, "addr-configure "+ifName); err != nil {
		return err
	}
	return a.Addressing.Configure(in, ifName, res)
}

func (a seqAddr) Addrs(in ns.NetNS, ifName string) ([]net.IPNet, error) {
	if err := a.f.hit(streamMain, "addr-list "+ifName); err != nil {
		return nil, err
	}
	return a.Addressing.Addrs(in, ifName)
}

// faultSeq is one sequence: its seed, its random source, its pods and the
// model of what the runtime knows about each pod.
type faultSeq struct {
	t     *testing.T
	seed  int64
	rng   *rand.Rand
	sn    *seqNode
	n     *node
	kind  seqKind
	pods  []*seqPod
	trace []string
	stats seqStats
	// world is the node as the last op left it.
	world *seqWorld
}

type seqPod struct {
	*pod
	// conf is the netconf of the pod's last ADD (the one DEL is sent with).
	conf []byte
	vf   int
	// needsDel: an ADD was sent and no DEL has exited 0 since; the runtime
	// sends no other ADD for this attachment until one does.
	needsDel bool
	// live is the result of an ADD that succeeded, while nothing that
	// may undo it (a DEL or GC of this pod, another ADD of it) has run.
	live *current.Result
	// last is the latest result this pod got, live or not, for CHECK.
	last *current.Result
}

func (s *faultSeq) fatalf(format string, a ...any) {
	s.t.Helper()
	s.t.Fatalf("seed=%d (%s node; replay: %s=%d)\n%s\nops:\n  %s", s.seed, s.kind, faultSeqSeedEnv, s.seed,
		fmt.Sprintf(format, a...), strings.Join(s.trace, "\n  "))
}

func (s *faultSeq) logf(format string, a ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, a...))
}

func (s *faultSeq) run() {
	s.t.Logf("seed=%d node=%s", s.seed, s.kind)
	n := s.n
	n.t = s.t
	n.ipam.mu.Lock()
	n.ipam.next = 0
	n.ipam.calls = nil
	n.ipam.mu.Unlock()
	n.inj.reset(0, "")
	n.vfs.ResetCalls()
	if err := os.Truncate(n.logFile, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Fatal(err)
	}
	s.sn.f.disarm()
	for _, p := range s.sn.pods {
		s.pods = append(s.pods, &seqPod{pod: p, vf: -1})
	}
	s.checkAtBaseline("start")
	ops := 10 + s.rng.Intn(11)
	for i := 0; i < ops; i++ {
		s.step(i)
	}
	// The runtime deletes every pod in the end; none of those DELs may fail.
	s.sn.f.disarm()
	for _, p := range s.pods {
		conf := p.conf
		if conf == nil {
			conf = n.conf(0, nil)
		}
		if err := n.del(p.pod, conf); err != nil {
			s.fatalf("final DEL of %s: %v", p.id, err)
		}
		s.logf("final DEL %s: ok", p.id)
	}
	s.checkAtBaseline("end")
}

// step picks an op, maybe arms a fault, runs the op and checks what must
// hold whatever happened.
func (s *faultSeq) step(i int) {
	if s.world == nil {
		w := s.observe()
		s.world = &w
	}
	op := s.pickOp()
	fault := s.pickFault(op)
	s.stats.ops++
	if fault != "" {
		s.stats.faulted++
	}
	before := *s.world
	var err error
	switch op.verb {
	case "ADD":
		err = s.doAdd(op, fault)
	case "DEL":
		err = s.doDel(op, fault)
	case "CHECK":
		err = s.doCheck(op, fault, before)
	case "GC":
		err = s.doGC(op, fault)
	}
	if err != nil {
		s.stats.opErrors++
	}
	after := s.observe()
	s.world = &after
	s.checkIsolation(op, before, after)
	s.checkInvariants(fmt.Sprintf("after op %d (%s)", i, op), after)
}

type seqOp struct {
	verb  string
	pod   int
	vf    int
	extra map[string]any
	valid []int
	retry bool
}

func (o seqOp) String() string {
	switch o.verb {
	case "ADD":
		r := ""
		if o.retry {
			r = " (retry)"
		}
		b, _ := json.Marshal(o.extra)
		return fmt.Sprintf("ADD pod%d vf%d %s%s", o.pod, o.vf, b, r)
	case "GC":
		return fmt.Sprintf("GC valid=%v", o.valid)
	}
	return fmt.Sprintf("%s pod%d", o.verb, o.pod)
}

func (s *faultSeq) pickOp() seqOp {
	r := s.rng.Intn(100)
	pi := s.rng.Intn(seqPods)
	p := s.pods[pi]
	switch {
	case r < 40:
		// A new ADD only for a pod the runtime has nothing pending for;
		// a pod waiting for DEL may see its ADD retried (the same VF).
		if p.needsDel {
			if s.rng.Intn(4) == 0 {
				return seqOp{verb: "ADD", pod: pi, vf: p.vf, extra: s.lastExtra(p), retry: true}
			}
			return seqOp{verb: "DEL", pod: pi}
		}
		return seqOp{verb: "ADD", pod: pi, vf: s.rng.Intn(seqVFs), extra: s.randomExtra()}
	case r < 70:
		return seqOp{verb: "DEL", pod: pi}
	case r < 85:
		if p.last == nil {
			return seqOp{verb: "DEL", pod: pi}
		}
		return seqOp{verb: "CHECK", pod: pi}
	default:
		var valid []int
		for j := range s.pods {
			if s.rng.Intn(2) == 0 {
				valid = append(valid, j)
			}
		}
		return seqOp{verb: "GC", valid: valid}
	}
}

func (s *faultSeq) randomExtra() map[string]any {
	e := map[string]any{}
	if s.rng.Intn(3) == 0 {
		e["mac"] = fmt.Sprintf("02:00:00:00:%02x:%02x", s.rng.Intn(256), 1+s.rng.Intn(250))
	}
	if s.rng.Intn(3) == 0 {
		e["mtu"] = []int{1280, 1400, 9000}[s.rng.Intn(3)]
	}
	if s.rng.Intn(2) == 0 {
		e["vlan"] = 1 + s.rng.Intn(4094)
		if s.rng.Intn(3) == 0 {
			e["vlanQoS"] = s.rng.Intn(8)
		}
	}
	if s.rng.Intn(4) == 0 {
		e["trust"] = "on"
	}
	if s.rng.Intn(4) == 0 {
		e["spoofchk"] = "off"
	}
	if s.rng.Intn(4) == 0 {
		e["link_state"] = []string{"enable", "disable", "auto"}[s.rng.Intn(3)]
	}
	if s.rng.Intn(4) == 0 {
		e["max_tx_rate"] = 100 * (1 + s.rng.Intn(10))
	}
	if s.rng.Intn(3) == 0 {
		e["runtimeConfig"] = map[string]any{"CNIDeviceInfoFile": ""} // named per pod in doAdd
	}
	return e
}

// devinfoPath is where pod p's ADD is asked to write its device-info file.
func (s *faultSeq) devinfoPath(p *seqPod) string {
	return filepath.Join(s.sn.devinfo, p.id+"-"+p.ifname+".json")
}

func (s *faultSeq) lastExtra(p *seqPod) map[string]any {
	var c map[string]any
	_ = json.Unmarshal(p.conf, &c)
	for _, k := range []string{"cniVersion", "name", "type", "deviceID", "stateDir", "logFile", "logLevel", "ipam"} {
		delete(c, k)
	}
	return c
}

// pickFault arms at most one fault for the op: an error at a call of the
// main stream, an error of IPAM ADD, or a crash at a fault point.
func (s *faultSeq) pickFault(op seqOp) string {
	f := s.sn.f
	if s.rng.Float64() >= seqFaultP {
		f.disarm()
		return ""
	}
	r := s.rng.Intn(100)
	var points []string
	for _, p := range FaultPoints() {
		if (op.verb == "ADD" && strings.HasPrefix(p, "add:")) || ((op.verb == "DEL" || op.verb == "GC") && strings.HasPrefix(p, "del:")) {
			points = append(points, p)
		}
	}
	switch {
	case r < 15 && len(points) > 0:
		pt := points[s.rng.Intn(len(points))]
		f.arm("", nil, pt)
		return "crash at " + pt
	case r < 27 && op.verb == "ADD":
		f.arm(streamIPAM, []int{1}, "")
		return "IPAM ADD error"
	case r < 50:
		// A second failure a few calls later: in the rollback or the
		// rest of the restore the first one started.
		at := []int{1 + s.rng.Intn(seqMaxCall)}
		at = append(at, at[0]+1+s.rng.Intn(8))
		f.arm(streamMain, at, "")
		return fmt.Sprintf("errors at calls %d and %d", at[0], at[1])
	default:
		at := 1 + s.rng.Intn(seqMaxCall)
		f.arm(streamMain, []int{at}, "")
		return fmt.Sprintf("error at call %d", at)
	}
}

// settle is what the end of a verb's process means: an IPAM ADD it started
// has finished, and the locks it held are released (flock goes with the
// process; a verb crashed in the test leaves its lock file open).
func (s *faultSeq) settle() (fired string) {
	f := s.sn.f
	f.ipam.Wait()
	fired = f.firedCalls()
	f.disarm()
	if strings.Contains(fired, "crash at ") {
		s.stats.crashes++
		unlockLeaked(s.t, s.n.lockDir)
	}
	if fired != "" {
		s.stats.fired++
	}
	return fired
}

// unlockLeaked releases flocks held by open files under dir: what the kernel
// does when a crashed verb's process exits.
func unlockLeaked(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("list fds: %v", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || !strings.HasPrefix(target, dir+"/") {
			continue
		}
		_ = unix.Flock(fd, unix.LOCK_UN)
	}
}

func describeOutcome(err error, fired string) string {
	out := "ok"
	if err != nil {
		out = "error: " + err.Error()
	}
	if fired != "" {
		out += " [fault fired: " + fired + "]"
	}
	return out
}

func (s *faultSeq) doAdd(op seqOp, fault string) error {
	n, p := s.n, s.pods[op.pod]
	if _, ok := op.extra["runtimeConfig"]; ok {
		op.extra["runtimeConfig"] = map[string]any{"CNIDeviceInfoFile": s.devinfoPath(p)}
	}
	conf := n.conf(op.vf, op.extra)
	// What the plugin must do when no fault fires: take a VF nobody else
	// holds, refuse one another live attachment holds.
	free := s.vfFreeFor(op.vf, p)
	p.conf, p.vf, p.needsDel, p.live = conf, op.vf, true, nil
	res, err := n.add(p.pod, conf)
	fired := s.settle()
	s.logf("%s [armed: %s] -> %s", op, orNone(fault), describeOutcome(err, fired))
	if errors.Is(err, errCrashed) {
		return err
	}
	if err == nil {
		p.live, p.last = res, res
		if !free && fired == "" {
			s.fatalf("ADD pod%d vf%d succeeded while another live attachment holds the VF", op.pod, op.vf)
		}
		return nil
	}
	if fired == "" && free {
		s.fatalf("ADD pod%d vf%d failed with no fault injected and the VF free: %v", op.pod, op.vf, err)
	}
	if fired == "" && !strings.Contains(err.Error(), "busy") {
		s.fatalf("ADD of a held VF failed without saying busy: %v", err)
	}
	return err
}

// vfFreeFor: the VF's lock names no owner, or an owner whose journal is
// gone, or p's own attachment (a retried ADD).
func (s *faultSeq) vfFreeFor(i int, p *seqPod) bool {
	owner, ok := s.lockOwner(i)
	if !ok || owner == "" {
		return true
	}
	if owner == filepath.Join(s.n.stateDir, p.id+"-"+p.ifname+".json") {
		return true
	}
	_, err := os.Stat(owner)
	return errors.Is(err, os.ErrNotExist)
}

func (s *faultSeq) lockOwner(i int) (string, bool) {
	b, err := os.ReadFile(state.Locks{Dir: s.n.lockDir}.Path(s.n.vfAddr(i)))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		s.fatalf("read lock of vf%d: %v", i, err)
	}
	return strings.TrimSpace(string(b)), true
}

func (s *faultSeq) doDel(op seqOp, fault string) error {
	n, p := s.n, s.pods[op.pod]
	conf := p.conf
	if conf == nil {
		conf = n.conf(s.rng.Intn(seqVFs), nil)
	}
	p.live = nil
	err := n.del(p.pod, conf)
	fired := s.settle()
	s.logf("%s [armed: %s] -> %s", op, orNone(fault), describeOutcome(err, fired))
	if err == nil {
		p.needsDel = false
		return nil
	}
	if fired == "" {
		s.fatalf("DEL pod%d exited non-zero with no fault injected: %v", op.pod, err)
	}
	// The runtime retries a failed DEL; with the fault gone it must succeed.
	s.stats.delRetries++
	if rerr := n.del(p.pod, conf); rerr != nil {
		s.logf("  retry DEL pod%d -> error: %v", op.pod, rerr)
		s.fatalf("retried DEL of pod%d after %q failed: %v", op.pod, fired, rerr)
	}
	s.logf("  retry DEL pod%d -> ok", op.pod)
	p.needsDel = false
	return err
}

func (s *faultSeq) doCheck(op seqOp, fault string, before seqWorld) error {
	n, p := s.n, s.pods[op.pod]
	err := n.check(p.pod, p.conf, p.last)
	fired := s.settle()
	s.logf("%s [armed: %s] -> %s", op, orNone(fault), describeOutcome(err, fired))
	if p.live != nil && err != nil && fired == "" {
		s.fatalf("CHECK of live attachment pod%d failed with no fault injected: %v", op.pod, err)
	}
	if d := before.diff(s.observe()); d != "" {
		s.fatalf("CHECK changed the node:\n%s", d)
	}
	return err
}

func (s *faultSeq) doGC(op seqOp, fault string) error {
	n := s.n
	var valid []*pod
	for _, i := range op.valid {
		valid = append(valid, s.pods[i].pod)
	}
	for i, p := range s.pods {
		if !slices.Contains(op.valid, i) {
			p.live = nil
		}
	}
	err := n.gc(n.conf(0, nil), valid...)
	fired := s.settle()
	s.logf("%s [armed: %s] -> %s", op, orNone(fault), describeOutcome(err, fired))
	if err != nil && fired == "" {
		s.fatalf("GC failed with no fault injected: %v", err)
	}
	return err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// seqWorld is what the invariants look at: where each VF's netdev is, every
// netns's links, the PF-side state, the RDMA devices, the addresses, the
// journals and the lock files.
type seqWorld struct {
	Host     map[string]linkState
	Pods     []map[string]linkState
	Where    []string // VF i's netdev: "host:<name>", "pod<k>:<name>", "missing", or several
	VFs      []vf.State
	RDMA     string
	IPs      map[string]string
	Journals map[string]string // file name -> deviceID ("corrupt" when unreadable)
	Locks    map[string]string // VF address -> owner
	Files    []string
	DevInfo  []string // device-info files
}

func (s *faultSeq) observe() seqWorld {
	n, base := s.n, s.sn.base
	w := seqWorld{Host: links(s.t, n.host), RDMA: n.rdma.dump(), IPs: n.ipam.allocated(),
		Journals: map[string]string{}, Locks: map[string]string{}}
	for _, p := range s.pods {
		w.Pods = append(w.Pods, links(s.t, p.ns))
	}
	for i := 0; i < seqVFs; i++ {
		w.VFs = append(w.VFs, n.vfs.State("pf0", i))
		var at []string
		for name, l := range w.Host {
			if l.Index == base.index[i] {
				at = append(at, "host:"+name)
			}
		}
		for k, pl := range w.Pods {
			for name, l := range pl {
				if l.Index == base.index[i] {
					at = append(at, fmt.Sprintf("pod%d:%s", k, name))
				}
			}
		}
		sort.Strings(at)
		where := strings.Join(at, ",")
		if where == "" {
			where = "missing"
		}
		w.Where = append(w.Where, where)
	}
	ents, _ := os.ReadDir(n.stateDir)
	for _, e := range ents {
		w.Files = append(w.Files, "state/"+e.Name())
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rec, err := state.ReadFile(filepath.Join(n.stateDir, e.Name()))
		if err != nil {
			w.Journals[e.Name()] = "corrupt: " + err.Error()
			continue
		}
		w.Journals[e.Name()] = rec.DeviceID
	}
	ents, _ = os.ReadDir(n.lockDir)
	for _, e := range ents {
		w.Files = append(w.Files, "locks/"+e.Name())
		b, err := os.ReadFile(filepath.Join(n.lockDir, e.Name()))
		if err == nil {
			w.Locks[strings.TrimSuffix(e.Name(), ".lock")] = strings.TrimSpace(string(b))
		}
	}
	sort.Strings(w.Files)
	ents, _ = os.ReadDir(s.sn.devinfo)
	for _, e := range ents {
		w.DevInfo = append(w.DevInfo, e.Name())
	}
	return w
}

func (w seqWorld) diff(o seqWorld) string {
	if reflect.DeepEqual(w, o) {
		return ""
	}
	a, _ := json.MarshalIndent(w, "", " ")
	b, _ := json.MarshalIndent(o, "", " ")
	return fmt.Sprintf("before:\n%s\nafter:\n%s", a, b)
}

// checkInvariants: what must hold after every op, whatever failed.
//   - Every VF netdev is in exactly one place: the host or one pod.
//   - A VF in a pod is that pod's CNI_IFNAME, journalled by that pod's
//     attachment, and its lock names that journal as the owner.
//   - A VF no journal mentions is fully restored: home under its name with
//     its MAC, MTU and state, PF-side settings and RDMA device as at the
//     start, no lock file.
//   - Every address IPAM holds belongs to an attachment with a journal.
//   - Nothing but journals and lock files in the two directories; no
//     corrupt journal.
func (s *faultSeq) checkInvariants(when string, w seqWorld) {
	n, base := s.n, s.sn.base
	journalled := map[string][]string{}
	for file, dev := range w.Journals {
		if strings.HasPrefix(dev, "corrupt") {
			s.fatalf("%s: journal %s is %s", when, file, dev)
		}
		journalled[dev] = append(journalled[dev], file)
	}
	for i := 0; i < seqVFs; i++ {
		addr := n.vfAddr(i)
		where := w.Where[i]
		if where == "missing" || strings.Contains(where, ",") {
			s.fatalf("%s: vf%d netdev is at %q, want exactly one place", when, i, where)
		}
		if strings.HasPrefix(where, "pod") {
			k, _ := strconv.Atoi(where[3:strings.Index(where, ":")])
			p := s.pods[k]
			if where != fmt.Sprintf("pod%d:%s", k, p.ifname) {
				s.fatalf("%s: vf%d is in pod%d under a name other than %s: %s", when, i, k, p.ifname, where)
			}
			file := p.id + "-" + p.ifname + ".json"
			if w.Journals[file] != addr {
				s.fatalf("%s: vf%d is in pod%d but pod%d's journal names %q", when, i, k, k, w.Journals[file])
			}
			if owner := w.Locks[addr]; owner != filepath.Join(n.stateDir, file) {
				s.fatalf("%s: vf%d is in pod%d but its lock names owner %q", when, i, k, owner)
			}
		}
		if len(journalled[addr]) > 1 {
			s.fatalf("%s: vf%d is in %d journals: %v", when, i, len(journalled[addr]), journalled[addr])
		}
		if len(journalled[addr]) == 0 {
			name := fmt.Sprintf("vf%d", i)
			if where != "host:"+name {
				s.fatalf("%s: vf%d has no journal but its netdev is at %s", when, i, where)
			}
			if got, want := w.Host[name], base.host[name]; got != want {
				s.fatalf("%s: vf%d has no journal but is not restored: %+v, want %+v", when, i, got, want)
			}
			if got, want := w.VFs[i], base.vfs[i]; got != want {
				s.fatalf("%s: vf%d has no journal but its PF-side state is %+v, want %+v", when, i, got, want)
			}
			if owner, ok := w.Locks[addr]; ok {
				s.fatalf("%s: vf%d has no journal but a lock file naming %q", when, i, owner)
			}
			for _, dev := range strings.Fields(base.rdma) {
				if !strings.Contains(dev, "@") {
					continue
				}
				name := dev[:strings.Index(dev, "@")]
				if name == fmt.Sprintf("mlx5_%d", i) || name == fmt.Sprintf("rxe%d", i) {
					if got := n.rdma.where(name, nil); got != "host" {
						s.fatalf("%s: vf%d has no journal but its RDMA device %s is %s", when, i, name, got)
					}
				}
			}
		}
	}
	for key := range w.IPs {
		file := strings.Replace(key, "/", "-", 1) + ".json"
		if _, ok := w.Journals[file]; !ok {
			s.fatalf("%s: IPAM holds %s for %s, which has no journal (leaked address)", when, w.IPs[key], key)
		}
	}
	for _, f := range w.Files {
		if strings.Contains(f, ".tmp-") {
			s.fatalf("%s: temporary file left: %s", when, f)
		}
	}
	for _, f := range w.DevInfo {
		if _, ok := w.Journals[f]; !ok {
			s.fatalf("%s: device-info file %s left for an attachment without a journal", when, f)
		}
	}
}

// checkIsolation: an op on other attachments never touches a live one (a
// pod whose ADD succeeded and that no DEL, GC or ADD of its own has hit
// since): its links in the pod and its VF's PF-side state are unchanged.
func (s *faultSeq) checkIsolation(op seqOp, before, after seqWorld) {
	for k, p := range s.pods {
		if p.live == nil || (op.verb != "GC" && op.pod == k) {
			continue
		}
		if !reflect.DeepEqual(before.Pods[k], after.Pods[k]) {
			s.fatalf("%s changed live pod%d's links: %v -> %v", op, k, before.Pods[k], after.Pods[k])
		}
		if before.VFs[p.vf] != after.VFs[p.vf] {
			s.fatalf("%s reconfigured live pod%d's vf%d: %+v -> %+v", op, k, p.vf, before.VFs[p.vf], after.VFs[p.vf])
		}
		if ip := before.IPs[p.id+"/"+p.ifname]; ip == "" || after.IPs[p.id+"/"+p.ifname] != ip {
			s.fatalf("%s changed live pod%d's address: %q -> %q", op, k, ip, after.IPs[p.id+"/"+p.ifname])
		}
	}
}

// checkAtBaseline: the node is exactly as built: every VF home and as it
// was, RDMA devices home, no address, empty state and lock directories,
// nothing but lo in the pods.
func (s *faultSeq) checkAtBaseline(when string) {
	w := s.observe()
	base := s.sn.base
	if !reflect.DeepEqual(w.Host, base.host) {
		s.fatalf("%s: host links %v, want %v", when, w.Host, base.host)
	}
	for i := range w.VFs {
		if w.VFs[i] != base.vfs[i] {
			s.fatalf("%s: vf%d PF-side state %+v, want %+v", when, i, w.VFs[i], base.vfs[i])
		}
	}
	if w.RDMA != base.rdma {
		s.fatalf("%s: RDMA devices %q, want %q", when, w.RDMA, base.rdma)
	}
	if len(w.IPs) != 0 {
		s.fatalf("%s: IPAM still holds %v", when, w.IPs)
	}
	if len(w.Files) != 0 {
		s.fatalf("%s: state and lock directories not empty: %v", when, w.Files)
	}
	if len(w.DevInfo) != 0 {
		s.fatalf("%s: device-info files left: %v", when, w.DevInfo)
	}
	for k, pl := range w.Pods {
		if len(pl) != 1 {
			s.fatalf("%s: pod%d has links %v, want only lo", when, k, pl)
		}
	}
}
