package sriovrdma

// The fault sequences' ops: how each is picked, and what the runtime may
// expect of each whether or not its fault fired.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

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
