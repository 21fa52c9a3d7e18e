package sriovrdma

// The fault-sequence engine: the plan that arms one fault per op (seqFaults),
// the sequence that runs ops and checks after each (faultSeq), and what the
// end of a verb's process means (settle).

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"
)

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

// call counts c in its stream and fails it when the op is armed for its
// number. IPAM ADD is the stream of its own (see streamIPAM); settle waits
// for it to return.
func (f *seqFaults) call(c depCall, run func() error) error {
	stream := streamMain
	if strings.HasPrefix(c.op, "ipam-add ") {
		stream = streamIPAM
		defer f.ipam.Done()
	}
	if err := f.hit(stream, c.op); err != nil {
		return err
	}
	return run()
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
	n.inj.reset("")
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
