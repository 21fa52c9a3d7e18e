package sriovrdma

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// ErrDeviceBusy: the VF belongs to a live attachment.
var ErrDeviceBusy = errors.New("device busy")

// claimFrom decides what to do about the VF's current owner, with the VF's
// lock held: a live attachment keeps it (busy); one whose pod netns
// vanished, or a killed earlier try of this same attachment, is restored
// first; one from an earlier boot only has its address released.
func (p *Plugin) claimFrom(r *run, host ns.NetNS, boot, owner, self, device string) error {
	rec, err := state.ReadFile(owner)
	switch {
	case errors.Is(err, state.ErrNotFound):
		// Ownership is written before the journal: a crash between the two
		// left an owner that never changed anything.
		r.log.Info("owner without journal; VF is free", "device", device, "owner", owner)
		return nil
	case errors.Is(err, state.ErrCorrupt):
		// Nothing in it can be trusted; if the VF is still in a pod, the
		// survey finds its netdev missing from the host and refuses.
		r.log.Warn("owner's journal is corrupt; taking the VF over", "device", device, "owner", owner, "error", err)
		return nil
	case err != nil:
		return cniError(types.ErrIOFailure, "read journal of %s's owner %s: %v", device, owner, err)
	}
	if owner == self {
		r.log.Warn("an earlier ADD of this attachment did not finish; restoring before trying again", "phase", rec.Phase)
		return p.reclaim(r, host, boot, rec, owner)
	}
	if rec.BootID == boot && state.NetnsAlive(rec.Netns) {
		return cniError(CodeDeviceBusy, "device %s is busy: %v, in use by pod %s/%s (container %s, interface %s)",
			device, ErrDeviceBusy, rec.PodNamespace, rec.PodName, rec.ContainerID, rec.IfName)
	}
	r.log.Warn("reclaiming VF from an attachment whose pod is gone", "device", device, "owner", owner, "netns", rec.Netns)
	return p.reclaim(r, host, boot, rec, owner)
}

func (p *Plugin) reclaim(r *run, host ns.NetNS, boot string, rec *state.Record, journal string) error {
	if err := p.restore(r, host, boot, rec, journal, p.LimboWait); err != nil {
		if errors.Is(err, ErrInLimbo) {
			return cniError(types.ErrTryAgainLater, "VF %s is still held by the namespace of pod %s/%s (attachment %s), which is going away: %v; try again",
				rec.DeviceID, rec.PodNamespace, rec.PodName, rec.Key(), err)
		}
		return cniError(types.ErrInternal, "restore VF %s from stale attachment %s before reuse: %v", rec.DeviceID, rec.Key(), err)
	}
	return nil
}

// reclaimVanished restores, after a successful ADD, every other attachment
// whose pod netns is gone or whose boot is over: Multus sends GC only to the
// default network, so without this a pod that died without DEL would hold
// its VF and its address until the VF is asked for again. VFs busy with
// another invocation are skipped; the next ADD or GC gets them.
func (a *attachment) reclaimVanished() {
	if !a.reclaimDue() {
		return
	}
	keys, err := a.store.List()
	if err != nil {
		a.r.log.Warn("list journals for reclaim", "error", err)
		return
	}
	for _, k := range keys {
		if k == a.key {
			continue
		}
		journal := a.store.Path(k)
		rec, err := state.ReadFile(journal)
		if err != nil || (rec.BootID == a.boot && state.NetnsAlive(rec.Netns)) {
			continue
		}
		if rec.DeviceID == a.dev.Addr {
			continue
		}
		lock, got, err := state.Locks{Dir: a.p.LockDir}.TryLock(rec.DeviceID)
		if err != nil || !got {
			continue
		}
		if owner, _ := lock.Owner(); owner != "" && owner != journal {
			lock.Release()
			_ = a.p.releaseIP(rec)
			_ = state.RemoveFile(journal)
			continue
		}
		// No wait here: a VF still on its way back is left for the next
		// sweep, the ADD that wants it, or its DEL; the journal stays.
		if err := a.p.restore(a.r, a.host, a.boot, rec, journal, 0); err != nil {
			a.r.log.Warn("reclaim stale attachment", "journal", k, "error", err)
			lock.Release()
			continue
		}
		a.r.log.Info("reclaimed stale attachment", "journal", k, "device", rec.DeviceID)
		_ = lock.SetOwner("")
		_ = lock.ReleaseFree()
	}
	a.r.mark("reclaim")
}

// reclaimDue rate-limits the sweep: it reads every journal and opens every
// pod netns, so doing it on each of a burst of N ADDs would cost O(N^2).
// A stamp per state directory, next to the lock directory on tmpfs, records
// the last sweep; the first ADD after ReclaimEvery sweeps again. A VF a
// vanished pod still holds is also reclaimed at once by the ADD that wants
// it (claimFrom), so the delay only defers releasing its address.
func (a *attachment) reclaimDue() bool {
	every := a.p.ReclaimEvery
	if every <= 0 {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(a.store.Dir))
	stamp := filepath.Join(filepath.Dir(a.p.LockDir), fmt.Sprintf("reclaim-%016x", h.Sum64()))
	if fi, err := os.Stat(stamp); err == nil && time.Since(fi.ModTime()) < every {
		return false
	}
	now := time.Now()
	if err := os.Chtimes(stamp, now, now); errors.Is(err, os.ErrNotExist) {
		if f, err := os.OpenFile(stamp, os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			_ = f.Close()
		}
	}
	return true
}
