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

	cfg, cfgErr := config.LoadLenient(args.StdinData, args.Args)
	r.useConfig(cfg)
	if cfgErr != nil {
		r.log.Warn("netconf does not validate; GC works from the journals", "error", cfgErr)
	}
	valid := map[string]bool{}
	for _, va := range cfg.Net.ValidAttachments {
		if k, err := state.Key(va.ContainerID, va.IfName); err == nil {
			valid[k] = true
		}
	}
	store := state.Store{Dir: cfg.StateDir}
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
		if errors.Is(err, state.ErrCorrupt) {
			r.log.Error("dropping corrupt journal", "journal", k, "error", err)
			errs = append(errs, store.RemoveKey(k))
			continue
		}
		if err != nil {
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
		return cniError(types.ErrInternal, "gc: %v", err)
	}
	return nil
}
