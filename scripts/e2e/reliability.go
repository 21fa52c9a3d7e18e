package main

// What the reliability harnesses share: the crash matrix
// (crash.go), parallel stress (stress.go) and hostile input (hostile.go).
// Each is a mode of the driver (modes.go) with a node of its own; each runs
// its checks as the lane's cases do (runCase: PASS/FAIL per case, cleanups,
// then the node must be back at its baseline) and ends with figures and
// "N passed, N failed".

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

// suite runs a harness's cases and keeps its score.
type suite struct {
	l       *Lane
	start   time.Time
	passed  int
	failed  int
	figures []string
}

func newSuite(l *Lane, title string) *suite {
	fmt.Println(title)
	return &suite{l: l, start: time.Now()}
}

// run runs one case the lane's way; false once the lane was interrupted.
func (s *suite) run(c tcase) bool {
	if s.l.ctx.Err() != nil {
		return false
	}
	if s.l.runCase(c) {
		s.passed++
	} else {
		s.failed++
	}
	return s.l.ctx.Err() == nil
}

// figure adds a line to the figures printed before the summary.
func (s *suite) figure(format string, a ...any) {
	s.figures = append(s.figures, fmt.Sprintf(format, a...))
}

// finish prints the figures and the summary line; it returns the exit code.
func (s *suite) finish() int {
	if s.l.ctx.Err() != nil {
		fmt.Println("interrupted; cleaning up")
		fmt.Printf("%d passed, %d failed\n", s.passed, s.failed)
		return 130
	}
	if len(s.figures) > 0 {
		fmt.Println("figures:")
		for _, f := range s.figures {
			fmt.Println("  " + f)
		}
	}
	fmt.Printf("%d passed, %d failed (%s)\n", s.passed, s.failed, since(s.start))
	if s.failed > 0 || s.passed == 0 {
		return 1
	}
	return 0
}

// count is how many of xs match.
func count[T any](xs []T, match func(T) bool) int {
	n := 0
	for _, x := range xs {
		if match(x) {
			n++
		}
	}
	return n
}

// modeFlags parses a mode's own arguments (given after "--" on the driver's
// command line: scripts/reliability.sh puts them there).
func modeFlags(name string, args []string, define func(fs *flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", name, fs.Args())
	}
	return nil
}

// gcNone is a runtime's GC of network with no valid attachment: libcni with
// an empty result cache, so that libcni sends no DEL of its own first and
// the plugin's GC is what restores.
func (l *Lane) gcNone(network string) error {
	list, err := libcni.ConfListFromFile(filepath.Join(l.confDir, network, network+".conflist"))
	if err != nil {
		return fmt.Errorf("load %s: %w", network, err)
	}
	cache, err := os.MkdirTemp(l.work, "libcni-cache-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(cache) }()
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(l.cniPath), cache, nil)
	ctx, cancel := context.WithTimeout(l.ctx, cmdTimeout)
	defer cancel()
	return cni.GCNetworkList(ctx, list, &libcni.GCArgs{ValidAttachments: []types.GCAttachment{}})
}

// strays lists the lane's processes still running one of its CNI binaries
// (the plugin, its fault-injection build, host-local, cnitool): once every
// command returned there must be none, or something holds a VF, a lock, an
// address or a pod netns fd behind the runtime's back.
func (l *Lane) strays() []string {
	bins := map[string]bool{
		l.plugin:                  true,
		l.plugin + "-faultinject": true,
		l.cnitool:                 true,
		filepath.Join(l.root, ".tools", "bin", "host-local"): true,
	}
	// Only this lane's: other runs on the machine (another lane, unit
	// tests) exec the same binaries, but never in this mount namespace.
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return []string{err.Error()}
	}
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if mnt, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "mnt")); err != nil || mnt != self {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		if bins[exe] {
			out = append(out, fmt.Sprintf("%s[%d]", filepath.Base(exe), pid))
		}
	}
	return out
}

// waitStrays waits a moment for the lane's CNI processes to exit, then
// reports those still running.
func (l *Lane) waitStrays(timeout time.Duration) []string {
	var left []string
	_ = poll(timeout, func() error {
		if left = l.strays(); len(left) > 0 {
			return errors.New("strays")
		}
		return nil
	})
	return left
}

// netnsFDs lists the network namespaces this driver holds open: after a
// round every pod netns it opened must be closed again.
func netnsFDs() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		t, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(t, "net:[") {
			out = append(out, e.Name()+"->"+t)
		}
	}
	return out
}

// nsMounts lists the netns bind mounts under the lane's /run/netns: those
// mounted on the /run/netns mount that is visible now. (The mount table
// also holds, hidden under the lane's /run, whatever the machine had
// mounted there when the lane's mount namespace was made.)
func nsMounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{err.Error()}
	}
	return netnsMountsIn(string(b))
}

// netnsMountsIn is nsMounts over the text of a mountinfo file.
func netnsMountsIn(mountinfo string) []string {
	type mnt struct{ id, parent, point, fstype string }
	var ms []mnt
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 5 || sep < 0 || sep+1 >= len(f) {
			continue
		}
		ms = append(ms, mnt{f[0], f[1], f[4], f[sep+1]})
	}
	visible := ""
	for _, m := range ms {
		if m.point == "/run/netns" {
			visible = m.id // the last one mounted is on top
		}
	}
	var out []string
	for _, m := range ms {
		if visible != "" && m.parent == visible && m.fstype == "nsfs" {
			out = append(out, filepath.Base(m.point))
		}
	}
	slices.Sort(out)
	return out
}

// pluginTotals are the "total" durations of the plugin's own summary
// records for verb in network's log: the plugin's time without the exec of
// cnitool and of the plugin itself.
func (l *Lane) pluginTotals(network, verb string) []time.Duration {
	return totals(l.verbRecords(network, verb))
}

// pluginSteps renders the slowest steps of verb by their p50, from the
// step timings of the plugin's summary records.
func (l *Lane) pluginSteps(network, verb string, n int) string {
	recs := l.verbRecords(network, verb)
	type step struct {
		name string
		p50  time.Duration
	}
	var ss []step
	for _, name := range stepNames(recs) {
		ss = append(ss, step{name, stepDurations(recs, name).p50()})
	}
	slices.SortStableFunc(ss, func(a, b step) int { return int(b.p50 - a.p50) }) // ties in the order they ran
	var parts []string
	for i, s := range ss {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s", s.name, s.p50.Round(100*time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

// verbRecords are the successful summary records of verb in network's log
// (a log that cannot be read has none).
func (l *Lane) verbRecords(network, verb string) []logRecord {
	recs, _ := readLog(l.logFile(network))
	return verbRecords(recs, verb, nil)
}
