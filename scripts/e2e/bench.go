package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The bench mode is `make bench` (issue 6): the plugin's cost on the lane's
// real kernel, side by side with what it replaces and with the floor of the
// work itself. scripts/bench.sh runs it twice: once on a PF with 8 VFs
// (`bench vfcount`: ADD latency only) and once on a PF with 256 VFs (`bench
// full`: every figure, the first run's latency read back with -ref), then
// prints the table this mode renders.
//
// Every plugin is exec'd directly, the way a runtime does (CNI_* in the
// environment, the netconf on stdin), timed from fork to exit by the
// driver: no cnitool in between, and the same method for every binary.
//
//	SRIOV_RDMA_BENCH_VFS=8 sriov-rdma-e2e -root R -work W bench vfcount -out DIR [-runs N]
//	sriov-rdma-e2e -root R -work W bench full -out DIR -floor BIN [-ref FILE] [-micro FILE]
//	    [-host-device BIN] [-copy FILE] [-since UNIX] [-runs N] [-rounds N] [-parallel N] [-settle D]

// benchVFsEnv sets the bench node's VF count: the node is built before the
// mode sees its arguments, so scripts/bench.sh says it in the environment.
const benchVFsEnv = "SRIOV_RDMA_BENCH_VFS"

const (
	benchFullVFs = 256 // the big PF of figure 3; the full run needs room for 64 VFs in parallel
	benchMinVFs  = 8

	// VFs of the full run. Odd VFs start down on the host and have no RDMA
	// entry in the lane's fixture, so ours and host-device move the same
	// kind of netdev from the same state.
	benchOursVF  = 1
	benchHDVF    = 3
	benchMoveVF  = 7
	benchParBase = 16 // the parallel VFs: benchParBase .. +parallel-1

	benchIfName = "net1"
)

// benchVFs is the bench node's VF count: 256 unless the environment asks
// for another count in [8, 256].
func benchVFs() int {
	n, err := strconv.Atoi(os.Getenv(benchVFsEnv))
	if err != nil || n < benchMinVFs || n > benchFullVFs {
		return benchFullVFs
	}
	return n
}

type benchOpts struct {
	phase      string
	out        string
	ref        string
	micro      string
	floor      string
	hostDevice string
	copyTo     string
	pair       string
	since      int64
	runs       int
	warm       int
	rounds     int
	parallel   int
	settle     time.Duration
}

func parseBenchArgs(l *Lane, args []string) (benchOpts, error) {
	o := benchOpts{}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return o, errors.New("usage: bench vfcount|full -out DIR [flags]")
	}
	o.phase = args[0]
	fs := flag.NewFlagSet("bench "+o.phase, flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "", "directory for results (kept)")
	fs.StringVar(&o.ref, "ref", "", "full: the vfcount run's results (figure 3's small PF)")
	fs.StringVar(&o.micro, "micro", "", "full: `go test -bench` output to include")
	fs.StringVar(&o.floor, "floor", "", "full: a static binary that only execs and exits")
	fs.StringVar(&o.hostDevice, "host-device", filepath.Join(l.root, ".tools", "bin", "host-device"), "full: the host-device plugin")
	fs.StringVar(&o.copyTo, "copy", "", "full: also write the markdown table here")
	fs.StringVar(&o.pair, "pair", "", "a directory shared with the other node's driver: figure 3's runs alternate with it")
	fs.Int64Var(&o.since, "since", 0, "full: when the caller started (Unix seconds), to print the whole run's time")
	fs.IntVar(&o.runs, "runs", 25, "measured runs per figure")
	fs.IntVar(&o.warm, "warm", 3, "unmeasured runs before each series")
	fs.IntVar(&o.rounds, "rounds", 3, "serial/parallel rounds of figure 4")
	fs.IntVar(&o.parallel, "parallel", 64, "ADDs in flight at once in figure 4")
	fs.DurationVar(&o.settle, "settle", 100*time.Millisecond, "pause between measured runs: the kernel tears namespaces down asynchronously")
	if err := fs.Parse(args[1:]); err != nil {
		return o, err
	}
	switch {
	case o.phase != "vfcount" && o.phase != "full":
		return o, fmt.Errorf("bench: unknown phase %q (vfcount or full)", o.phase)
	case o.out == "":
		return o, errors.New("bench: -out is required")
	case o.runs < 3 || o.rounds < 1 || o.parallel < 2:
		return o, errors.New("bench: -runs >= 3, -rounds >= 1, -parallel >= 2")
	case o.phase == "full" && l.nvfs < benchParBase+o.parallel:
		return o, fmt.Errorf("bench full: the node has %d VFs, figure 4 needs %d (%s)", l.nvfs, benchParBase+o.parallel, benchVFsEnv)
	}
	return o, nil
}

func runBench(l *Lane, args []string) int {
	o, err := parseBenchArgs(l, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	b := newBencher(l, o)
	defer b.dropPods()
	if err = l.journalsOnDisk(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if o.pair != "" {
		b.pair = &pairing{dir: o.pair, ctx: l.ctx, runs: o.runs, warm: o.warm}
		if o.phase == "full" {
			b.pair.role = 1
		}
		defer func() {
			if err != nil {
				b.pair.fail()
			}
		}()
	}
	if o.phase == "vfcount" {
		err = b.vfCount()
	} else {
		var failed int
		failed, err = b.full()
		if err == nil && failed > 0 {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		return 1
	}
	return 0
}

type bencher struct {
	*Lane
	o    benchOpts
	pair *pairing // nil: figure 3 runs alone
	env  []string
	seq  int
	pods map[string]*pod
}

func newBencher(l *Lane, o benchOpts) *bencher {
	return &bencher{Lane: l, o: o, env: cleanEnv(), pods: map[string]*pod{}}
}

// pod returns the named pod netns, made on first use. A sandbox outlives
// many attachments, as a pod's does across its containers' restarts; its
// creation is not part of any figure.
func (b *bencher) pod(name string) (*pod, error) {
	if p, ok := b.pods[name]; ok {
		return p, nil
	}
	p, err := b.newPod(name)
	if err != nil {
		return nil, err
	}
	b.pods[name] = p
	return p, nil
}

func (b *bencher) dropPods() {
	for name := range b.pods {
		_ = b.ip("netns", "del", name)
	}
	b.pods = map[string]*pod{}
}

// containerID is a fresh runtime-style ID (64 hex digits) per attachment.
func (b *bencher) containerID(tag string) string {
	b.seq++
	return fmt.Sprintf("%x", sha256.Sum256(fmt.Appendf(nil, "bench/%s/%d", tag, b.seq)))
}

// vfCount is the small PF's run: figure 3's ADD latency only, written for
// the full run to read back.
func (b *bencher) vfCount() error {
	fmt.Printf("bench: ADD latency on VF %d of a PF with %d VFs, %d runs\n", b.nvfs-1, b.nvfs, b.o.runs)
	res, err := b.addLatency()
	if err != nil {
		return err
	}
	file := filepath.Join(b.o.out, fmt.Sprintf("vfs%d.json", b.nvfs))
	if err := writeJSON(file, res); err != nil {
		return err
	}
	if err := b.keepLogs(); err != nil {
		return err
	}
	d := fromMillis(res.AddMS)
	fmt.Printf("bench: ADD p50 %s, p90 %s -> %s\n", fmtMS(d.p50()), fmtMS(d.p90()), file)
	return nil
}

// full is the big PF's run: every figure, with figure 3's small PF read
// back from -ref; it returns how many targets were missed.
func (b *bencher) full() (int, error) {
	rep := newReport(b.o.runs)
	if b.o.floor == "" {
		return 0, errors.New("bench full: -floor is required (scripts/bench.sh builds it)")
	}
	for _, f := range []string{b.o.hostDevice, b.o.floor} {
		if _, err := os.Stat(f); err != nil {
			return 0, fmt.Errorf("%w (scripts/bench.sh installs and builds it)", err)
		}
	}

	// Figure 3 first: with -pair, in turns with the small PF's driver.
	fmt.Printf("bench: [3] ADD latency on VF %d of a PF with %d VFs, %d runs\n", b.nvfs-1, b.nvfs, b.o.runs)
	big, err := b.addLatency()
	if err != nil {
		return 0, err
	}
	var small *addLatencies
	if b.o.ref != "" {
		var r addLatencies
		read := func() error { return readJSON(b.o.ref, &r) }
		if b.pair != nil {
			read = func() error { return b.pair.result(b.o.ref, &r) }
		}
		if err := read(); err != nil {
			return 0, fmt.Errorf("read the small PF's results: %w", err)
		}
		small = &r
	}

	fmt.Printf("bench: [1] ADD+DEL cycles, sriov-rdma and host-device interleaved, %d each\n", b.o.runs)
	ours, hd, err := b.figure1()
	if err != nil {
		return 0, err
	}
	fmt.Printf("bench: [2] the floor: exec-only binary, host-local ADD+DEL, netns moves, %d each\n", b.o.runs)
	fl, err := b.floorRuns()
	if err != nil {
		return 0, err
	}
	fmt.Printf("bench: [5] peak RSS of ADD without IPAM\n")
	alone, err := b.rssAlone()
	if err != nil {
		return 0, err
	}
	var sys *table
	if strace, err := exec.LookPath("strace"); err == nil {
		fmt.Printf("bench: [6] syscalls of one ADD and one DEL under strace (not timed)\n")
		if sys, err = b.syscalls(strace); err != nil {
			return 0, err
		}
	}
	fmt.Printf("bench: [4] %d ADDs and DELs, serial and parallel, %d rounds\n", b.o.parallel, b.o.rounds)
	par, err := b.figure4()
	if err != nil {
		return 0, err
	}

	// The records the plugin logged: figure 6.
	cycleRecs, err := readLog(b.logFile("bench-cycle"))
	if err != nil {
		return 0, err
	}
	parRecs, err := readLog(b.logFile("bench-par"))
	if err != nil {
		return 0, err
	}

	b.dropPods()
	left := b.leftovers()
	if err := b.keepLogs(); err != nil {
		return 0, err
	}

	rep.figures(ours, hd, fl, big, small, par, alone, b.plugin)
	rep.steps(cycleRecs, parRecs, ours, par)
	if sys != nil {
		rep.stepTables = append(rep.stepTables, *sys)
	}
	shown := left
	if len(left) > 3 {
		shown = append(slices.Clip(left[:3]), fmt.Sprintf("and %d more", len(left)-3))
	}
	rep.check("-", "the node as it began (VFs home, no journal, lock, address or netns left)",
		cmp.Or(strings.Join(shown, "; "), "clean"), "clean", len(left) == 0)
	if b.o.micro != "" {
		if err := rep.microBench(b.o.micro); err != nil {
			return 0, err
		}
	}

	return rep.failed, b.publish(rep)
}

// publish prints the report and writes it out: bench.md, bench.txt and
// results.json in -out, the markdown also to -copy.
func (b *bencher) publish(rep *report) error {
	md, txt := rep.markdown(), rep.text()
	fmt.Println()
	fmt.Print(txt)
	files := map[string]string{"bench.md": md, "bench.txt": txt}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(b.o.out, name), []byte(s), 0o644); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(b.o.out, "results.json"), rep.raw); err != nil {
		return err
	}
	fmt.Printf("\nmarkdown table: %s\n", filepath.Join(b.o.out, "bench.md"))
	if b.o.copyTo != "" {
		if err := os.WriteFile(b.o.copyTo, []byte(md), 0o644); err != nil {
			return err
		}
		fmt.Printf("for README's Performance section: %s\n", b.o.copyTo)
	}
	if b.o.since > 0 {
		fmt.Printf("make bench took %s\n", time.Since(time.Unix(b.o.since, 0)).Round(time.Second))
	}
	fmt.Printf("%d passed, %d failed\n", rep.passed, rep.failed)
	return nil
}

// keepLogs copies the plugin's log files next to the tables: the raw
// records behind figure 6 (the lane's scratch directory is removed on exit).
func (b *bencher) keepLogs() error {
	dir := filepath.Join(b.o.out, fmt.Sprintf("logs-%dvfs", b.nvfs))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(b.logDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(b.logDir, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// figure1 interleaves sriov-rdma and host-device cycles so both see the
// same machine; each moves an odd VF's veth (down on the host, no RDMA)

// timedRun is one process run: wall time from fork to reaped exit, and the
// peak RSS the kernel reports for it and the children it waited for.
type timedRun struct {
	wall   time.Duration
	maxRSS int64 // bytes
	r      result
}

func (b *bencher) exec(env []string, stdin []byte, name string) timedRun {
	ctx, cancel := context.WithTimeout(b.ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name)
	cmd.Env = append(slices.Clip(b.env), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t := timedRun{wall: time.Since(start)}
	t.r = result{cmdline: shellLine(env, name, nil), stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		t.r.code, t.r.err = ee.ExitCode(), err
	default:
		t.r.code, t.r.err = -1, err
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			t.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		}
	}
	return t
}

// cni execs a CNI plugin binary for one verb on pod p.
func (b *bencher) cni(bin, verb string, stdin []byte, p *pod, cid string) timedRun {
	return b.exec([]string{
		"CNI_COMMAND=" + verb,
		"CNI_CONTAINERID=" + cid,
		"CNI_NETNS=" + p.netns,
		"CNI_IFNAME=" + benchIfName,
		"CNI_ARGS=" + fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s", podNamespace, p.name, cid),
		"CNI_PATH=" + b.cniPath,
	}, stdin, bin)
}

// cycle is one ADD and its DEL of a fresh attachment on pod p. A failed ADD
// is still followed by its DEL, as a runtime does, so the node stays clean.
func (b *bencher) cycle(bin string, stdin []byte, p *pod, tag string) (add, del timedRun, cid string, err error) {
	cid = b.containerID(tag)
	add = b.cni(bin, "ADD", stdin, p, cid)
	del = b.cni(bin, "DEL", stdin, p, cid)
	switch {
	case !add.r.ok():
		err = fmt.Errorf("%s ADD: %s", filepath.Base(bin), add.r)
	case !del.r.ok():
		err = fmt.Errorf("%s DEL: %s", filepath.Base(bin), del.r)
	}
	return add, del, cid, err
}

// pause lets the kernel finish what the last run left it: a deleted netns
// (host-device makes and drops a temporary one per verb) is torn down
// later by the "netns" workqueue, under the RTNL lock every netlink request
// of the next run waits for. Each run starts on a quiet kernel, so no
// plugin pays for another's garbage.
func (b *bencher) pause() {
	select {
	case <-time.After(b.o.settle):
	case <-b.ctx.Done():
		return
	}
	_ = poll(2*time.Second, func() error {
		if netnsCleanupRunning() {
			return errors.New("netns cleanup running")
		}
		return nil
	})
}

// netnsCleanupRunning reports whether a kernel worker is running the netns
// workqueue now: a busy kworker's comm ends in "+<workqueue>".
func netnsCleanupRunning() bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && bytes.HasPrefix(comm, []byte("kworker/")) && bytes.HasSuffix(bytes.TrimSpace(comm), []byte("+netns")) {
			return true
		}
	}
	return false
}

// ourConf is the sriov-rdma netconf of network on VF v, logging its step
// timings at info, the level a node runs at.
func (b *bencher) ourConf(network string, v vfSpec, set map[string]any) ([]byte, error) {
	c := b.netconf(network, "1.0.0", v, map[string]any{"logLevel": "info"})
	for k, val := range set {
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
	}
	return json.Marshal(c)
}

// hostDeviceConf is host-device moving VF v's veth, with the same IPAM.
func (b *bencher) hostDeviceConf(network string, v vfSpec) ([]byte, error) {
	c := b.netconf(network, "1.0.0", v, nil)
	return json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": network, "type": "host-device",
		"device": v.netdev, "ipam": c["ipam"],
	})
}

// pairing lets figure 3's two drivers, each with its own node (a PF with
// 8 VFs, one with 256), take turns: run k is the small PF's when k is even,
// the big one's when odd. Interleaved, both see the same machine: other
// work on it shifts both series alike instead of biasing the ratio.
// Coordination is by files in a shared directory; a side that fails says so,
// and the other stops waiting.
type pairing struct {
	dir        string
	ctx        context.Context
	role       int // 0: small PF (vfcount), 1: big PF (full)
	runs, warm int
}

const (
	pairSetupTimeout = 3 * time.Minute  // the other node's set-up
	pairTurnTimeout  = 60 * time.Second // one run of the other side
)

func (p *pairing) path(name string, role int) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s-%d", name, role))
}

func (p *pairing) write(file, content string) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// fail tells the other side to stop waiting.
func (p *pairing) fail() { _ = p.write(p.path("failed", p.role), "failed\n") }

func (p *pairing) await(what string, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if _, err := os.Stat(p.path("failed", 1-p.role)); err == nil {
			return fmt.Errorf("the other node's bench run failed while this one waited for %s", what)
		}
		if p.ctx.Err() != nil {
			return p.ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the other node's bench run did not reach %s within %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ready says this side's node is up and waits for the other's, which must
// run the same number of turns.
func (p *pairing) ready() error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	mine := fmt.Sprintf("%d %d\n", p.runs, p.warm)
	if err := p.write(p.path("ready", p.role), mine); err != nil {
		return err
	}
	return p.await("its node set-up", pairSetupTimeout, func() (bool, error) {
		theirs, err := os.ReadFile(p.path("ready", 1-p.role))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if string(theirs) != mine {
			return false, fmt.Errorf("the other node runs %q (runs warm-ups), this one %q", strings.TrimSpace(string(theirs)), strings.TrimSpace(mine))
		}
		return true, nil
	})
}

// turn is the run whose turn it is: 0 before anyone has passed.
func (p *pairing) turn() int {
	b, err := os.ReadFile(filepath.Join(p.dir, "turn"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (p *pairing) wait(turn int) error {
	return p.await(fmt.Sprintf("run %d", turn), pairTurnTimeout, func() (bool, error) { return p.turn() == turn, nil })
}

func (p *pairing) pass(turn int) error {
	return p.write(filepath.Join(p.dir, "turn"), strconv.Itoa(turn+1)+"\n")
}

// result waits for the other side's figure 3 results.
func (p *pairing) result(file string, v any) error {
	return p.await("its results", pairTurnTimeout, func() (bool, error) {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return true, readJSON(file, v)
	})
}

// pairRole is this driver's side of figure 3: 0 when it runs alone.
func (b *bencher) pairRole() int {
	if b.pair == nil {
		return 0
	}
	return b.pair.role
}

// writeJSON writes v whole or not at all: the other driver of figure
// 3 reads the file as soon as it exists.
func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file+".tmp", append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// The runs behind the figures, in the order full takes them: 3 (ADD
// latency, on both nodes), 1 (ADD+DEL cycles of sriov-rdma and
// host-device), 2 (the floor of the work), 5 (peak RSS without IPAM) and 4
// (batches of ADDs and DELs, serial and parallel). Each series starts with
// -warm unmeasured runs, and the kernel settles between runs (pause).

// addLatencies is one node's ADD latency on its PF's last VF.
type addLatencies struct {
	VFs   int       `json:"vfs"`
	VF    int       `json:"vf"`
	AddMS []float64 `json:"addMs"`
}

// addLatency times ADDs (each followed by its DEL) on the last VF of the PF:
// the VF a resolver that walks virtfnN links would reach last.
func (b *bencher) addLatency() (addLatencies, error) {
	v := b.vfs[b.nvfs-1]
	res := addLatencies{VFs: b.nvfs, VF: v.index}
	conf, err := b.ourConf("bench-lat", v, nil)
	if err != nil {
		return res, err
	}
	p, err := b.pod("bench-lat")
	if err != nil {
		return res, err
	}
	if b.pair != nil {
		if err := b.pair.ready(); err != nil {
			return res, err
		}
	}
	for i := -b.o.warm; i < b.o.runs; i++ {
		turn := 2*(i+b.o.warm) + b.pairRole()
		if b.pair != nil {
			if err := b.pair.wait(turn); err != nil {
				return res, err
			}
		}
		add, _, _, err := b.cycle(b.plugin, conf, p, "lat")
		if err != nil {
			return res, err
		}
		if i >= 0 {
			res.AddMS = append(res.AddMS, millis(add.wall))
		}
		b.pause()
		if b.pair != nil {
			if err := b.pair.pass(turn); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// cycleSeries is figure 1's series of one plugin.
type cycleSeries struct {
	add, del, cycle durations
	rss             []int64
	cids            map[string]time.Duration // ADD container ID -> wall
	delWall         map[string]time.Duration
}

func newCycleSeries() *cycleSeries {
	return &cycleSeries{cids: map[string]time.Duration{}, delWall: map[string]time.Duration{}}
}

func (c *cycleSeries) record(add, del timedRun, cid string) {
	c.add = append(c.add, add.wall)
	c.del = append(c.del, del.wall)
	c.cycle = append(c.cycle, add.wall+del.wall)
	c.rss = append(c.rss, add.maxRSS)
	c.cids[cid] = add.wall
	c.delWall[cid] = del.wall
}

type floorSeries struct {
	exec, version, ipam, moveIn, moveOut durations
	ipamRSS                              []int64
}

type parallelSeries struct {
	n                                    int
	serialAdd, serialDel, parAdd, parDel durations
	serialMoves, parMoves                durations         // the same VFs' netdevs moved into the pods, bare
	kind                                 map[string]string // container ID -> "serial" / "parallel"
}

// with the same host-local config.
func (b *bencher) figure1() (*cycleSeries, *cycleSeries, error) {
	ov, hv := b.vfs[benchOursVF], b.vfs[benchHDVF]
	oursConf, err := b.ourConf("bench-cycle", ov, nil)
	if err != nil {
		return nil, nil, err
	}
	hdConf, err := b.hostDeviceConf("bench-hd", hv)
	if err != nil {
		return nil, nil, err
	}
	po, err := b.pod("bench-ours")
	if err != nil {
		return nil, nil, err
	}
	ph, err := b.pod("bench-hd")
	if err != nil {
		return nil, nil, err
	}
	ours, hd := newCycleSeries(), newCycleSeries()
	for i := -b.o.warm; i < b.o.runs; i++ {
		add, del, cid, err := b.cycle(b.plugin, oursConf, po, "ours")
		if err != nil {
			return nil, nil, err
		}
		if i >= 0 {
			ours.record(add, del, cid)
		}
		b.pause()
		add, del, cid, err = b.cycle(b.o.hostDevice, hdConf, ph, "hd")
		if err != nil {
			return nil, nil, err
		}
		if i >= 0 {
			hd.record(add, del, cid)
		}
		b.pause()
		if b.ctx.Err() != nil {
			return nil, nil, b.ctx.Err()
		}
	}
	return ours, hd, nil
}

// floorRuns measures the work no plugin can skip: exec'ing a Go binary,
// host-local's own ADD+DEL, and the kernel moving a veth into a pod netns
// and back (netlink from this process: no exec, no lookup in the timing).
func (b *bencher) floorRuns() (*floorSeries, error) {
	ipamConf, err := b.ourConf("bench-ipam", b.vfs[benchMoveVF], nil)
	if err != nil {
		return nil, err
	}
	p, err := b.pod("bench-floor")
	if err != nil {
		return nil, err
	}
	mv, err := newMover(p.netns)
	if err != nil {
		return nil, err
	}
	defer mv.close()
	hostLocal := filepath.Join(b.root, ".tools", "bin", "host-local")
	f := &floorSeries{}
	netdev := b.vfs[benchMoveVF].netdev
	for i := -b.o.warm; i < b.o.runs; i++ {
		x := b.exec(nil, nil, b.o.floor)
		if !x.r.ok() {
			return nil, fmt.Errorf("exec-only binary: %s", x.r)
		}
		// VERSION touches neither the host nor the log: the plugin's own
		// exec, runtime and package initialisation, and exit.
		ver := b.exec([]string{"CNI_COMMAND=VERSION"}, []byte(`{"cniVersion":"1.0.0"}`), b.plugin)
		if !ver.r.ok() {
			return nil, fmt.Errorf("sriov-rdma VERSION: %s", ver.r)
		}
		add, del, _, err := b.cycle(hostLocal, ipamConf, p, "ipam")
		if err != nil {
			return nil, err
		}
		in, out, err := mv.roundTrip(netdev)
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			f.exec = append(f.exec, x.wall)
			f.version = append(f.version, ver.wall)
			f.ipam = append(f.ipam, add.wall+del.wall)
			f.ipamRSS = append(f.ipamRSS, add.maxRSS)
			f.moveIn = append(f.moveIn, in)
			f.moveOut = append(f.moveOut, out)
		}
		b.pause()
	}
	return f, nil
}

// rssAlone is ADD's peak RSS without an IPAM child, so the figure is the
// plugin's own.
func (b *bencher) rssAlone() ([]int64, error) {
	conf, err := b.ourConf("bench-noipam", b.vfs[benchOursVF], map[string]any{"ipam": nil})
	if err != nil {
		return nil, err
	}
	p, err := b.pod("bench-ours")
	if err != nil {
		return nil, err
	}
	var rss []int64
	for range 5 {
		add, _, _, err := b.cycle(b.plugin, conf, p, "noipam")
		if err != nil {
			return nil, err
		}
		rss = append(rss, add.maxRSS)
		b.pause()
	}
	return rss, nil
}

// figure4 runs rounds of n ADDs on n distinct VFs (one pod each) back to
// back, their DELs back to back, then the same n ADDs all at once and their
// DELs all at once.
func (b *bencher) figure4() (*parallelSeries, error) {
	n := b.o.parallel
	pods := make([]*pod, n)
	confs := make([][]byte, n)
	for i := range n {
		var err error
		if pods[i], err = b.pod(fmt.Sprintf("bench-p%d", i)); err != nil {
			return nil, err
		}
		if confs[i], err = b.ourConf("bench-par", b.vfs[benchParBase+i], nil); err != nil {
			return nil, err
		}
	}
	movers := make([]*mover, n)
	netdevs := make([]string, n)
	up := make([]bool, n)
	defer func() {
		for _, m := range movers {
			if m != nil {
				m.close()
			}
		}
	}()
	for i := range n {
		var err error
		if movers[i], err = newMover(pods[i].netns); err != nil {
			return nil, err
		}
		netdevs[i] = b.vfs[benchParBase+i].netdev
		up[i] = b.baseline[netdevs[i]].up()
	}
	pr := &parallelSeries{n: n, kind: map[string]string{}}
	for round := range b.o.rounds {
		for _, parallel := range []bool{false, true} {
			kind := map[bool]string{false: "serial", true: "parallel"}[parallel]
			cids := make([]string, n)
			for i := range cids {
				cids[i] = b.containerID(kind)
				pr.kind[cids[i]] = kind
			}
			add, addErr := b.batch("ADD", pods, confs, cids, parallel)
			del, delErr := b.batch("DEL", pods, confs, cids, parallel)
			if err := errors.Join(addErr, delErr); err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, kind, err)
			}
			b.pause()
			moves, err := bareMoves(movers, netdevs, up, parallel)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s bare moves: %w", round+1, kind, err)
			}
			if parallel {
				pr.parAdd, pr.parDel = append(pr.parAdd, add), append(pr.parDel, del)
				pr.parMoves = append(pr.parMoves, moves)
			} else {
				pr.serialAdd, pr.serialDel = append(pr.serialAdd, add), append(pr.serialDel, del)
				pr.serialMoves = append(pr.serialMoves, moves)
			}
			b.pause()
		}
		if b.ctx.Err() != nil {
			return nil, b.ctx.Err()
		}
	}
	return pr, nil
}

// batch runs verb for every pod, one after the other or all at once, and
// returns the wall time of the whole batch.
func (b *bencher) batch(verb string, pods []*pod, confs [][]byte, cids []string, parallel bool) (time.Duration, error) {
	outs := make([]timedRun, len(pods))
	start := time.Now()
	if parallel {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range pods {
			wg.Go(func() {
				<-gate
				outs[i] = b.cni(b.plugin, verb, confs[i], pods[i], cids[i])
			})
		}
		start = time.Now()
		close(gate)
		wg.Wait()
	} else {
		for i := range pods {
			outs[i] = b.cni(b.plugin, verb, confs[i], pods[i], cids[i])
		}
	}
	wall := time.Since(start)
	var errs []error
	for i, o := range outs {
		if !o.r.ok() {
			errs = append(errs, fmt.Errorf("%s on %s: %s", verb, pods[i].name, o.r))
		}
	}
	if len(errs) > 0 {
		return wall, fmt.Errorf("%d of %d failed, first: %w", len(errs), len(pods), errs[0])
	}
	return wall, nil
}

// mover moves a netdev between the lane's host netns and a pod's over
// netlink sockets opened in each.
type mover struct {
	host, pod netns.NsHandle
	hh, ph    *netlink.Handle
}

func newMover(podPath string) (*mover, error) {
	m := &mover{host: -1, pod: -1}
	var err error
	// The driver's main thread never leaves the lane's host netns.
	if m.host, err = netns.GetFromPath("/proc/self/ns/net"); err != nil {
		return nil, err
	}
	if m.pod, err = netns.GetFromPath(podPath); err != nil {
		m.close()
		return nil, err
	}
	if m.hh, err = netlink.NewHandleAt(m.host); err != nil {
		m.close()
		return nil, err
	}
	if m.ph, err = netlink.NewHandleAt(m.pod); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func (m *mover) close() {
	for _, h := range []*netlink.Handle{m.hh, m.ph} {
		if h != nil {
			h.Close()
		}
	}
	for _, n := range []netns.NsHandle{m.host, m.pod} {
		if n >= 0 {
			_ = n.Close()
		}
	}
}

// roundTrip moves netdev into the pod and back, timing each request only.
func (m *mover) roundTrip(netdev string) (in, out time.Duration, err error) {
	if in, err = m.move(netdev, true); err != nil {
		return 0, 0, err
	}
	out, err = m.move(netdev, false)
	return in, out, err
}

// move moves netdev into the pod (or home) and times the request alone.
func (m *mover) move(netdev string, in bool) (time.Duration, error) {
	from, to, where := m.hh, m.pod, "into the pod"
	if !in {
		from, to, where = m.ph, m.host, "home"
	}
	k, err := from.LinkByName(netdev)
	if err != nil {
		return 0, fmt.Errorf("find %s to move it %s: %w", netdev, where, err)
	}
	t := time.Now()
	if err := from.LinkSetNsFd(k, int(to)); err != nil {
		return 0, fmt.Errorf("move %s %s: %w", netdev, where, err)
	}
	return time.Since(t), nil
}

// bareMoves moves each VF's netdev into its pod, one after the other or all
// at once, times the batch, and brings them home untimed: the kernel's own
// ceiling for figure 4, whose moves all take the RTNL lock.
func bareMoves(movers []*mover, netdevs []string, up []bool, parallel bool) (time.Duration, error) {
	errs := make([]error, len(movers))
	var wall time.Duration
	if parallel {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, m := range movers {
			wg.Go(func() {
				<-gate
				_, errs[i] = m.move(netdevs[i], true)
			})
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		wall = time.Since(start)
	} else {
		start := time.Now()
		for i, m := range movers {
			if _, errs[i] = m.move(netdevs[i], true); errs[i] != nil {
				break
			}
		}
		wall = time.Since(start)
	}
	for i, m := range movers {
		if errs[i] == nil {
			_, errs[i] = m.move(netdevs[i], false)
		}
		if errs[i] == nil && up[i] {
			// A move takes the link down; the node's baseline has it up.
			errs[i] = m.hh.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: netdevs[i]}})
		}
	}
	return wall, errors.Join(errs...)
}

// syscalls runs one ADD and one DEL of each plugin under strace and counts
// what the step timings cannot show: processes, threads, namespace switches,
// netlink sockets and requests (dumps apart), fsyncs.
func (b *bencher) syscalls(strace string) (*table, error) {
	oursConf, err := b.ourConf("bench-strace", b.vfs[benchOursVF], map[string]any{"logFile": nil})
	if err != nil {
		return nil, err
	}
	hdConf, err := b.hostDeviceConf("bench-strace-hd", b.vfs[benchHDVF])
	if err != nil {
		return nil, err
	}
	p, err := b.pod("bench-strace")
	if err != nil {
		return nil, err
	}
	var cols []map[string]int
	var keys []string
	for _, pl := range []struct {
		bin  string
		conf []byte
	}{{b.plugin, oursConf}, {b.o.hostDevice, hdConf}} {
		cid := b.containerID("strace")
		for _, verb := range []string{"ADD", "DEL"} {
			file := filepath.Join(b.o.out, "strace", fmt.Sprintf("%s-%s.txt", filepath.Base(pl.bin), verb))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return nil, err
			}
			r := b.straceCNI(strace, file, pl.bin, verb, pl.conf, p, cid)
			if !r.ok() {
				return nil, fmt.Errorf("%s %s under strace: %s", filepath.Base(pl.bin), verb, r)
			}
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			counts, order := countSyscalls(f)
			_ = f.Close()
			cols = append(cols, counts)
			for _, k := range order {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
		b.pause()
	}
	t := &table{
		title:  "Syscalls of one ADD and one DEL (strace -f, not timed)",
		note:   "Processes and threads include the IPAM plugin each execs. Every netlink request on RTNETLINK waits for the kernel's RTNL lock, every setns is a thread switching namespace, every fsync a disk flush.",
		header: []string{"", "sriov-rdma ADD", "sriov-rdma DEL", "host-device ADD", "host-device DEL"},
	}
	for _, k := range keys {
		row := []string{k}
		for _, c := range cols {
			row = append(row, strconv.Itoa(c[k]))
		}
		t.rows = append(t.rows, row)
	}
	return t, nil
}

func (b *bencher) straceCNI(strace, out, bin, verb string, conf []byte, p *pod, cid string) result {
	env := []string{
		"CNI_COMMAND=" + verb,
		"CNI_CONTAINERID=" + cid,
		"CNI_NETNS=" + p.netns,
		"CNI_IFNAME=" + benchIfName,
		"CNI_ARGS=IgnoreUnknown=1",
		"CNI_PATH=" + b.cniPath,
	}
	return b.run(env, conf, strace, "-f", "-qq", "-o", out,
		"-e", "trace=execve,clone,clone3,setns,socket,sendto,sendmsg,fsync,fdatasync", bin)
}

var (
	nlType     = regexp.MustCompile(`nlmsg_type=([A-Za-z0-9_]+)`)
	sysRet     = regexp.MustCompile(`= (\d+)$`)
	sysFD      = regexp.MustCompile(`^(?:sendto|sendmsg)\((\d+),`)
	nlProtocol = regexp.MustCompile(`AF_NETLINK, [^,]+, ([A-Z_]+)`)
)

// rtnetlinkTypes names the request types strace prints as numbers when it
// cannot tell a socket's protocol (it was opened in another netns).
var rtnetlinkTypes = map[string]string{
	"0x10": "RTM_NEWLINK", "0x11": "RTM_DELLINK", "0x12": "RTM_GETLINK", "0x13": "RTM_SETLINK",
	"0x14": "RTM_NEWADDR", "0x15": "RTM_DELADDR", "0x16": "RTM_GETADDR",
	"0x18": "RTM_NEWROUTE", "0x19": "RTM_DELROUTE", "0x1a": "RTM_GETROUTE",
	"0x1c": "RTM_NEWNEIGH", "0x1d": "RTM_DELNEIGH", "0x1e": "RTM_GETNEIGH",
	"0x58": "RTM_NEWNSID", "0x5a": "RTM_GETNSID",
}

// countSyscalls summarises an strace -f log: the rows of the syscall table,
// in a fixed order first, then each netlink request type as seen.
func countSyscalls(rd io.Reader) (map[string]int, []string) {
	order := []string{"processes exec'd", "threads and processes started", "setns (namespace switches)",
		"netlink sockets opened", "netlink requests", "  of which dumps", "fsync + fdatasync"}
	c := map[string]int{}
	proto := map[string]string{}   // socket fd -> netlink protocol (fd numbers may be reused: last wins)
	pending := map[string]string{} // thread -> protocol of its unfinished socket()
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		tid, call, _ := strings.Cut(line, " ") // "TID call(args...) = ret"
		call = strings.TrimSpace(call)
		if rest, ok := strings.CutPrefix(call, "<... socket resumed>"); ok {
			if m := sysRet.FindStringSubmatch(rest); m != nil && pending[tid] != "" {
				proto[m[1]] = pending[tid]
			}
			delete(pending, tid)
			continue
		}
		if strings.HasPrefix(call, "<...") {
			continue // the rest of an interrupted call, already counted
		}
		name, _, _ := strings.Cut(call, "(")
		switch name {
		case "execve":
			if strings.HasSuffix(call, "= 0") || strings.HasSuffix(call, "<unfinished ...>") {
				c["processes exec'd"]++
			}
		case "clone", "clone3":
			c["threads and processes started"]++
		case "setns":
			c["setns (namespace switches)"]++
		case "socket":
			m := nlProtocol.FindStringSubmatch(call)
			if m == nil {
				continue
			}
			c["netlink sockets opened"]++
			if r := sysRet.FindStringSubmatch(call); r != nil {
				proto[r[1]] = m[1]
			} else {
				pending[tid] = m[1]
			}
		case "sendto", "sendmsg":
			m := nlType.FindStringSubmatch(call)
			if m == nil {
				continue
			}
			typ := m[1]
			if named, ok := rtnetlinkTypes[typ]; ok {
				if fd := sysFD.FindStringSubmatch(call); fd != nil && proto[fd[1]] == "NETLINK_ROUTE" {
					typ = named
				}
			}
			c["netlink requests"]++
			key := "  " + typ
			if strings.Contains(call, "NLM_F_DUMP") {
				c["  of which dumps"]++
				key += " (dump)"
			}
			if !slices.Contains(order, key) {
				order = append(order, key)
			}
			c[key]++
		case "fsync", "fdatasync":
			c["fsync + fdatasync"]++
		}
	}
	return c, order
}

// report is the tables `make bench` prints and writes.
type report struct {
	when           time.Time
	load           string
	runs           int
	rows           [][]string // #, what, measured, target, result
	stepTables     []table
	micro          *table
	passed, failed int
	raw            map[string]any
}

type table struct {
	title  string
	note   string
	header []string
	rows   [][]string
}

func newReport(runs int) *report {
	return &report{when: time.Now(), load: loadAverage(), runs: runs, raw: map[string]any{}}
}

func (r *report) info(fig, what, measured string) {
	r.rows = append(r.rows, []string{fig, what, measured, "", ""})
}

func (r *report) check(fig, what, measured, target string, ok bool) {
	verdict := "FAIL"
	if ok {
		verdict = "PASS"
		r.passed++
	} else {
		r.failed++
	}
	r.rows = append(r.rows, []string{fig, what, measured, target, verdict})
	r.raw["check "+fig+" "+what] = map[string]any{"measured": measured, "target": target, "result": verdict}
}

func (r *report) skip(fig, what, why, target string) {
	r.rows = append(r.rows, []string{fig, what, why, target, "SKIP"})
}

func (r *report) figures(ours, hd *cycleSeries, fl *floorSeries, big addLatencies, small *addLatencies, par *parallelSeries, alone []int64, plugin string) {
	// 1
	r.info("1", "ADD+DEL, sriov-rdma + host-local (p50 / p90)", fmtP50P90(ours.cycle))
	r.info("1", "  of which ADD / DEL (p50)", fmtMS(ours.add.p50())+" / "+fmtMS(ours.del.p50()))
	r.info("1", "ADD+DEL, host-device v1.10.0 + host-local (p50 / p90)", fmtP50P90(hd.cycle))
	r.info("1", "  of which ADD / DEL (p50)", fmtMS(hd.add.p50())+" / "+fmtMS(hd.del.p50()))
	ratio1 := millis(ours.cycle.p50()) / millis(hd.cycle.p50())
	r.check("1", "sriov-rdma / host-device, ADD+DEL", fmt.Sprintf("%.2f", ratio1), "≤ 0.5", ratio1 <= 0.5)

	// 2
	floor := 2*fl.exec.p50() + fl.ipam.p50() + fl.moveIn.p50() + fl.moveOut.p50()
	r.info("2", "exec-only static Go binary (p50 / p90)", fmtP50P90(fl.exec))
	r.info("2", "  sriov-rdma VERSION: the same for our binary, its package init included", fmtP50P90(fl.version))
	r.info("2", "host-local ADD+DEL (p50 / p90)", fmtP50P90(fl.ipam))
	r.info("2", "netns move host→pod / pod→host, netlink (p50)", fmtMS(fl.moveIn.p50())+" / "+fmtMS(fl.moveOut.p50()))
	r.info("2", "floor = 2 × exec-only + host-local ADD+DEL + 2 moves", fmtMS(floor))
	ratio2 := millis(ours.cycle.p50()) / millis(floor)
	r.check("2", "sriov-rdma ADD+DEL / floor", fmt.Sprintf("%.2f×", ratio2), "≤ 1.3×", ratio2 <= 1.3)

	// 3
	bigD := fromMillis(big.AddMS)
	if small == nil {
		r.info("3", fmt.Sprintf("ADD, VF %d of a PF with %d VFs (p50 / p90)", big.VF, big.VFs), fmtP50P90(bigD))
		r.skip("3", "ADD latency, big PF / small PF", "no small-PF run (-ref)", "≤ 1.1")
	} else {
		smallD := fromMillis(small.AddMS)
		r.info("3", fmt.Sprintf("ADD, VF %d of a PF with %d VFs (p50 / p90)", small.VF, small.VFs), fmtP50P90(smallD))
		r.info("3", fmt.Sprintf("ADD, VF %d of a PF with %d VFs (p50 / p90)", big.VF, big.VFs), fmtP50P90(bigD))
		ratio3 := millis(bigD.p50()) / millis(smallD.p50())
		r.check("3", fmt.Sprintf("ADD latency, %d VFs / %d VFs", big.VFs, small.VFs), fmt.Sprintf("%.2f", ratio3), "≤ 1.1", ratio3 <= 1.1)
		r.raw["vfs"+strconv.Itoa(small.VFs)] = small
	}
	r.raw["vfs"+strconv.Itoa(big.VFs)] = big

	// 4
	n := par.n
	r.info("4", fmt.Sprintf("%d ADDs serial / parallel, wall (p50 of %d rounds)", n, len(par.parAdd)),
		fmtMS(par.serialAdd.p50())+" / "+fmtMS(par.parAdd.p50()))
	r.info("4", fmt.Sprintf("%d DELs serial / parallel, wall", n), fmtMS(par.serialDel.p50())+" / "+fmtMS(par.parDel.p50()))
	ratio4 := millis(par.serialAdd.p50()) / millis(par.parAdd.p50())
	r.check("4", "ADD throughput, parallel / serial", fmt.Sprintf("%.2f", ratio4), "≥ 1.5", ratio4 >= 1.5)
	r.info("4", "DEL throughput, parallel / serial", fmt.Sprintf("%.2f", millis(par.serialDel.p50())/millis(par.parDel.p50())))
	r.info("4", fmt.Sprintf("%d bare netns moves serial / parallel, wall (netlink, in-process)", n),
		fmtMS(par.serialMoves.p50())+" / "+fmtMS(par.parMoves.p50()))
	r.info("4", "  the kernel's ceiling for the ADD ratio: serial ADDs / parallel bare moves",
		fmt.Sprintf("%.2f", millis(par.serialAdd.p50())/millis(par.parMoves.p50())))

	// 5
	peak := slices.Max(ours.rss)
	r.check("5", "peak RSS of one ADD (plugin and the host-local it execs; max of runs)", fmtMiB(peak), "≤ 25 MiB", peak <= 25<<20)
	r.info("5", "  plugin alone (ADD without IPAM) / host-local alone", fmtMiB(slices.Max(alone))+" / "+fmtMiB(slices.Max(fl.ipamRSS)))
	r.info("5", "  host-device ADD, with its host-local", fmtMiB(slices.Max(hd.rss)))
	size, stripped := binaryInfo(plugin)
	what := "binary size, bin/sriov-rdma (stripped)"
	if !stripped {
		what = "binary size, bin/sriov-rdma (NOT stripped: build with make build)"
	}
	r.check("5", what, fmtMiB(size), "≤ 12 MiB", size <= 12<<20 && stripped)

	r.raw["cycleMs"] = map[string]any{
		"sriov-rdma":  map[string]float64{"p50": millis(ours.cycle.p50()), "p90": millis(ours.cycle.p90())},
		"host-device": map[string]float64{"p50": millis(hd.cycle.p50()), "p90": millis(hd.cycle.p90())},
		"floor":       millis(floor),
	}
}

// binaryInfo is a file's size and whether it carries no symbol table.
func binaryInfo(path string) (int64, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	f, err := elf.Open(path)
	if err != nil {
		return st.Size(), false
	}
	defer func() { _ = f.Close() }()
	return st.Size(), f.Section(".symtab") == nil
}

// steps adds figure 6: where ADD's and DEL's time goes, from the plugin's own
// records, next to the wall time the runtime side saw.
func (r *report) steps(cycleRecs, parRecs []logRecord, ours *cycleSeries, par *parallelSeries) {
	inCycle := func(cid string) bool { _, ok := ours.cids[cid]; return ok }
	adds := verbRecords(cycleRecs, "ADD", inCycle)
	dels := verbRecords(cycleRecs, "DEL", inCycle)
	serial := verbRecords(parRecs, "ADD", func(cid string) bool { return par.kind[cid] == "serial" })
	parallel := verbRecords(parRecs, "ADD", func(cid string) bool { return par.kind[cid] == "parallel" })

	addT := stepTable(adds, ours.cids, serial, parallel, par.n)
	addT.title = "Where an ADD's time goes (figure 6)"
	addT.note = fmt.Sprintf("From the plugin's own log records (logLevel info), %d ADDs of figure 1; "+
		"the last two columns are the ADDs of figure 4, %d at a time on a node filling up, and all at once.",
		len(adds), par.n)
	delSerial := verbRecords(parRecs, "DEL", func(cid string) bool { return par.kind[cid] == "serial" })
	delParallel := verbRecords(parRecs, "DEL", func(cid string) bool { return par.kind[cid] == "parallel" })
	delT := stepTable(dels, ours.delWall, delSerial, delParallel, par.n)
	delT.title = "Where a DEL's time goes"
	delT.note = fmt.Sprintf("%d DELs of figure 1, and those of figure 4; restore includes the host-local DEL exec, which runs beside the device restore.", len(dels))
	r.stepTables = append(r.stepTables, addT, delT)
}

// stepTable lists each step's p50 and p90, its share of the total, and
// optionally the p50 of two other sets of records.
func stepTable(rs []logRecord, walls map[string]time.Duration, serial, parallel []logRecord, n int) table {
	t := table{header: []string{"step", "p50", "p90", "share"}}
	extra := serial != nil || parallel != nil
	if extra {
		t.header = append(t.header, fmt.Sprintf("p50, %d serial", n), fmt.Sprintf("p50, %d parallel", n))
	}
	tots := totals(rs)
	var outside, wall, gaps durations
	for _, rec := range rs {
		var sum time.Duration
		for _, s := range rec.Steps {
			sum += s.d
		}
		gaps = append(gaps, rec.Total-sum)
		if w, ok := walls[rec.ContainerID]; ok {
			wall = append(wall, w)
			outside = append(outside, w-rec.Total)
		}
	}
	tot50 := tots.p50()
	share := func(d time.Duration) string {
		if tot50 <= 0 {
			return ""
		}
		return fmt.Sprintf("%.0f%%", 100*float64(d)/float64(tot50))
	}
	col := func(set []logRecord, name string) string {
		if len(set) == 0 {
			return "–"
		}
		return fmtMS(stepDurations(set, name).p50())
	}
	totalCol := func(set []logRecord) string {
		if len(set) == 0 {
			return "–"
		}
		return fmtMS(totals(set).p50())
	}
	var sum50 time.Duration
	for _, name := range stepNames(rs) {
		d := stepDurations(rs, name)
		sum50 += d.p50()
		row := []string{name, fmtMS(d.p50()), fmtMS(d.p90()), share(d.p50())}
		if extra {
			row = append(row, col(serial, name), col(parallel, name))
		}
		t.rows = append(t.rows, row)
	}
	add := func(name string, d durations, all bool) {
		row := []string{name, fmtMS(d.p50()), fmtMS(d.p90()), share(d.p50())}
		if extra {
			if all {
				row = append(row, totalCol(serial), totalCol(parallel))
			} else {
				row = append(row, "", "")
			}
		}
		t.rows = append(t.rows, row)
	}
	row := []string{"Σ step p50s", fmtMS(sum50), "", share(sum50)}
	if extra {
		row = append(row, "", "")
	}
	t.rows = append(t.rows, row)
	add("between steps (total − Σ steps: result printing, unmarked work)", gaps, false)
	add("plugin total (its own clock)", tots, true)
	add("exec, Go runtime start-up, log write, exit (wall − total)", outside, false)
	add("wall, fork to reaped exit", wall, false)
	return t
}

// machine says what the figures were measured on.
func machine() string {
	var u unix.Utsname
	kernel := "?"
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("Linux %s, %d × %s", kernel, runtime.NumCPU(), cmp.Or(model, "CPU"))
}

func (r *report) preamble() string {
	return fmt.Sprintf("`make bench`, %s, %s, load average %s at the start. Each figure is the p50 of %d runs (p90 where shown); "+
		"every plugin is exec'd directly as a runtime does, VF netdevs are veth ends in the e2e lane's test node.",
		r.when.Format("2006-01-02 15:04 MST"), machine(), r.load, r.runs)
}

// loadAverage is the 1-minute load average: other work on the machine shows
// up in every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// goBenchLine is one line of `go test -bench` output.
var goBenchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(?:\s+[\d.]+ MB/s)?(?:\s+(\d+) B/op)?(?:\s+(\d+) allocs/op)?`)

type goBenchResult struct {
	pkg, name     string
	ns            float64
	bytes, allocs string
}

func parseGoBench(rd io.Reader) ([]goBenchResult, error) {
	var out []goBenchResult
	pkg := ""
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/sriov-rdma/sriov-rdma/")
			continue
		}
		m := goBenchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return nil, err
		}
		out = append(out, goBenchResult{pkg: pkg, name: m[1], ns: ns, bytes: m[4], allocs: m[5]})
	}
	return out, sc.Err()
}

func (r *report) microBench(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	res, err := parseGoBench(f)
	if err != nil {
		return err
	}
	t := table{
		title:  "Go micro-benchmarks (`go test -run '^$' -bench . ./pkg/...`, no root)",
		header: []string{"package", "benchmark", "time/op", "B/op", "allocs/op"},
	}
	byName := map[string]float64{}
	for _, m := range res {
		t.rows = append(t.rows, []string{m.pkg, m.name, fmtNS(m.ns), cmp.Or(m.bytes, "–"), cmp.Or(m.allocs, "–")})
		byName[m.name] = m.ns
	}
	if a, b := byName["BenchmarkResolve8"], byName["BenchmarkResolve256"]; a > 0 && b > 0 {
		t.note = fmt.Sprintf("Resolve, last VF of 256 / of 8: %.2f (O(1) in the VF count: about 1). "+
			"JournalWrite is two fsyncs on TMPDIR's filesystem.", b/a)
	}
	r.micro = &t
	return nil
}

// The report's two renderings: markdown for README's Performance section
// (bench.md, and -copy), plain text with aligned columns for the terminal
// (bench.txt). Both hold the same rows.

// figureHeader heads the figures table, whose rows are report.rows.
var figureHeader = []string{"#", "figure", "measured", "target", "result"}

func (r *report) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## Performance\n\n%s\n\n", r.preamble())
	writeMarkdownTable(&sb, figureHeader, r.rows, true)
	fmt.Fprintf(&sb, "\n%d passed, %d failed.\n", r.passed, r.failed)
	r.writeTables(&sb, "\n### %s\n\n", "%s\n\n", func(header []string, rows [][]string) {
		writeMarkdownTable(&sb, header, rows, false)
	})
	return sb.String()
}

func (r *report) text() string {
	var sb strings.Builder
	sb.WriteString(r.preamble() + "\n\n")
	writeTextTable(&sb, figureHeader, r.rows)
	r.writeTables(&sb, "\n%s\n", "%s\n", func(header []string, rows [][]string) {
		writeTextTable(&sb, header, rows)
	})
	return sb.String()
}

// writeTables writes the tables after the figures (steps, syscalls, the
// micro-benchmarks), each under its title and note, printed with the
// formats given.
func (r *report) writeTables(sb *strings.Builder, titleFormat, noteFormat string, write func(header []string, rows [][]string)) {
	tables := slices.Clone(r.stepTables)
	if r.micro != nil {
		tables = append(tables, *r.micro)
	}
	for _, t := range tables {
		fmt.Fprintf(sb, titleFormat, t.title)
		if t.note != "" {
			fmt.Fprintf(sb, noteFormat, t.note)
		}
		write(t.header, t.rows)
	}
}

// writeMarkdownTable writes a GitHub table; with boldChecks, the figure of
// every row with a result (a checked target) is bold.
func writeMarkdownTable(sb *strings.Builder, header []string, rows [][]string, boldChecks bool) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	sb.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		sb.WriteString("---|")
	}
	sb.WriteString("\n")
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = esc(c)
			if rest, ok := strings.CutPrefix(cells[i], "  "); ok {
				cells[i] = "&nbsp;&nbsp;" + rest // markdown drops leading blanks
			}
		}
		if boldChecks && len(row) == 5 && row[4] != "" {
			cells[1] = "**" + strings.TrimSpace(cells[1]) + "**"
		}
		sb.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// writeTextTable writes rows in columns padded to their widest cell, in
// runes: "≤" is one column wide, not three bytes.
func writeTextTable(sb *strings.Builder, header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(row []string) {
		var cells []string
		for i, c := range row {
			cells = append(cells, c+strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		sb.WriteString(strings.TrimRight(strings.Join(cells, "  "), " ") + "\n")
	}
	line(header)
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = strings.Repeat("-", width[i])
	}
	line(seps)
	for _, row := range rows {
		line(row)
	}
}
