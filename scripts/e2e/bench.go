package main

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The bench mode is `make bench`: the plugin's cost on the lane's
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
//
// This file is the mode: its flags, its two phases and where their results
// go. The rest of it: bench_exec.go (one timed plugin exec, ADD+DEL
// cycles), bench_pair.go (figure 3's two drivers taking turns),
// bench_figures.go (the runs behind each figure), mover.go (netns moves
// over netlink, the floor of the work), bench_syscalls.go (the strace
// profile), bench_report.go (figures, targets and the step tables),
// bench_gobench.go (`go test -bench` output), tables.go (rendering), and,
// shared with the other harnesses, stats.go and pluginlog.go.

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
