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

// Run parses args, collects and prints the report; it returns the exit code.
func (c CLI) Run(args []string, stdout, stderr io.Writer) int {
	o := c.Options
	fs := flag.NewFlagSet("sriov-rdma inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON")
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "sriov-rdma inspect: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return ExitUsage
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
		_, _ = fmt.Fprintln(stderr, "sriov-rdma inspect: "+MsgNotRoot)
		return ExitFailure
	}

	rep, err := Collect(o)
	if rep != nil {
		write := WriteText
		if *asJSON {
			write = WriteJSON
		}
		if werr := write(stdout, rep); werr != nil {
			_, _ = fmt.Fprintf(stderr, "sriov-rdma inspect: write report: %v\n", werr)
			return ExitFailure
		}
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "sriov-rdma inspect: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
