package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// cmdTimeout bounds one command: the plugin's own lock wait is 10 s, so a
// hung command shows up as a failure well before CI's patience runs out.
const cmdTimeout = 30 * time.Second

// The plugin's own files live under the roots it accepts from a netconf
// (/var/lib/cni, /run, /var/log), each a tmpfs of the lane's private mount
// namespace, so the lane needs no setting that widens them.
const (
	laneStateDir = "/var/lib/cni/sriov-rdma"
	laneLogDir   = "/var/log/sriov-rdma"
)

// Lane is one run: the node it built and the tools that drive the plugin.
type Lane struct {
	ctx     context.Context
	verbose bool

	root    string // repository
	plugin  string // bin/sriov-rdma, the binary we ship
	cnitool string
	cniPath string // CNI_PATH: the plugin and host-local

	work     string
	stateDir string // the plugin's stateDir (journals)
	ipamDir  string // host-local's dataDir
	confDir  string // one NETCONFPATH per network
	logDir   string // the plugin's logFile per network

	// undo is the teardown stack, run in reverse.
	undo []undoStep
	// baseline is each VF netdev as the node began (or as the lane last
	// re-created it): what every case must leave behind.
	baseline map[string]link
	nvfs     int
	vfs      []vfSpec
	// userspaceVF is the PCI address of the lane's vfio-pci VF ("" when
	// the node has none).
	userspaceVF string
}

type undoStep struct {
	what string
	fn   func() error
}

func newLane(ctx context.Context, root, work string, verbose bool) (*Lane, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	l := &Lane{
		ctx: ctx, verbose: verbose, root: root, work: work,
		plugin:   filepath.Join(root, "bin", "sriov-rdma"),
		cnitool:  filepath.Join(root, ".tools", "bin", "cnitool"),
		cniPath:  filepath.Join(root, "bin") + ":" + filepath.Join(root, ".tools", "bin"),
		stateDir: laneStateDir,
		ipamDir:  filepath.Join(work, "ipam"),
		confDir:  filepath.Join(work, "netconf"),
		logDir:   laneLogDir,
		baseline: map[string]link{},
	}
	for _, f := range []string{l.plugin, l.cnitool, filepath.Join(root, ".tools", "bin", "host-local")} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w (scripts/e2e.sh builds and installs it)", err)
		}
	}
	// stateDir is left for the plugin to create, as on a fresh node; the
	// log directory is made once its tmpfs is mounted (node.go).
	for _, d := range []string{l.ipamDir, l.confDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Lane) onTearDown(what string, fn func() error) {
	l.undo = append(l.undo, undoStep{what, fn})
}

// tearDown runs the undo stack, all of it, whatever fails.
func (l *Lane) tearDown() []error {
	var errs []error
	for i := len(l.undo) - 1; i >= 0; i-- {
		if err := l.undo[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.undo[i].what, err))
		}
	}
	l.undo = nil
	return errs
}

// result of one command.
type result struct {
	cmdline string
	stdout  string
	stderr  string
	code    int // exit status; -1 when it did not run or was killed
	err     error
}

func (r result) ok() bool { return r.err == nil && r.code == 0 }

// output is what a person reading a failure wants to see.
func (r result) output() string {
	s := strings.TrimSpace(r.stdout)
	if e := strings.TrimSpace(r.stderr); e != "" {
		if s != "" {
			s += "\n"
		}
		s += e
	}
	return s
}

func (r result) String() string {
	s := fmt.Sprintf("`%s`: exit %d", r.cmdline, r.code)
	if r.err != nil && r.code == -1 {
		s = fmt.Sprintf("`%s`: %v", r.cmdline, r.err)
	}
	if out := r.output(); out != "" {
		s += ": " + oneLine(out)
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// runCtx executes a command with env added to the lane's environment. The
// teardown runs after ctx is cancelled, so it passes its own context.
func (l *Lane) runCtx(ctx context.Context, env []string, stdin []byte, name string, args ...string) result {
	if l.verbose {
		fmt.Printf("    $ %s\n", shellLine(env, name, args))
	}
	r, _, _ := execute(ctx, cleanEnv(), env, stdin, name, args...)
	return r
}

// execute runs name with args under cmdTimeout, env added to base, stdin
// if any. wall is cmd.Run alone: fork to reaped exit; state is the
// process's (its resource usage), nil when it did not start.
func execute(ctx context.Context, base, env []string, stdin []byte, name string, args ...string) (r result, wall time.Duration, state *os.ProcessState) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(slices.Clip(base), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r = result{cmdline: shellLine(env, name, args)}
	start := time.Now()
	err := cmd.Run()
	wall = time.Since(start)
	r.stdout, r.stderr = out.String(), errb.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
		r.err = err
	default:
		r.code = -1
		r.err = err
		if ctx.Err() != nil {
			r.err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
	}
	return r, wall, cmd.ProcessState
}

func (l *Lane) run(env []string, stdin []byte, name string, args ...string) result {
	return l.runCtx(l.ctx, env, stdin, name, args...)
}

// cleanEnv is the driver's environment without anything that would change
// what cnitool or the plugin do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CNI_") || k == "NETCONFPATH" || k == "CAP_ARGS" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// shellLine renders a command the way one would type it, for logs and the demo.
func shellLine(env []string, name string, args []string) string {
	var parts []string
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		parts = append(parts, k+"="+shellQuote(v))
	}
	parts = append(parts, filepath.Base(name))
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		safe := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r)
		return !safe
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// poll calls f until it returns nil or timeout passes; the last error wins.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	wait := 5 * time.Millisecond
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// contextForTeardown is the context of teardown commands: they must run
// after an interrupt cancelled the lane's own.
func contextForTeardown() context.Context { return context.Background() }
