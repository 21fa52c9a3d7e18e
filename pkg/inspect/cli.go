package inspect

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Exit codes of `sriov-rdma inspect`.
const (
	ExitOK      = 0
	ExitFailure = 1 // not root, no SR-IOV, sysfs unreadable
	ExitUsage   = 2 // bad flags
)

// MsgNotRoot is what a non-root user is told.
const MsgNotRoot = "inspect reads VF state and journals that only root can read: run it as root"

const usage = `usage: sriov-rdma inspect [--json] [--state-dir DIR]...

Describes every SR-IOV VF of this node, read-only: per PF, each VF's PCI
address, netdev, driver, RDMA device, whether it has RoCE v2, its state
(free, in pod, stale) and owner (pod, container ID, interface) from the
plugin's journals; the RDMA netns mode; journals left by pods that are gone.

Flags:
`

// CLI is `sriov-rdma inspect`. The zero value inspects this node.
type CLI struct {
	// Options are the defaults flags start from.
	Options Options
	// IsRoot reports whether the caller may read journals and lock files;
	// nil checks the effective UID.
	IsRoot func() bool
}

// Run is `sriov-rdma inspect ARGS...` on this node; it returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return CLI{}.Run(args, stdout, stderr)
}

// Failure is the "error" object of --json output: fleet collection pipes
// stdout, so a node that cannot be inspected still answers in JSON.
type Failure struct {
	// Kind is one of not-root, usage, no-sriov, no-vfs, sysfs.
	Kind     string `json:"kind"`
	Message  string `json:"message"`
	ExitCode int    `json:"exitCode"`
}

// Failure kinds.
const (
	FailNotRoot = "not-root"
	FailUsage   = "usage"
	FailNoSRIOV = "no-sriov"
	FailNoVFs   = "no-vfs"
	FailSysfs   = "sysfs"
)

// Output is what --json prints: the report (as much of it as was read)
// and, when inspect failed, the error.
type Output struct {
	*Report
	Error *Failure `json:"error,omitempty"`
}

// Run parses args, collects and prints the report; it returns the exit code.
// With --json, stdout carries one JSON document whatever happens.
func (c CLI) Run(args []string, stdout, stderr io.Writer) int {
	o := c.Options
	fs := flag.NewFlagSet("sriov-rdma inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON; errors too, as an \"error\" object")
	var dirs []string
	fs.Func("state-dir", "a state directory to read journals from, repeatable (default "+config.DefaultStateDir+"); set it to each network's stateDir", func(s string) error {
		if !filepath.IsAbs(s) {
			return fmt.Errorf("%q is not an absolute path", s)
		}
		dirs = append(dirs, s)
		return nil
	})
	lockDir := fs.String("lock-dir", orDefault(o.LockDir, state.DefaultLockDir), "the per-VF lock directory")
	sysfs := fs.String("sysfs", orDefault(o.SysfsRoot, "/sys"), "the sysfs root (for tests and captured trees)")
	fail := func(rep *Report, kind string, code int, msg string) int {
		_, _ = fmt.Fprintln(stderr, "sriov-rdma inspect: "+msg)
		if *asJSON || (kind == FailUsage && wantsJSON(args)) {
			_ = WriteJSON(stdout, &Output{Report: rep, Error: &Failure{Kind: kind, Message: msg, ExitCode: code}})
		}
		return code
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return fail(nil, FailUsage, ExitUsage, err.Error())
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fail(nil, FailUsage, ExitUsage, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if len(dirs) > 0 {
		o.StateDirs = dirs
	}
	o.LockDir, o.SysfsRoot = *lockDir, *sysfs

	isRoot := c.IsRoot
	if isRoot == nil {
		isRoot = func() bool { return os.Geteuid() == 0 }
	}
	if !isRoot() {
		return fail(nil, FailNotRoot, ExitFailure, MsgNotRoot)
	}

	rep, err := Collect(o)
	if err != nil {
		kind := FailSysfs
		switch {
		case errors.Is(err, ErrNoSRIOV):
			kind = FailNoSRIOV
		case errors.Is(err, ErrNoVFs):
			kind = FailNoVFs
		}
		if rep != nil && !*asJSON {
			_ = WriteText(stdout, rep)
		}
		return fail(rep, kind, ExitFailure, err.Error())
	}
	write := WriteText
	if *asJSON {
		write = func(w io.Writer, r *Report) error { return WriteJSON(w, &Output{Report: r}) }
	}
	if werr := write(stdout, rep); werr != nil {
		_, _ = fmt.Fprintf(stderr, "sriov-rdma inspect: write report: %v\n", werr)
		return ExitFailure
	}
	return ExitOK
}

// wantsJSON reports whether args ask for --json even though they did not
// parse: a bad flag next to --json still gets a JSON answer.
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		switch a {
		case "-json", "--json", "-json=true", "--json=true", "-json=1", "--json=1":
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
