package sriovrdma

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Status reports whether the plugin can serve ADD: its state directory is
// writable, the RDMA netns mode allows what the rdma policy demands, and the
// IPAM plugin is ready.
func (p *Plugin) Status(args *skel.CmdArgs) (err error) {
	r := p.begin("STATUS", args)
	defer func() { err = r.finish(err) }()

	// STATUS is asked per network, before any pod: per-pod values such as
	// deviceID are absent by design, and a config error is ADD's to report.
	cfg, cfgErr := config.LoadLenientWith(args.StdinData, args.Args, p.Options)
	r.useConfig(cfg, p.NodeErr)
	if cfgErr != nil {
		r.log.Debug("netconf incomplete for ADD; STATUS checks readiness only", "error", cfgErr)
	}
	if err := writable(state.Store{Dir: cfg.StateDir, Root: cfg.StateRoot}); err != nil {
		return cniError(types.ErrPluginNotAvailable, "stateDir %s is not writable: %v", cfg.StateDir, err)
	}
	mode, err := p.RDMA.NetnsMode()
	switch {
	case err != nil:
		r.fact("rdmaNetnsMode", "unavailable")
		if cfg.RDMA == config.RDMARequired {
			reason := err.Error()
			if errors.Is(err, rdma.ErrNoRDMA) {
				reason = "this kernel has no RDMA subsystem"
			}
			return cniError(types.ErrPluginNotAvailable, "rdma: required, but %s", reason)
		}
	default:
		r.fact("rdmaNetnsMode", mode)
		if mode != rdma.ModeExclusive && cfg.RDMA == config.RDMARequired {
			return cniError(types.ErrPluginNotAvailable, "rdma: required, but the RDMA subsystem is in %s netns mode; run `rdma system set netns exclusive` at boot, before any pod netns exists", mode)
		}
	}
	if cfg.IPAMType != "" {
		if err := p.IPAM.Status(context.Background(), ipam.Call{Type: cfg.IPAMType, Conf: cfg.Raw, Path: args.Path}); err != nil {
			var e *types.Error
			if errors.As(err, &e) {
				return e
			}
			return cniError(types.ErrPluginNotAvailable, "ipam %s: %v", cfg.IPAMType, err)
		}
	}
	return nil
}

// writable proves the state directory takes a file, the way ADD will use it.
func writable(store state.Store) error {
	if err := store.Init(); err != nil {
		return err
	}
	f, err := os.CreateTemp(store.Dir, ".status-*")
	if err != nil {
		return fmt.Errorf("create probe file: %w", err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}
