package sriovrdma

import (
	"context"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// GC restores every journalled attachment of this network that is not in
// cni.dev/valid-attachments (a missing list means none is valid), then
// forwards GC to IPAM so it can drop addresses it holds for them too.
// Attachments of other networks sharing the state directory are not this
// GC's to judge: the runtime sends each network its own valid list.
func (p *Plugin) GC(args *skel.CmdArgs) (err error) {
	r := p.begin("GC", args)
	defer func() { err = r.finish(err) }()

	cfg, cfgErr := config.LoadLenientWith(args.StdinData, args.Args, p.Options)
	r.useConfig(cfg, p.NodeErr)
	if cfgErr != nil {
		r.log.Warn("netconf does not validate; GC works from the journals", "error", cfgErr)
	}
	valid := map[string]bool{}
	for _, va := range cfg.Net.ValidAttachments {
		if k, err := state.Key(va.ContainerID, va.IfName); err == nil {
			valid[k] = true
		}
	}
	store := state.Store{Dir: cfg.StateDir, Root: cfg.StateRoot}
	keys, err := store.List()
	if err != nil {
		return cniError(types.ErrIOFailure, "%v", err)
	}
	host, boot, err := p.hostAndBoot()
	if err != nil {
		return err
	}
	defer func() { _ = host.Close() }()

	var errs []error
	restored := 0
	for _, k := range keys {
		if valid[k] {
			continue
		}
		rec, err := store.ReadKey(k)
		switch {
		case errors.Is(err, state.ErrNewer):
			r.log.Warn("journal written by a newer plugin; left for the DEL that owns it", "journal", k, "error", err)
			continue
		case errors.Is(err, state.ErrCorrupt):
			// GC deletes only what it can prove is its own network's.
			if rec = p.salvageOwn(cfg, k, store.Path(k), args.Path); rec == nil {
				r.log.Warn("journal does not decode and does not show it is this network's; left for the DEL that owns it", "journal", k, "error", err)
				continue
			}
			r.log.Warn("journal does not decode; restoring what it still tells", "journal", k, "error", err)
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if rec.Network != cfg.Net.Name {
			continue
		}
		lock, err := p.lockVF(rec.DeviceID)
		if err != nil {
			errs = append(errs, fmt.Errorf("lock %s for %s: %w", rec.DeviceID, k, err))
			continue
		}
		if err := p.delLocked(r, host, boot, rec, store.Path(k), lock); err != nil {
			errs = append(errs, err)
			continue
		}
		restored++
		r.log.Info("GC restored attachment", "journal", k, "device", rec.DeviceID)
	}
	r.fact("restored", restored)
	r.mark("restore")

	if cfg.IPAMType != "" {
		if err := p.IPAM.GC(context.Background(), ipam.Call{Type: cfg.IPAMType, Conf: cfg.Raw, Path: args.Path}); err != nil {
			errs = append(errs, err)
		}
		r.mark("ipam")
	}
	if err := errors.Join(errs...); err != nil {
		return cniError(gcCode(errs), "gc: %v", err)
	}
	return nil
}

// gcCode is "try again later" when every failure was a VF still on its way
// back from a dying pod netns, and an internal error otherwise.
func gcCode(errs []error) uint {
	for _, err := range errs {
		var e *types.Error
		if err != nil && (!errors.As(err, &e) || e.Code != types.ErrTryAgainLater) {
			return types.ErrInternal
		}
	}
	return types.ErrTryAgainLater
}
