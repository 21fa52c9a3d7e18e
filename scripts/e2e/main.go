// Command sriov-rdma-e2e is the real-kernel e2e lane of sriov-rdma and its
// demo. scripts/e2e.sh and scripts/demo.sh build it and run it
// under `unshare --mount --net`; it refuses to run anywhere else, because it
// mounts a tmpfs over /sys.
//
// Inside those namespaces it builds a test node: a fixture sysfs (one PF,
// its VFs, RDMA entries) mounted over /sys so the unchanged binary reads it
// where it reads real sysfs, veth ends standing in for the VF netdevs, their
// peers on a bridge in a "fabric" netns. Then it drives bin/sriov-rdma with
// the real cnitool and host-local (and libcni for GC with a valid list), one
// named case at a time, and tears everything down, also on SIGINT/SIGTERM.
//
//	sriov-rdma-e2e -root REPO -work DIR [-v] [-list] [CASE...]
//	sriov-rdma-e2e -root REPO -work DIR MODE [-v] [ARGS...]   (modes.go: demo, ...)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run()) }

func run() int {
	fs := flag.NewFlagSet("sriov-rdma-e2e", flag.ContinueOnError)
	root := fs.String("root", "", "repository root: bin/sriov-rdma and .tools/bin are found there")
	work := fs.String("work", "", "scratch directory (the caller removes it)")
	verbose := fs.Bool("v", false, "print every command")
	list := fs.Bool("list", false, "list the cases and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	args := fs.Args()
	var md *mode
	if len(args) > 0 {
		if m, ok := modes()[args[0]]; ok {
			md = &m
			if err := fs.Parse(args[1:]); err != nil {
				return 2
			}
			args = fs.Args()
		}
	}
	if *list {
		for i, c := range cases {
			fmt.Printf("%2d %-9s %s\n", i+1, c.name, c.what)
		}
		return 0
	}
	var selected []tcase
	if md == nil {
		var err error
		if selected, err = selectCases(args); err != nil {
			fmt.Fprintln(os.Stderr, "sriov-rdma-e2e:", err)
			return 2
		}
	}
	if *root == "" || *work == "" {
		fmt.Fprintln(os.Stderr, "sriov-rdma-e2e: -root and -work are required (run scripts/e2e.sh or scripts/demo.sh)")
		return 2
	}
	if err := mustBeIsolated(); err != nil {
		fmt.Fprintln(os.Stderr, "sriov-rdma-e2e:", err)
		return 2
	}

	// The first SIGINT/SIGTERM cancels ctx: the running command is killed,
	// no new case starts, and the deferred teardown runs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	l, err := newLane(ctx, *root, *work, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sriov-rdma-e2e:", err)
		return 1
	}
	n := laneVFs
	if md != nil {
		n = md.vfs
	}
	err = l.setUp(n)
	defer func() {
		for _, e := range l.tearDown() {
			fmt.Fprintln(os.Stderr, "teardown:", e)
		}
	}()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Println("interrupted; cleaning up")
			return 130
		}
		fmt.Fprintln(os.Stderr, "sriov-rdma-e2e: set up the test node:", err)
		return 1
	}
	if md != nil {
		rc := md.run(l, args)
		if ctx.Err() != nil {
			fmt.Println("\ninterrupted; cleaning up")
			return 130
		}
		return rc
	}
	if l.verbose {
		fmt.Printf("node ready in %s\n", since(start))
	}
	passed, failed := 0, 0
	for _, c := range selected {
		if ctx.Err() != nil {
			break
		}
		if l.runCase(c) {
			passed++
		} else {
			failed++
		}
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted; cleaning up")
		fmt.Printf("%d passed, %d failed\n", passed, failed)
		return 130
	}
	fmt.Printf("%d passed, %d failed (%s)\n", passed, failed, since(start))
	if failed > 0 {
		return 1
	}
	return 0
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// selectCases maps command-line names or numbers to cases; none means all.
func selectCases(args []string) ([]tcase, error) {
	if len(args) == 0 {
		return cases, nil
	}
	var out []tcase
	for _, a := range args {
		found := false
		for i, c := range cases {
			if a == c.name || a == fmt.Sprint(i+1) {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			var names []string
			for _, c := range cases {
				names = append(names, c.name)
			}
			return nil, fmt.Errorf("no case %q; cases: %s", a, strings.Join(names, " "))
		}
	}
	return out, nil
}

// mustBeIsolated refuses to run in its parent's mount or network namespace
// (scripts/e2e.sh is the parent; unshare execs this binary): the lane mounts
// over /sys, /run and /var/lib/cni and creates links, which must never reach
// the real host.
func mustBeIsolated() error {
	for _, kind := range []string{"mnt", "net"} {
		self, err := os.Readlink("/proc/self/ns/" + kind)
		if err != nil {
			return err
		}
		parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", os.Getppid(), kind))
		if err != nil {
			return fmt.Errorf("cannot compare with the parent's namespaces (%w); run me through scripts/e2e.sh", err)
		}
		if self == parent {
			return errors.New("not in a private mount and network namespace; run me through scripts/e2e.sh or scripts/demo.sh")
		}
	}
	return nil
}
