//go:build faultinject

package main

import (
	"os"
	"syscall"
)

// FaultEnv names the fault point at which the fault-injection build kills
// itself with SIGKILL, the way an OOM kill or a node crash would stop it.
const FaultEnv = "SRIOV_RDMA_FAULT"

func faultPoint(point string) {
	if os.Getenv(FaultEnv) == point {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is asynchronous; never run past the point
	}
}
