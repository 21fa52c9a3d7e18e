package main

// The statistics of every harness of the driver: the bench's tables
// (README's Performance section) and the reliability harnesses' figures
// (its Guarantees table) both take their quantiles from here, so a p50 in
// one means what it means in the other.
//
// Quantiles are nearest-rank: the p-th percentile of n samples is the
// ⌈p·n/100⌉-th smallest (the smallest for p = 0, the largest for p = 100).
// Every figure is a run that happened, never a value between two runs: of
// an odd number of samples p50 is the middle one, of an even number the
// lower of the two in the middle.

import (
	"fmt"
	"slices"
	"time"
)

// durations is a series of measured times, in the order they were taken.
type durations []time.Duration

// percentile is the p-th percentile of d (p in 0..100), nearest rank; 0
// when d is empty. d itself is left in its order.
func (d durations) percentile(p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	rank := (p*len(s) + 99) / 100 // ⌈p·n/100⌉ in integers: exact
	return s[min(max(rank, 1), len(s))-1]
}

func (d durations) p50() time.Duration { return d.percentile(50) }
func (d durations) p90() time.Duration { return d.percentile(90) }
func (d durations) p95() time.Duration { return d.percentile(95) }
func (d durations) max() time.Duration { return d.percentile(100) }

// latency renders count, p50, p95 and max of ds: a reliability figure.
func latency(ds []time.Duration) string {
	d := durations(ds)
	if len(d) == 0 {
		return "n=0"
	}
	r := func(x time.Duration) string { return x.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("n=%d p50 %s p95 %s max %s", len(d), r(d.p50()), r(d.p95()), r(d.max()))
}

// millis is d in milliseconds, the unit of the bench's tables and JSON.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMillis is the inverse of millis over a series.
func fromMillis(v []float64) durations {
	d := make(durations, len(v))
	for i, x := range v {
		d[i] = time.Duration(x * float64(time.Millisecond))
	}
	return d
}

// fmtMS renders d in milliseconds: three significant digits from 1 ms up.
func fmtMS(d time.Duration) string {
	if d >= 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", millis(d))
	}
	return fmt.Sprintf("%.2f ms", millis(d))
}

// fmtP50P90 is the bench's "p50 / p90" cell.
func fmtP50P90(d durations) string { return fmtMS(d.p50()) + " / " + fmtMS(d.p90()) }

// fmtNS renders a time per operation of `go test -bench`.
func fmtNS(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.0f ns", ns)
	}
}

func fmtMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
