package sriovrdma

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// Fault sequences: seeded random runs of ADD, DEL, CHECK and GC over several
// VFs and pods, with netlink (and IPAM) errors and crashes injected at random
// calls. Each sequence prints its seed; a failure reproduces from it:
//
//	SRIOV_RDMA_FAULTSEQ_SEED=<n> go test -race -run TestFaultSequences ./plugins/sriovrdma/
//
// SRIOV_RDMA_FAULTSEQ_COUNT sets how many sequences run (seeds BASE..BASE+COUNT-1,
// BASE from SRIOV_RDMA_FAULTSEQ_BASE, default 1); `make reliability` runs 1000.
//
// This file is the entry; the engine (faults armed per op, the sequence,
// settle) is in faultseq_engine_test.go, the ops and what each must do in
// faultseq_ops_test.go, the world model and the invariants in
// faultseq_world_test.go, and the fault wrappers in faults_test.go.
const (
	faultSeqSeedEnv      = "SRIOV_RDMA_FAULTSEQ_SEED"
	faultSeqCountEnv     = "SRIOV_RDMA_FAULTSEQ_COUNT"
	faultSeqBaseEnv      = "SRIOV_RDMA_FAULTSEQ_BASE"
	faultSeqDefaultCount = 50

	seqVFs  = 3
	seqPods = 3
	// seqFaultP is the chance that an op is armed with a fault.
	seqFaultP = 0.45
	// seqMaxCall bounds the call number an armed error hits; a number past
	// the op's last call leaves the op clean, which is counted as clean.
	seqMaxCall = 24
)

func faultSeqSeeds(t *testing.T) []int64 {
	t.Helper()
	if s := os.Getenv(faultSeqSeedEnv); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeqSeedEnv, s, err)
		}
		return []int64{seed}
	}
	count, base := faultSeqDefaultCount, int64(1)
	if s := os.Getenv(faultSeqCountEnv); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil || c < 1 {
			t.Fatalf("%s=%q: want a positive count", faultSeqCountEnv, s)
		}
		count = c
	}
	if s := os.Getenv(faultSeqBaseEnv); s != "" {
		b, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeqBaseEnv, s, err)
		}
		base = b
	}
	seeds := make([]int64, count)
	for i := range seeds {
		seeds[i] = base + int64(i)
	}
	return seeds
}

// seqKind is the RDMA flavour of a sequence's node; the seed picks it.
type seqKind int

const (
	seqHW seqKind = iota
	seqSoft
	seqNoRDMA
	seqKinds
)

func (k seqKind) opts() nodeOpts {
	o := nodeOpts{vfs: seqVFs}
	switch k {
	case seqHW:
		o.hwRDMA = true
	case seqSoft:
		o.softRDMA = true
	}
	return o
}

func (k seqKind) String() string { return [...]string{"hw-rdma", "soft-rdma", "no-rdma"}[k] }

// TestFaultSequences runs the sequences. Nodes are reused between
// sequences: a sequence that passes leaves its node exactly at baseline
// (that is what it asserts), so the next one starts as on a fresh node. A
// node whose sequence failed is thrown away.
func TestFaultSequences(t *testing.T) {
	needRoot(t)
	seeds := faultSeqSeeds(t)
	t.Logf("%d sequences, seeds %d..%d (replay one with %s=<seed>)", len(seeds), seeds[0], seeds[len(seeds)-1], faultSeqSeedEnv)
	pool := map[seqKind]*seqNode{}
	var stats seqStats
	start := time.Now()
	for _, seed := range seeds {
		rng := rand.New(rand.NewSource(seed))
		kind := seqKind(rng.Intn(int(seqKinds)))
		if pool[kind] == nil {
			pool[kind] = newSeqNode(t, kind)
		}
		sn := pool[kind]
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := &faultSeq{t: t, seed: seed, rng: rng, sn: sn, n: sn.n, kind: kind}
			defer stats.add(&s.stats)
			s.run()
		})
		if !ok {
			pool[kind] = nil // left as the failure found it
		}
	}
	t.Logf("%d sequences in %s: %s", len(seeds), time.Since(start).Round(time.Millisecond), stats)
}

type seqStats struct {
	ops, faulted, fired, crashes, delRetries, opErrors int
}

func (s *seqStats) add(o *seqStats) {
	s.ops += o.ops
	s.faulted += o.faulted
	s.fired += o.fired
	s.crashes += o.crashes
	s.delRetries += o.delRetries
	s.opErrors += o.opErrors
}

func (s seqStats) String() string {
	return fmt.Sprintf("%d ops, %d armed with a fault, %d faults fired (%d crashes), %d failed ops, %d DEL retries",
		s.ops, s.faulted, s.fired, s.crashes, s.opErrors, s.delRetries)
}

// seqNode is a test node whose dependencies are wrapped by seqFaults, and
// its baseline.
type seqNode struct {
	n    *node
	f    *seqFaults
	base seqBaseline
	// pods outlive sequences too: each sequence ends with them empty.
	pods []*pod
	// devinfo holds the device-info files ADD is asked to write.
	devinfo string
}

type seqBaseline struct {
	host  map[string]linkState
	index []int // ifindex of VF i's netdev
	vfs   []vf.State
	rdma  string
}

func newSeqNode(t *testing.T, kind seqKind) *seqNode {
	n := newNode(t, kind.opts())
	f := &seqFaults{}
	n.withFaults(f)
	n.p.Fault = f.fault
	// A lock held past an op is a bug the invariants catch; no need to wait.
	n.p.LockWait = 300 * time.Millisecond
	sn := &seqNode{n: n, f: f, devinfo: t.TempDir()}
	sn.base.host = links(t, n.host)
	for i := 0; i < seqVFs; i++ {
		l, ok := sn.base.host[fmt.Sprintf("vf%d", i)]
		if !ok {
			t.Fatalf("vf%d missing from the new node", i)
		}
		sn.base.index = append(sn.base.index, l.Index)
		sn.base.vfs = append(sn.base.vfs, n.vfs.State("pf0", i))
	}
	sn.base.rdma = n.rdma.dump()
	for i := 0; i < seqPods; i++ {
		sn.pods = append(sn.pods, n.newPod(fmt.Sprintf("pod%d", i)))
	}
	return sn
}
