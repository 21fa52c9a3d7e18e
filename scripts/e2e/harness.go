package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// tcase is one named case of the lane.
type tcase struct {
	name string
	what string
	run  func(t *T)
}

// T is a case's view of the lane, in the style of testing.T: Errorf records
// a failure and goes on, Fatalf stops the case; cleanups run in reverse
// either way, then the runner checks that the node is as it began.
type T struct {
	*Lane
	name     string
	errs     []string
	cleanups []func()
	taken    map[string]bool // VFs this case took, by PCI address
}

// vfNeed is what a case needs of a VF of the lane's node.
type vfNeed int

const (
	// anyVF: a VF netdev and nothing else; plain VFs (no RDMA device) go
	// first, so a case that asks for nothing gets nothing else.
	anyVF vfNeed = iota
	// vfWithRDMA: a hardware RDMA device under its PCI function (mlx5_N).
	vfWithRDMA
	// vfWithAuxRDMA: an RDMA device under an auxiliary device of its
	// function, as mlx5 lays it out.
	vfWithAuxRDMA
)

// takeVF gives the case a VF it has not taken yet that has what it needs.
// Cases name VFs by what they need, never by number, so two VFs of one
// case cannot be the same and a new case cannot collide with a fixture
// detail. Cases run one at a time and leave every VF as they found it, so
// the next case may take the same VF again.
func (t *T) takeVF(need vfNeed) vfSpec {
	if t.taken == nil {
		t.taken = map[string]bool{}
	}
	for _, plainFirst := range []bool{true, false} {
		for _, v := range t.vfs {
			if t.taken[v.addr] || !v.has(need) || (need == anyVF && plainFirst && (v.rdma != "" || v.auxRDMA != "")) {
				continue
			}
			t.taken[v.addr] = true
			return v
		}
	}
	t.Fatalf("the node has no other VF with what this case needs (%d); add one in makeVFs", need)
	return vfSpec{}
}

func (v vfSpec) has(need vfNeed) bool {
	switch need {
	case vfWithRDMA:
		return v.rdma != ""
	case vfWithAuxRDMA:
		return v.auxRDMA != ""
	}
	return true
}

type fatal struct{}

func (t *T) Errorf(format string, a ...any) { t.errs = append(t.errs, fmt.Sprintf(format, a...)) }

func (t *T) Fatalf(format string, a ...any) {
	t.Errorf(format, a...)
	panic(fatal{})
}

func (t *T) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *T) Logf(format string, a ...any) {
	if t.verbose {
		fmt.Printf("    "+format+"\n", a...)
	}
}

// runCase runs c, its cleanups, and the node check; prints PASS or FAIL.
func (l *Lane) runCase(c tcase) bool {
	start := time.Now()
	t := &T{Lane: l, name: c.name}
	if l.verbose {
		fmt.Printf("=== %s: %s\n", c.name, c.what)
	}
	t.guard(func() { c.run(t) })
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.guard(t.cleanups[i])
	}
	if l.ctx.Err() != nil {
		// Whatever failed after the interrupt failed because of it.
		t.errs = []string{"interrupted"}
	} else if left := l.leftovers(); len(left) > 0 {
		t.Errorf("left behind: %s", strings.Join(left, "; "))
		if err := l.repair(); err != nil {
			t.Errorf("repair the node for the next case: %v", err)
		}
	}
	dur := time.Since(start).Round(time.Millisecond)
	if len(t.errs) == 0 {
		fmt.Printf("PASS %s: %s (%s)\n", c.name, c.what, dur)
		return true
	}
	fmt.Printf("FAIL %s: %s (%s)\n", c.name, t.errs[0], dur)
	for _, e := range t.errs[1:] {
		fmt.Printf("     %s\n", e)
	}
	return false
}

func (t *T) guard(f func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fatal); !ok {
				t.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}
	}()
	f()
}

// pod makes a pod netns, deleted at cleanup (the case may delete it first).
func (t *T) pod(name string) *pod {
	p, err := t.newPod(name)
	if err != nil {
		t.Fatalf("make pod netns %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(p.netns); err == nil {
			if err := t.ip("netns", "del", p.name); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return p
}

// net writes network name for VF v and returns the name. shared networks
// (several pods, several VFs) take the VF from runtimeConfig.deviceID, the
// deviceID capability, instead of a top-level deviceID.
func (t *T) net(name, version string, v vfSpec, set map[string]any, list bool) string {
	c := t.netconf(name, version, v, set)
	if err := t.writeNet(c, list); err != nil {
		t.Fatalf("write netconf %s: %v", name, err)
	}
	return name
}

var sharedNet = map[string]any{
	"deviceID": nil, "pciBusID": nil,
	"capabilities": map[string]any{"deviceID": true},
}

// deviceCap is CAP_ARGS giving VF v through the deviceID capability.
func deviceCap(v vfSpec) string { return `{"deviceID":"` + v.addr + `"}` }

// add runs cnitool add, stops the case if it fails, and registers the DEL.
func (t *T) add(network string, p *pod, ifname, capArgs string) *cniResult {
	r := t.cnitoolRun("add", network, p, ifname, capArgs)
	if !r.ok() {
		t.Fatalf("ADD %s of %s: %s", ifname, p.name, r)
	}
	t.Cleanup(func() {
		if r := t.cnitoolRun("del", network, p, ifname, capArgs); !r.ok() {
			t.Errorf("cleanup DEL %s of %s: %s", ifname, p.name, r)
		}
	})
	res, err := parseResult(r.stdout)
	if err != nil {
		t.Fatalf("ADD %s of %s: %v", ifname, p.name, err)
	}
	t.Logf("ADD %s of %s: %s", ifname, p.name, oneLine(r.stdout))
	return res
}

// twoPods attaches two pods, <name>-a on VF a and <name>-b on VF b, to one
// shared network (the VF comes through the deviceID capability, as Multus
// passes it); the pods are named after the network without "e2e-".
func (t *T) twoPods(name, version string, a, b vfSpec) (string, *pod, *pod, *cniResult, *cniResult) {
	net := t.net(name, version, a, sharedNet, true)
	short := strings.TrimPrefix(name, "e2e-")
	pa, pb := t.pod(short+"-a"), t.pod(short+"-b")
	return net, pa, pb, t.add(net, pa, "net1", deviceCap(a)), t.add(net, pb, "net1", deviceCap(b))
}

// mustCNI runs a cnitool verb that must succeed.
func (t *T) mustCNI(verb, network string, p *pod, ifname, capArgs string) result {
	r := t.cnitoolRun(verb, network, p, ifname, capArgs)
	if !r.ok() {
		t.Fatalf("%s: %s", strings.ToUpper(verb), r)
	}
	return r
}

// podLink is ifname inside the pod; the case stops if it is missing.
func (t *T) podLink(p *pod, ifname string) link {
	links, err := t.links(p.name)
	if err != nil {
		t.Fatalf("list links of %s: %v", p.name, err)
	}
	k, ok := links[ifname]
	if !ok {
		t.Fatalf("no %s in pod %s (it has %s)", ifname, p.name, strings.Join(names(links), " "))
	}
	return k
}

func (t *T) podLacks(p *pod, ifname string) {
	links, err := t.links(p.name)
	if err != nil {
		t.Errorf("list links of %s: %v", p.name, err)
		return
	}
	if _, ok := links[ifname]; ok {
		t.Errorf("%s is still in pod %s", ifname, p.name)
	}
}

// wantAttached checks the pod side of an attachment against its result.
func (t *T) wantAttached(p *pod, ifname string, res *cniResult) link {
	k := t.podLink(p, ifname)
	if len(res.Interfaces) > 0 && !strings.EqualFold(k.MAC, res.Interfaces[0].Mac) {
		t.Errorf("%s in %s has MAC %s, result says %s", ifname, p.name, k.MAC, res.Interfaces[0].Mac)
	}
	if !k.up() {
		t.Errorf("%s in %s is down", ifname, p.name)
	}
	if len(res.IPs) == 0 {
		t.Errorf("ADD result for %s has no IP", p.name)
	} else if !slices.Contains(k.ipv4(), res.IPs[0].Address) {
		t.Errorf("%s in %s has addresses %v, want %s", ifname, p.name, k.ipv4(), res.IPs[0].Address)
	}
	return k
}

// hostLacks: the VF netdev is not in the host namespace.
func (t *T) hostLacks(v vfSpec) {
	links, err := t.links("")
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if _, ok := links[v.netdev]; ok {
		t.Errorf("VF netdev %s is still in the host namespace", v.netdev)
	}
}

// vfHome: the VF netdev is back on the host with its original name, MAC,
// MTU and admin state.
func (t *T) vfHome(v vfSpec) {
	links, err := t.links("")
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	k, ok := links[v.netdev]
	if !ok {
		t.Errorf("VF netdev %s is not back in the host namespace", v.netdev)
		return
	}
	if d := k.diff(t.baseline[v.netdev]); len(d) > 0 {
		t.Errorf("VF netdev %s is back but not as it was: %s", v.netdev, strings.Join(d, ", "))
	}
}

// ipHeld checks host-local's reservation file <dataDir>/<network>/<ip>.
func (t *T) ipHeld(network, ip string, want bool) {
	_, err := os.Stat(filepath.Join(t.ipamDir, network, ip))
	switch {
	case want && err != nil:
		t.Errorf("host-local holds no %s for %s: %v", ip, network, err)
	case !want && err == nil:
		t.Errorf("host-local still holds %s for %s", ip, network)
	case !want && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("stat reservation %s: %v", ip, err)
	}
}

// noIPs: host-local holds nothing for network.
func (t *T) noIPs(network string) {
	if ips := t.heldIPs(network); len(ips) > 0 {
		t.Errorf("host-local still holds %s", strings.Join(ips, " "))
	}
}

func (t *T) journalExists(p *pod, ifname string, want bool) {
	_, err := os.Stat(t.journal(p, ifname))
	if want && err != nil {
		t.Errorf("no journal for %s of %s: %v", ifname, p.name, err)
	}
	if !want && err == nil {
		t.Errorf("journal %s is still there", filepath.Base(t.journal(p, ifname)))
	}
}

// stateEmpty: the plugin's state directory and the node's lock directory
// hold nothing.
func (t *T) stateEmpty() {
	if files := stateFiles(t.stateDir); len(files) > 0 {
		t.Errorf("stateDir is not empty: %s", strings.Join(files, " "))
	}
}

func (t *T) wantOutput(r result, subs ...string) {
	out := r.output()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output of `%s` lacks %q: %s", r.cmdline, s, oneLine(out))
		}
	}
}

func (t *T) ping(p *pod, dev, dst string) {
	start := time.Now()
	if err := ping(p.netns, dev, dst, 5*time.Second); err != nil {
		t.Errorf("%v", err)
	}
	t.Logf("ping %s from %s via %s: %s", dst, p.name, dev, since(start))
}

// logRecords are the records of the plugin's log for network.
func (t *T) logRecords(network string) []logRecord {
	recs, err := readLog(t.logFile(network))
	if err != nil {
		t.Errorf("read the plugin's log: %v", err)
	}
	return recs
}
