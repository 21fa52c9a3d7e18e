package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The bench mode's arithmetic and parsing, which need no root: if these
// break, `make bench` prints a plausible table of wrong numbers.

func TestBenchStepTable(t *testing.T) {
	rs, err := parseLog(strings.NewReader(pluginLog))
	if err != nil {
		t.Fatal(err)
	}
	adds := verbRecords(rs, "ADD", nil)
	walls := map[string]time.Duration{"c1": 25 * time.Millisecond, "c3": 27 * time.Millisecond}
	tab := stepTable(adds, walls, adds[:1], nil, 64)
	row := func(name string) []string {
		for _, r := range tab.rows {
			if r[0] == name {
				return r
			}
		}
		t.Fatalf("no row %q in %v", name, tab.rows)
		return nil
	}
	// Of two samples p50 is the lower one (nearest rank, stats.go).
	if r := row("netdev-to-pod"); r[1] != "17.0 ms" || r[2] != "19.0 ms" || r[3] != "85%" || r[4] != "17.0 ms" || r[5] != "–" {
		t.Errorf("netdev-to-pod row = %v, want p50 17.0 ms, p90 19.0 ms, 85%% of the 20 ms total, 17.0 ms in the serial set, none in the empty one", r)
	}
	if r := row("reclaim"); r[1] != "0.04 ms" {
		t.Errorf("a step only some records have is the p50 of those: %v", r)
	}
	if r := row("plugin total (its own clock)"); r[1] != "20.0 ms" || r[4] != "20.0 ms" {
		t.Errorf("total row = %v", r)
	}
	if r := row("exec, Go runtime start-up, log write, exit (wall − total)"); r[1] != "5.00 ms" {
		t.Errorf("wall − total row = %v, want 5.00 ms (25−20 and 27−22)", r)
	}
	if tab.header[4] != "p50, 64 serial" {
		t.Errorf("header = %q", tab.header)
	}
	if len(tab.header) != len(tab.rows[0]) {
		t.Errorf("header has %d columns, rows %d", len(tab.header), len(tab.rows[0]))
	}
}

// Lines as strace 6.1 -f prints them for the plugin: a socket opened in
// another netns shows its request types as numbers.
const benchStrace = `100 execve("/bin/sriov-rdma", ["/bin/sriov-rdma"], 0x7ff /* 41 vars */) = 0
100 clone(child_stack=0x1, flags=CLONE_VM|CLONE_THREAD) = 101
100 setns(6, CLONE_NEWNET)            = 0
100 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 9
100 setns(8, CLONE_NEWNET)            = 0
100 sendto(9, [{nlmsg_len=52, nlmsg_type=0x12 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=1, nlmsg_pid=0}, "\x00"], 52, 0, {sa_family=AF_NETLINK}, 12) = 52
101 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_RDMA <unfinished ...>
100 fsync(8)                          = 0
101 <... socket resumed>)             = 10
101 sendto(10, [{nlmsg_len=16, nlmsg_type=0x12 /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=1, nlmsg_pid=0}], 16, 0, NULL, 0) = 16
100 sendto(11, [{nlmsg_len=32, nlmsg_type=RTM_GETLINK, nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP, nlmsg_seq=2, nlmsg_pid=0}], 32, 0, NULL, 0 <unfinished ...>
100 <... sendto resumed>)             = 32
102 execve("/tools/host-local", ["/tools/host-local"], 0x1 /* 41 vars */ <unfinished ...>
102 <... execve resumed>)             = 0
103 execve("/nowhere/host-local", ["host-local"], 0x1) = -1 ENOENT (No such file or directory)
100 fdatasync(3)                      = 0
`

func TestCountSyscalls(t *testing.T) {
	c, order := countSyscalls(strings.NewReader(benchStrace))
	want := map[string]int{
		"processes exec'd":              2, // the failed execve is no process
		"threads and processes started": 1,
		"setns (namespace switches)":    2,
		"netlink sockets opened":        2,
		"netlink requests":              3,
		"  of which dumps":              2,
		"fsync + fdatasync":             2,
		"  RTM_GETLINK":                 1, // 0x12 on an NETLINK_ROUTE socket
		"  0x12 (dump)":                 1, // 0x12 on an RDMA socket is not RTM_GETLINK
		"  RTM_GETLINK (dump)":          1,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%q = %d, want %d (all: %v)", k, c[k], v, c)
		}
	}
	if order[0] != "processes exec'd" || !strings.HasPrefix(order[len(order)-1], "  ") {
		t.Errorf("row order = %q: fixed rows first, then request types", order)
	}
}

func TestParseBenchMicro(t *testing.T) {
	out := `goos: linux
pkg: github.com/sriov-rdma/sriov-rdma/pkg/config
BenchmarkLoad-2   	   69267	     14954 ns/op	  46.41 MB/s	    1944 B/op	      35 allocs/op
PASS
pkg: github.com/sriov-rdma/sriov-rdma/pkg/pci
BenchmarkResolve256-2   	   20136	     62005 ns/op
BenchmarkBuild256-2   	       1	1050126203 ns/op
`
	ms, err := parseGoBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("parsed %d benchmarks, want 3: %+v", len(ms), ms)
	}
	if m := ms[0]; m.pkg != "pkg/config" || m.name != "BenchmarkLoad" || m.ns != 14954 || m.bytes != "1944" || m.allocs != "35" {
		t.Errorf("first = %+v", m)
	}
	if m := ms[1]; m.pkg != "pkg/pci" || m.name != "BenchmarkResolve256" || m.bytes != "" {
		t.Errorf("second = %+v", m)
	}
}

func TestBenchVFs(t *testing.T) {
	for env, want := range map[string]int{"": 256, "8": 8, "64": 64, "7": 256, "257": 256, "many": 256} {
		t.Setenv(benchVFsEnv, env)
		if got := benchVFs(); got != want {
			t.Errorf("%s=%q: %d VFs, want %d", benchVFsEnv, env, got, want)
		}
	}
	t.Setenv(benchVFsEnv, "")
	if m, ok := modes()["bench"]; !ok || m.vfs != benchFullVFs {
		t.Errorf("modes() has no bench mode on %d VFs: %+v", benchFullVFs, m)
	}
}

func TestParseBenchArgs(t *testing.T) {
	big := &Lane{root: "/repo", nvfs: 256}
	small := &Lane{root: "/repo", nvfs: 8}
	for _, c := range []struct {
		l    *Lane
		args []string
		err  string
	}{
		{big, nil, "usage"},
		{big, []string{"-out", "x"}, "usage"},
		{big, []string{"sideways", "-out", "x"}, "unknown phase"},
		{big, []string{"full"}, "-out is required"},
		{small, []string{"full", "-out", "x"}, benchVFsEnv},
		{small, []string{"vfcount", "-out", "x"}, ""},
		{big, []string{"full", "-out", "x", "-runs", "2"}, "-runs >= 3"},
	} {
		o, err := parseBenchArgs(c.l, c.args)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one saying %q", c.args, err, c.err)
		case c.err == "" && (o.hostDevice != "/repo/.tools/bin/host-device" || o.runs != 25):
			t.Errorf("%v: defaults %+v", c.args, o)
		}
	}
}

func TestBenchTablesRender(t *testing.T) {
	r := newReport(3)
	r.info("1", "a | b", "1.0 ms")
	r.info("1", "  of which", "2.0 ms")
	r.check("1", "ratio", "0.40", "≤ 0.5", true)
	r.check("2", "floor", "1.40×", "≤ 1.3×", false)
	if r.passed != 1 || r.failed != 1 {
		t.Fatalf("passed %d failed %d, want 1 and 1", r.passed, r.failed)
	}
	md := r.markdown()
	for _, want := range []string{`| 1 | a \| b | 1.0 ms |  |  |`, "| 1 | **ratio** | 0.40 | ≤ 0.5 | PASS |", "| 1 | &nbsp;&nbsp;of which | 2.0 ms |", "| 2 | **floor** | 1.40× | ≤ 1.3× | FAIL |", "1 passed, 1 failed"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Plain text columns line up whatever the characters' byte lengths.
	var sb strings.Builder
	writeTextTable(&sb, []string{"a", "b"}, [][]string{{"≤ 0.5", "x"}, {"<= 0.5", "y"}})
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	col := func(s string) int { return strings.IndexRune(s, []rune(s)[len([]rune(s))-1]) }
	if got := fmt.Sprint(len([]rune(lines[2][:col(lines[2])])), len([]rune(lines[3][:col(lines[3])]))); got != "8 8" {
		t.Errorf("second column starts at runes %s, want 8 8:\n%s", got, sb.String())
	}
}

// Figure 3's two drivers alternate: runs 0, 2, 4 are the small PF's, 1, 3,
// 5 the big one's, whichever side gets going first.
func TestBenchPairAlternates(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var order []int
	side := func(role int) error {
		p := &pairing{dir: dir, ctx: context.Background(), role: role, runs: 3}
		if err := p.ready(); err != nil {
			return err
		}
		for i := range 3 {
			turn := 2*i + role
			if err := p.wait(turn); err != nil {
				return err
			}
			mu.Lock()
			order = append(order, turn)
			mu.Unlock()
			if err := p.pass(turn); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make(chan error, 2)
	go func() { errs <- side(1) }()
	time.Sleep(20 * time.Millisecond) // the big side is ready first
	go func() { errs <- side(0) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(order) != "[0 1 2 3 4 5]" {
		t.Errorf("runs went %v, want strictly alternating 0..5", order)
	}
}

func TestBenchPairStopsWhenTheOtherSideFails(t *testing.T) {
	dir := t.TempDir()
	small := &pairing{dir: dir, ctx: context.Background(), role: 0, runs: 3}
	big := &pairing{dir: dir, ctx: context.Background(), role: 1, runs: 3}
	big.fail()
	if err := small.ready(); err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("ready with a failed other side: %v, want an error saying it failed", err)
	}
	other := &pairing{dir: t.TempDir(), ctx: context.Background(), role: 1, runs: 5}
	if err := other.write(other.path("ready", 0), "3 0\n"); err != nil {
		t.Fatal(err)
	}
	if err := other.ready(); err == nil || !strings.Contains(err.Error(), "runs") {
		t.Errorf("ready with a different run count: %v, want a refusal", err)
	}
}
