// Package ipam runs the IPAM plugin a netconf names, with explicit CNI
// arguments rather than the caller's environment: DEL, GC and reclaim
// release addresses for attachments other than the one being invoked.
package ipam

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

// Call is one IPAM invocation.
type Call struct {
	Type        string // plugin binary name, from ipam.type
	Conf        []byte // the netconf, passed on stdin
	ContainerID string
	Netns       string
	IfName      string
	Args        string // CNI_ARGS
	Path        string // CNI_PATH
}

// Exec finds the plugin in CNI_PATH and runs it.
type Exec struct{}

func (c Call) run(ctx context.Context, cmd string, withResult bool) (types.Result, error) {
	bin, err := invoke.FindInPath(c.Type, filepath.SplitList(c.Path))
	if err != nil {
		return nil, fmt.Errorf("find ipam plugin %q in CNI_PATH %q: %w", c.Type, c.Path, err)
	}
	args := &invoke.Args{
		Command:       cmd,
		ContainerID:   c.ContainerID,
		NetNS:         c.Netns,
		IfName:        c.IfName,
		PluginArgsStr: TolerantArgs(c.Args),
		Path:          c.Path,
	}
	if withResult {
		res, err := invoke.ExecPluginWithResult(ctx, bin, c.Conf, args, nil)
		if err != nil {
			return nil, fmt.Errorf("ipam %s %s: %w", c.Type, cmd, err)
		}
		return res, nil
	}
	if err := invoke.ExecPluginWithoutResult(ctx, bin, c.Conf, args, nil); err != nil {
		return nil, fmt.Errorf("ipam %s %s: %w", c.Type, cmd, err)
	}
	return nil, nil
}

// Add allocates addresses.
func (Exec) Add(ctx context.Context, c Call) (types.Result, error) { return c.run(ctx, "ADD", true) }

// Del releases them.
func (Exec) Del(ctx context.Context, c Call) error {
	_, err := c.run(ctx, "DEL", false)
	return err
}

// Check asks the IPAM plugin to verify its allocation.
func (Exec) Check(ctx context.Context, c Call) error {
	_, err := c.run(ctx, "CHECK", false)
	return err
}

// GC forwards garbage collection.
func (Exec) GC(ctx context.Context, c Call) error {
	_, err := c.run(ctx, "GC", false)
	return err
}

// Status asks whether the IPAM plugin is ready.
func (Exec) Status(ctx context.Context, c Call) error {
	_, err := c.run(ctx, "STATUS", false)
	return err
}

// TolerantArgs adds IgnoreUnknown=1 to CNI_ARGS that lack it. The K8S_POD_*
// keys are meant for plugins that know them; IPAM plugins such as
// host-local refuse any key they do not know unless told to ignore them.
// Multus always sends IgnoreUnknown=1; cnitool and hand-run callers often
// do not, and the address must not fail for it.
func TolerantArgs(args string) string {
	if args == "" {
		return ""
	}
	for _, kv := range strings.Split(args, ";") {
		// Case-sensitive, as types.LoadArgs matches keys: a lower-case
		// "ignoreunknown" is just one more unknown key to the plugin.
		if k, _, _ := strings.Cut(kv, "="); k == "IgnoreUnknown" {
			return args
		}
	}
	return "IgnoreUnknown=1;" + args
}
