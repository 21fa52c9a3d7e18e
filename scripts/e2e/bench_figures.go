package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

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
