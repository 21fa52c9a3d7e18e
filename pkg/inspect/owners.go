package inspect

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// readStateDir reads every journal of a state directory. A missing directory
// has none: the plugin creates it at its first ADD.
func (c *collector) readStateDir(dir string) {
	store := state.Store{Dir: dir}
	keys, err := store.List()
	if err != nil {
		c.warn("%v", err)
		return
	}
	for _, k := range keys {
		c.load(store.Path(k))
	}
}

// load reads and judges the journal at path once; nil when it cannot be read.
func (c *collector) load(path string) *entry {
	path = filepath.Clean(path)
	if e, ok := c.journals[path]; ok {
		return e
	}
	rec, err := state.ReadFile(path)
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			c.warn("journal %s: %v", path, err)
		}
		return nil
	}
	e := &entry{path: path, rec: rec, state: StateInPod}
	switch {
	case c.boot != "" && rec.BootID != c.boot:
		e.state, e.reason = StateStale, "written in an earlier boot ("+shortID(rec.BootID)+")"
	case !c.o.NetnsAlive(rec.Netns):
		e.state, e.reason = StateStale, "pod netns "+dash(rec.Netns)+" is gone"
	}
	c.journals[path] = e
	dev := strings.ToLower(rec.DeviceID)
	c.byDevice[dev] = append(c.byDevice[dev], e)
	return e
}

// pickOwner picks the journal that owns the VF: the one its lock file names
// (the plugin changes ownership only under the lock), else one naming the
// VF as its device, a live one first. Other live journals naming the VF
// lost it and are stale.
func (c *collector) pickOwner(addr string) *entry {
	var owner *entry
	if path := c.lockOwner(addr); path != "" {
		if e := c.load(path); e != nil && strings.EqualFold(e.rec.DeviceID, addr) {
			owner = e
		}
	}
	cands := c.byDevice[strings.ToLower(addr)]
	if owner == nil {
		for _, e := range cands {
			if owner == nil || (e.state == StateInPod && owner.state != StateInPod) ||
				(e.state == owner.state && e.rec.Created.After(owner.rec.Created)) {
				owner = e
			}
		}
	}
	for _, e := range cands {
		if e != owner && e.state == StateInPod {
			e.state, e.reason = StateStale, "VF "+addr+" is owned by "+owner.path
		}
	}
	return owner
}

// lockOwner reads the VF's lock file without locking it: its content is the
// owner's journal path, written under the lock, so at worst it is a moment
// old. A missing file means no owner.
func (c *collector) lockOwner(addr string) string {
	b, err := os.ReadFile(state.Locks{Dir: c.o.LockDir}.Path(addr))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.warn("lock of %s: %v", addr, err)
		}
		return ""
	}
	return strings.TrimSpace(string(b))
}

func ownerFrom(e *entry) *Owner {
	r := e.rec
	return &Owner{
		PodNamespace: r.PodNamespace,
		PodName:      r.PodName,
		ContainerID:  r.ContainerID,
		IfName:       r.IfName,
		Netns:        r.Netns,
		Network:      r.Network,
		Phase:        string(r.Phase),
		BootID:       r.BootID,
		Created:      r.Created,
		Journal:      e.path,
	}
}

// collectStale lists every stale journal, and marks stale those whose VF no
// longer exists (sriov_numvfs changed, or the NIC is gone).
func (c *collector) collectStale() {
	paths := make([]string, 0, len(c.journals))
	for p := range c.journals {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		e := c.journals[p]
		if !c.vfs[strings.ToLower(e.rec.DeviceID)] {
			gone := "VF " + e.rec.DeviceID + " no longer exists"
			if e.state == StateStale {
				e.reason += "; " + gone
			} else {
				e.state, e.reason = StateStale, gone
			}
		}
		if e.state != StateStale {
			continue
		}
		c.rep.StaleJournals = append(c.rep.StaleJournals, Journal{
			Owner:    *ownerFrom(e),
			DeviceID: e.rec.DeviceID,
			Reason:   e.reason,
		})
	}
}

func shortID(id string) string {
	if id == "" {
		return "no boot ID"
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
