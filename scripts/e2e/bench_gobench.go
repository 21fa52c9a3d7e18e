package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

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
