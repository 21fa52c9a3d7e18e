package main

import (
	"fmt"
	"os"
)

// A mode is a run of the driver other than the case lane (`sriov-rdma-e2e
// -root R -work W MODE [args]`). It gets a node with its own number of VFs,
// set up and torn down by the driver, and returns the process exit code.
// Harnesses (crash matrix, stress, bench) each add one entry here and keep
// their code in files of their own.
type mode struct {
	vfs int
	run func(l *Lane, args []string) int
}

func modes() map[string]mode {
	return map[string]mode{
		"demo": {demoVFs, func(l *Lane, _ []string) int {
			if err := l.demo(); err != nil {
				fmt.Fprintln(os.Stderr, "demo failed:", err)
				return 1
			}
			return 0
		}},
		// The reliability harnesses (scripts/reliability.sh).
		"crash":   {crashVFs(), crashMode},
		"stress":  {stressVFs, stressMode},
		"hostile": {hostileVFs, hostileMode},
		// The measurement harness (scripts/bench.sh).
		"bench": {benchVFs(), runBench},
	}
}
