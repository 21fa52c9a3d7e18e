package main

// Parallel stress (`make stress`). The shipped binary
// under cnitool, on a node of 64 VFs: each round makes 64 pods, starts 64
// ADDs at once (every pod its own VF, the pairing shuffled each round, so
// every VF passes through many pods), then 64 DELs at once. After each
// round: no error, every pod held exactly the VF it asked for and no two
// pods one VF, then nothing leaked: VFs home as they began, no address held,
// journal and lock directories empty, no interface name left over, no pod
// netns mount, no netns fd, no plugin or IPAM process. Then the same-VF
// race: two pods ADD one VF at the same moment; one wins, the other gets a
// clear busy error, the loser's DEL leaves the winner alone.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	stressVFs  = 64
	stressNet  = "stress"
	raceNet    = "stress-race"
	maxErrList = 5 // errors listed per round; the count says the rest
)

type stress struct {
	l    *Lane
	mu   sync.Mutex
	add  []time.Duration // each ADD, as the runtime waited for it
	del  []time.Duration
	addW []time.Duration // each round's ADD phase, first start to last end
	delW []time.Duration
	ops  int
	errs int

	raceWins    [2]int // which of the two racing pods won
	raceLosers  []time.Duration
	hostNames   []string // link names on the host and in the fabric at the start
	fabricNames []string
	mounts      []string // nsfs mounts at the start
	fds         []string // netns fds of this driver at the start
}

func stressMode(l *Lane, args []string) int {
	rounds, races := 20, 20
	err := modeFlags("stress", args, func(fs *flag.FlagSet) {
		fs.IntVar(&rounds, "rounds", rounds, "rounds of 64 concurrent ADDs then 64 concurrent DELs")
		fs.IntVar(&races, "races", races, "same-VF races of two pods")
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	st := &stress{l: l}
	if err := st.setUp(); err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		return 1
	}
	s := newSuite(l, fmt.Sprintf("parallel stress: %d rounds of %d concurrent ADDs then DELs over %d VFs; %d same-VF races", rounds, len(l.vfs), len(l.vfs), races))
	for r := 1; r <= rounds; r++ {
		what := fmt.Sprintf("%d concurrent ADDs then %d DELs: no error, one pod per VF, nothing leaked", len(l.vfs), len(l.vfs))
		if !s.run(tcase{name: fmt.Sprintf("round %d", r), what: what, run: func(t *T) { st.round(t, r) }}) {
			return s.finish()
		}
	}
	for i := 1; i <= races; i++ {
		v := l.vfs[(i-1)%len(l.vfs)]
		what := "two pods ADD " + v.netdev + " at once: one wins, the other is told busy, the loser's DEL leaves the winner alone"
		if !s.run(tcase{name: fmt.Sprintf("race %d", i), what: what, run: func(t *T) { st.race(t, i, v) }}) {
			return s.finish()
		}
	}
	s.figure("rounds %d x %d pods: %d ADD+DEL operations, %d errors", rounds, len(l.vfs), st.ops, st.errs)
	s.figure("ADD  (cnitool, as the runtime waits)  %s", latency(st.add))
	s.figure("DEL  (cnitool, as the runtime waits)  %s", latency(st.del))
	s.figure("ADD  (plugin's own total, from its log) %s", latency(l.pluginTotals(stressNet, "ADD")))
	s.figure("DEL  (plugin's own total, from its log) %s", latency(l.pluginTotals(stressNet, "DEL")))
	s.figure("ADD slowest steps, p50: %s", l.pluginSteps(stressNet, "ADD", 4))
	s.figure("DEL slowest steps, p50: %s", l.pluginSteps(stressNet, "DEL", 4))
	s.figure("round: %d ADDs done in %s, %d DELs in %s", len(l.vfs), latency(st.addW), len(l.vfs), latency(st.delW))
	if races > 0 {
		s.figure("races %d: first pod won %d, second %d; loser's busy answer %s", races, st.raceWins[0], st.raceWins[1], latency(st.raceLosers))
	}
	return s.finish()
}

func (st *stress) setUp() error {
	l := st.l
	for _, n := range []string{stressNet, raceNet} {
		if err := l.writeNet(l.netconf(n, "1.0.0", l.vfs[0], sharedNet), true); err != nil {
			return err
		}
	}
	host, err := l.links("")
	if err != nil {
		return err
	}
	fabric, err := l.links(fabricNS)
	if err != nil {
		return err
	}
	st.hostNames, st.fabricNames = names(host), names(fabric)
	// Pods are told apart by their VF's MAC: it must be unique.
	seen := map[string]string{}
	for _, v := range l.vfs {
		mac := strings.ToLower(l.baseline[v.netdev].MAC)
		if other, dup := seen[mac]; dup {
			return fmt.Errorf("VF netdevs %s and %s share MAC %s", other, v.netdev, mac)
		}
		seen[mac] = v.netdev
	}
	st.mounts, st.fds = nsMounts(), netnsFDs()
	return nil
}

// parallel runs f(0..n-1) in n goroutines released at one moment.
func parallel(n int, f func(i int)) time.Duration {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return time.Since(t0)
}

// makePods creates pod netns names in one ip batch; the case deletes them
// at cleanup (DELs first, should the round have failed half-way).
func (t *T) makePods(network string, names []string, vfOf func(i int) vfSpec) []*pod {
	pods := make([]*pod, len(names))
	var cmds []string
	for i, n := range names {
		pods[i] = newPodSpec(n)
		cmds = append(cmds, "netns add "+n)
	}
	if err := t.ipBatch("", cmds); err != nil {
		t.Fatalf("make pods: %v", err)
	}
	t.Cleanup(func() {
		var del []string
		for i, p := range pods {
			if _, err := os.Stat(p.netns); err == nil {
				// A runtime's DEL; harmless if the round already did it.
				t.cnitoolRun("del", network, p, "net1", deviceCap(vfOf(i)))
				del = append(del, "netns del "+p.name)
			}
		}
		if len(del) > 0 {
			if err := t.ipBatch("", del); err != nil {
				t.Errorf("delete pods: %v", err)
			}
		}
	})
	return pods
}

func (st *stress) round(t *T, r int) {
	n := len(t.vfs)
	perm := rand.Perm(n) // pod i asks for VF perm[i]
	vfOf := func(i int) vfSpec { return t.vfs[perm[i]] }
	podNames := make([]string, n)
	for i := range podNames {
		podNames[i] = fmt.Sprintf("st%d-%d", r, i)
	}
	pods := t.makePods(stressNet, podNames, vfOf)

	// 64 ADDs at once.
	adds := make([]result, n)
	took := make([]time.Duration, n)
	wall := parallel(n, func(i int) {
		t0 := time.Now()
		adds[i] = t.cnitoolRun("add", stressNet, pods[i], "net1", deviceCap(vfOf(i)))
		took[i] = time.Since(t0)
	})
	st.record(&st.add, &st.addW, took, wall)
	var errs []string
	holder := map[string]string{} // VF address -> pod
	for i, res := range adds {
		if !res.ok() {
			errs = append(errs, fmt.Sprintf("ADD %s (%s): %s", pods[i].name, vfOf(i).addr, res))
			continue
		}
		cr, err := parseResult(res.stdout)
		if err != nil || len(cr.Interfaces) != 1 {
			errs = append(errs, fmt.Sprintf("ADD %s: result %v %s", pods[i].name, err, oneLine(res.stdout)))
			continue
		}
		got := cr.Interfaces[0].PciID
		if got != vfOf(i).addr {
			errs = append(errs, fmt.Sprintf("ADD %s asked for VF %s, result says %s", pods[i].name, vfOf(i).addr, got))
		}
		if other, taken := holder[got]; taken {
			errs = append(errs, fmt.Sprintf("pods %s and %s both hold VF %s", other, pods[i].name, got))
		}
		holder[got] = pods[i].name
	}
	// What the pods hold, as the kernel sees it: VF i's netdev (told by
	// its MAC) as net1 in the pod that asked for it, and no VF on the host.
	errs = append(errs, st.heldAsAsked(t, pods, vfOf, adds)...)

	// 64 DELs at once.
	dels := make([]result, n)
	wall = parallel(n, func(i int) {
		t0 := time.Now()
		dels[i] = t.cnitoolRun("del", stressNet, pods[i], "net1", deviceCap(vfOf(i)))
		took[i] = time.Since(t0)
	})
	st.record(&st.del, &st.delW, took, wall)
	for i, res := range dels {
		if !res.ok() {
			errs = append(errs, fmt.Sprintf("DEL %s (%s): %s", pods[i].name, vfOf(i).addr, res))
		}
	}
	// Pods go, as kubelet removes sandboxes after DEL.
	var del []string
	for _, p := range pods {
		del = append(del, "netns del "+p.name)
	}
	if err := t.ipBatch("", del); err != nil {
		errs = append(errs, err.Error())
	}
	errs = append(errs, st.leaks(t)...)

	st.mu.Lock()
	st.ops += 2 * n
	st.errs += len(errs)
	st.mu.Unlock()
	for i, e := range errs {
		if i == maxErrList {
			t.Errorf("... %d errors in all", len(errs))
			break
		}
		t.Errorf("%s", e)
	}
}

func (st *stress) record(each, walls *[]time.Duration, took []time.Duration, wall time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	*each = append(*each, took...)
	*walls = append(*walls, wall)
}

// heldAsAsked checks every pod that got a result holds its own VF.
func (st *stress) heldAsAsked(t *T, pods []*pod, vfOf func(int) vfSpec, adds []result) []string {
	var errs []string
	var mu sync.Mutex
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, fmt.Sprintf(format, a...))
	}
	host, err := t.links("")
	if err != nil {
		return []string{err.Error()}
	}
	byMAC := map[string]string{}
	for _, v := range t.vfs {
		byMAC[strings.ToLower(t.baseline[v.netdev].MAC)] = v.addr
	}
	sem := make(chan struct{}, 8)
	parallel(len(pods), func(i int) {
		if !adds[i].ok() {
			return
		}
		sem <- struct{}{}
		defer func() { <-sem }()
		v := vfOf(i)
		if _, ok := host[v.netdev]; ok {
			fail("VF netdev %s is on the host while pod %s holds it", v.netdev, pods[i].name)
		}
		links, err := t.links(pods[i].name)
		if err != nil {
			fail("%v", err)
			return
		}
		k, ok := links["net1"]
		switch {
		case !ok:
			fail("pod %s has no net1", pods[i].name)
		case byMAC[strings.ToLower(k.MAC)] != v.addr:
			fail("pod %s asked for VF %s but its net1 (MAC %s) is VF %q", pods[i].name, v.addr, k.MAC, byMAC[strings.ToLower(k.MAC)])
		case !k.up() || len(k.ipv4()) != 1:
			fail("pod %s: net1 up=%v addresses %v", pods[i].name, k.up(), k.ipv4())
		}
	})
	return errs
}

// leaks lists what a round left behind beyond what runCase's baseline
// check looks at: interface names, netns mounts and fds, processes, the
// lock directory, ERROR records in the plugin's log.
func (st *stress) leaks(t *T) []string {
	var out []string
	for _, c := range []struct {
		ns   string
		want []string
	}{{"", st.hostNames}, {fabricNS, st.fabricNames}} {
		links, err := t.links(c.ns)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		if got := names(links); !slices.Equal(got, c.want) {
			out = append(out, fmt.Sprintf("link names in netns %q changed: %v, want %v", c.ns, got, c.want))
		}
	}
	if got := nsMounts(); !slices.Equal(got, st.mounts) {
		out = append(out, fmt.Sprintf("netns mounts %v, want %v", got, st.mounts))
	}
	if got := netnsFDs(); !slices.Equal(got, st.fds) {
		out = append(out, fmt.Sprintf("the driver holds netns fds %v, had %v", got, st.fds))
	}
	if left := t.waitStrays(2 * time.Second); len(left) > 0 {
		out = append(out, "processes left running: "+strings.Join(left, " "))
	}
	if files := stateFiles(t.stateDir); len(files) > 0 {
		out = append(out, "state or lock files left: "+strings.Join(files, " "))
	}
	if n := countLevel(t.logRecords(stressNet), "ERROR"); n > 0 {
		out = append(out, fmt.Sprintf("the plugin logged %d ERROR records for %s", n, stressNet))
	}
	return out
}

func countLevel(recs []logRecord, level string) int {
	return count(recs, func(r logRecord) bool { return r.Level == level })
}

// race: pods a and b ADD VF v at the same moment.
func (st *stress) race(t *T, i int, v vfSpec) {
	pods := t.makePods(raceNet, []string{fmt.Sprintf("ra%d", i), fmt.Sprintf("rb%d", i)}, func(int) vfSpec { return v })
	res := make([]result, 2)
	took := make([]time.Duration, 2)
	parallel(2, func(k int) {
		t0 := time.Now()
		res[k] = t.cnitoolRun("add", raceNet, pods[k], "net1", deviceCap(v))
		took[k] = time.Since(t0)
	})
	var w int
	switch {
	case res[0].ok() && res[1].ok():
		t.Fatalf("both pods got VF %s", v.addr)
	case !res[0].ok() && !res[1].ok():
		t.Fatalf("neither pod got VF %s:\n%s\n%s", v.addr, res[0], res[1])
	case res[1].ok():
		w = 1
	}
	winner, loser := pods[w], pods[1-w]
	st.mu.Lock()
	st.raceWins[w]++
	st.raceLosers = append(st.raceLosers, took[1-w])
	st.mu.Unlock()

	lr := res[1-w]
	if !strings.Contains(lr.output(), "busy") || !strings.Contains(lr.output(), podNamespace+"/"+winner.name) {
		t.Errorf("the loser's error does not say the VF is busy with %s/%s: %s", podNamespace, winner.name, lr)
	}
	wr, err := parseResult(res[w].stdout)
	if err != nil {
		t.Fatalf("winner's result: %v", err)
	}
	before := t.wantAttached(winner, "net1", wr)
	if !strings.EqualFold(before.MAC, t.baseline[v.netdev].MAC) {
		t.Errorf("the winner's net1 has MAC %s, not VF %s's %s", before.MAC, v.netdev, t.baseline[v.netdev].MAC)
	}
	t.podLacks(loser, "net1")

	// kubelet sends DEL after the failed ADD: it must succeed and leave
	// the winner's attachment exactly as it was.
	t.mustCNI("del", raceNet, loser, "net1", deviceCap(v))
	after := t.wantAttached(winner, "net1", wr)
	if d := after.diff(before); len(d) > 0 {
		t.Errorf("the loser's DEL changed the winner's net1: %s", strings.Join(d, ", "))
	}
	t.journalExists(winner, "net1", true)
	t.ipHeld(raceNet, wr.ip(), true)
	t.mustCNI("check", raceNet, winner, "net1", deviceCap(v))
	t.mustCNI("del", raceNet, winner, "net1", deviceCap(v))
	t.vfHome(v)
	t.stateEmpty()
}
