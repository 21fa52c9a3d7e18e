package main

import (
	"cmp"
	"debug/elf"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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
