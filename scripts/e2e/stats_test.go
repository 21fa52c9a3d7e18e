package main

import (
	"testing"
	"time"
)

// The one quantile definition of every figure the driver prints: nearest
// rank. README's Guarantees and Performance tables both rest on it.

func TestPercentileNearestRank(t *testing.T) {
	ms := func(vs ...int) durations {
		var d durations
		for _, v := range vs {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	ten := ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1) // unsorted on purpose
	var hundred durations
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		name string
		d    durations
		p    int
		want time.Duration
	}{
		{"p50 of 1..10 (the lower middle sample, not 5.5)", ten, 50, 5 * time.Millisecond},
		{"p90 of 1..10 (not 9.1)", ten, 90, 9 * time.Millisecond},
		{"p95 of 1..10", ten, 95, 10 * time.Millisecond},
		{"p50 of 1, 2", ms(2, 1), 50, time.Millisecond},
		{"p90 of 1, 2", ms(2, 1), 90, 2 * time.Millisecond},
		{"p50 of 1, 2, 3", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"p90 of 1, 2, 3", ms(3, 1, 2), 90, 3 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p0 of 1..100", hundred, 0, time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p95 of one sample", ms(7), 95, 7 * time.Millisecond},
		{"p50 of none", nil, 50, 0},
	} {
		if got := c.d.percentile(c.p); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if ten.p50() != ten.percentile(50) || ten.p90() != ten.percentile(90) || ten.p95() != ten.percentile(95) || ten.max() != 10*time.Millisecond {
		t.Errorf("p50/p90/p95/max of 1..10 = %v %v %v %v", ten.p50(), ten.p90(), ten.p95(), ten.max())
	}
	if ten[0] != 10*time.Millisecond {
		t.Error("a percentile sorted the caller's samples in place")
	}
}

func TestLatencyFigure(t *testing.T) {
	d := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3*time.Millisecond + 40*time.Microsecond, 2 * time.Millisecond}
	if got, want := latency(d), "n=4 p50 2ms p95 4ms max 4ms"; got != want {
		t.Errorf("latency = %q, want %q", got, want)
	}
	if got := latency(nil); got != "n=0" {
		t.Errorf("latency of nothing = %q", got)
	}
}

func TestDurationCells(t *testing.T) {
	for d, want := range map[time.Duration]string{1490 * time.Microsecond: "1.49 ms", 42840 * time.Microsecond: "42.8 ms"} {
		if got := fmtMS(d); got != want {
			t.Errorf("fmtMS(%v) = %q, want %q", d, got, want)
		}
	}
	if got := fmtP50P90(fromMillis([]float64{3, 1, 2})); got != "2.00 ms / 3.00 ms" {
		t.Errorf("fmtP50P90 = %q", got)
	}
	if got := fmtMiB(25 << 20); got != "25.0 MiB" {
		t.Errorf("fmtMiB = %q", got)
	}
	for ns, want := range map[float64]string{500: "500 ns", 14954: "15.0 µs", 1050126203: "1050.13 ms"} {
		if got := fmtNS(ns); got != want {
			t.Errorf("fmtNS(%v) = %q, want %q", ns, got, want)
		}
	}
}
