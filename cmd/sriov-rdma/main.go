// Command sriov-rdma is the CNI plugin. Run by a container runtime it serves
// the CNI verbs; run by hand with "inspect" it describes the node's VFs.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/inspect"
	"github.com/sriov-rdma/sriov-rdma/plugins/sriovrdma"
)

// Namespace switches happen on locked OS threads; the main thread is locked
// from the start so that no goroutine can leave it in a pod namespace.
func init() { runtime.LockOSThread() }

// buildVersion and buildCommit are set by the Makefile with -ldflags.
var (
	buildVersion = "0.0.0-unknown"
	buildCommit  = "unknown"
)

func main() {
	// A runtime never passes arguments; an operator types "inspect" or
	// "--version".
	if len(os.Args) > 1 && os.Args[1] == "inspect" {
		build := &inspect.Build{Version: buildVersion, Commit: buildCommit}
		os.Exit(inspect.CLI{Options: inspect.Options{Build: build}}.Run(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Printf("sriov-rdma %s (commit %s)\n", buildVersion, buildCommit)
		return
	}
	p := sriovrdma.New()
	p.Version, p.Commit = buildVersion, buildCommit
	p.Fault = faultPoint
	funcs := skel.CNIFuncs{
		Add:    p.Add,
		Del:    p.Del,
		Check:  p.Check,
		GC:     p.GC,
		Status: p.Status,
	}
	info := config.VersionInfo()
	stdin := stdinFor(os.Getenv("CNI_COMMAND"), os.Stdin)
	os.Exit(serve(os.Getenv, stdin, os.Stdout, info, func(stdin []byte) *types.Error {
		if stdin != nil { // nil: serve did not read it, and skel will not
			if err := refeedStdin(stdin); err != nil {
				return types.NewError(sriovrdma.CodeIOFailure, fmt.Sprintf("stdin: %v", err), "")
			}
		}
		return skel.PluginMainFuncsWithError(funcs, info, "CNI sriov-rdma plugin "+buildVersion+" (commit "+buildCommit+")")
	}))
}
