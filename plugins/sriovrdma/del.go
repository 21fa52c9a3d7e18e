package sriovrdma

import (
	"context"
	"errors"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/config"
	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// Del puts back everything ADD changed, from the journal. It succeeds when
// there is nothing left to undo: no journal, no netns, no link, a second DEL.
func (p *Plugin) Del(args *skel.CmdArgs) (err error) {
	r := p.begin("DEL", args)
	defer func() { err = r.finish(err) }()

	// A DEL must work even if the config no longer validates: the journal,
	// not today's netconf, says what to undo.
	cfg, cfgErr := config.LoadLenientWith(args.StdinData, args.Args, p.Options)
	r.useConfig(cfg, p.NodeErr)
	if cfgErr != nil {
		r.log.Warn("netconf does not validate; DEL works from the journal", "error", cfgErr)
	}
	r.mark("parse")
	key, err := state.Key(args.ContainerID, args.IfName)
	if err != nil {
		return cniError(types.ErrInvalidEnvironmentVariables, "%v", err)
	}
	store := state.Store{Dir: cfg.StateDir, Root: cfg.StateRoot}
	rec, err := store.Read(args.ContainerID, args.IfName)
	switch {
	case errors.Is(err, state.ErrNotFound), errors.Is(err, state.ErrForeign):
		// Nothing journalled: nothing of ours is on the host. Release the
		// address anyway in case the IPAM plugin holds one (idempotent).
		p.releaseUnjournalled(r, cfg, args)
		return nil
	case errors.Is(err, state.ErrCorrupt):
		r.log.Error("journal is corrupt; restoring what it and the netconf still tell", "journal", key, "error", err)
		rec = p.salvage(cfg, args, store.Path(key))
		if rec == nil {
			p.releaseUnjournalled(r, cfg, args)
			return store.RemoveKey(key)
		}
	case err != nil:
		return cniError(types.ErrIOFailure, "read journal %s: %v", key, err)
	}
	r.fact("deviceID", rec.DeviceID)
	r.fact("rdma", rdmaNames(rec.RDMA))
	if (rec.IPAM.Type == "" || len(rec.IPAM.Config) == 0) && cfg.IPAMType != "" {
		// A journal that lost its IPAM record (hand-edited, damaged): today's
		// netconf is the best left; IPAM DEL of nothing is harmless.
		rec.IPAM = state.IPAM{Type: cfg.IPAMType, Config: cfg.Raw, Args: args.Args, Path: args.Path}
	}
	if args.Netns != "" && rec.Netns == "" {
		rec.Netns = args.Netns
	}

	host, boot, err := p.hostAndBoot()
	if err != nil {
		return err
	}
	defer func() { _ = host.Close() }()

	lock, err := p.lockVF(rec.DeviceID)
	if err != nil {
		return err
	}
	r.mark("lock")
	return p.delLocked(r, host, boot, rec, store.Path(key), lock)
}

// delLocked restores rec with its VF's lock held, then releases the lock.
// A VF another attachment owns now (it reclaimed this one, or the node
// rebooted) is left alone: only the address and the journal are ours. A VF
// still on its way back from a dying pod netns is answered "try again
// later", with the journal kept for the retry.
func (p *Plugin) delLocked(r *run, host ns.NetNS, boot string, rec *state.Record, journal string, lock *state.Lock) error {
	free := false
	defer func() {
		if !free {
			lock.Release()
			return
		}
		if err := lock.SetOwner(""); err != nil {
			r.log.Error("clear owner", "error", err)
		}
		if err := lock.ReleaseFree(); err != nil {
			r.log.Error("remove lock", "error", err)
		}
	}()
	owner, err := lock.Owner()
	if err != nil {
		return cniError(types.ErrIOFailure, "read owner of %s: %v", rec.DeviceID, err)
	}
	if owner != "" && owner != journal {
		r.log.Info("VF now belongs to another attachment; releasing only this one's address and journal", "owner", owner)
		if err := p.releaseIP(rec); err != nil {
			return cniError(types.ErrInternal, "%v", err)
		}
		return state.RemoveFile(journal)
	}
	p.fault("del:after-lock")
	if err := p.restore(r, host, boot, rec, journal, p.LimboWait); err != nil {
		if errors.Is(err, ErrInLimbo) {
			return cniError(types.ErrTryAgainLater, "restore %s of %s: %v; journal kept: DEL again once the pod netns is gone", rec.DeviceID, rec.Key(), err)
		}
		return cniError(types.ErrInternal, "restore %s of %s: %v (journal kept: the next DEL retries)", rec.DeviceID, rec.Key(), err)
	}
	free = true
	return nil
}

// releaseUnjournalled sends IPAM DEL with the netconf DEL was given. Its
// failure is logged, not returned: with no journal nothing of ours is left.
func (p *Plugin) releaseUnjournalled(r *run, cfg *config.Config, args *skel.CmdArgs) {
	if cfg.IPAMType == "" {
		return
	}
	err := p.IPAM.Del(context.Background(), ipam.Call{
		Type: cfg.IPAMType, Conf: cfg.Raw, ContainerID: args.ContainerID,
		Netns: args.Netns, IfName: args.IfName, Args: args.Args, Path: args.Path,
	})
	if err != nil {
		r.log.Warn("IPAM DEL without a journal failed", "error", err)
	}
	r.mark("ipam")
}
