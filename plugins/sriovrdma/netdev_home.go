package sriovrdma

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// netdevHome finds the VF's netdev wherever it is — in the pod under
// CNI_IFNAME or another name the kernel gave it, already home, or returned
// by the kernel under another name when the pod netns went away — and puts
// it back under its original name with its original MAC, MTU and state,
// then re-creates software RDMA devices on it.
//
// A VF netdev found nowhere is an error while the pod netns is reachable
// (the journal stays). With the pod netns gone, a netdev with a bus device
// comes back once the kernel has torn the namespace down: it is waited for,
// up to wait, and then ErrInLimbo keeps the journal for a retried DEL. A
// virtual stand-in (no bus device) is destroyed with its namespace: logged,
// nothing to return.
func (p *Plugin) netdevHome(r *run, rec *state.Record, host, pod ns.NetNS, wait time.Duration) error {
	name, err := p.findAndReturn(r, rec, host, pod)
	if err != nil {
		return err
	}
	if name == "" && pod == nil && rec.Orig.ParentDev != "" {
		if name, err = p.awaitReturn(r, rec, host, wait); err != nil {
			return err
		}
	}
	if name == "" {
		if pod != nil {
			return fmt.Errorf("VF %s netdev is neither in the pod (as %s or by its index) nor on the host (as %s or by its PCI address)",
				rec.DeviceID, rec.IfName, rec.Orig.Netdev)
		}
		r.log.Warn("VF netdev not found on the host, and a virtual netdev dies with its namespace; nothing to return", "device", rec.DeviceID, "netdev", rec.Orig.Netdev)
		return nil
	}
	if err := p.restoreLinkAttrs(host, name, rec); err != nil {
		return err
	}
	return p.recreateSoftRDMA(r, rec, host, name)
}

// awaitReturn waits, up to wait, for the kernel to return the VF netdev to
// the host, and renames it home.
func (p *Plugin) awaitReturn(r *run, rec *state.Record, host ns.NetNS, wait time.Duration) (string, error) {
	start := time.Now()
	pause := 5 * time.Millisecond
	for {
		name, err := p.findOnHost(r, rec, host)
		if err != nil || name != "" {
			if name != "" {
				r.log.Info("VF netdev came back from the pod netns", "device", rec.DeviceID, "after", time.Since(start).Round(time.Millisecond).String())
			}
			return name, err
		}
		if time.Since(start) >= wait {
			return "", fmt.Errorf("%w: VF %s is not back on the host %s after the path of pod netns %s went away; a process may still hold that namespace",
				ErrInLimbo, rec.DeviceID, time.Since(start).Round(time.Millisecond), rec.Netns)
		}
		time.Sleep(min(pause, max(wait-time.Since(start), time.Millisecond)))
		pause = min(2*pause, 100*time.Millisecond)
	}
}

func (p *Plugin) findAndReturn(r *run, rec *state.Record, host, pod ns.NetNS) (string, error) {
	if pod != nil {
		l, found, err := p.findInPod(r, rec, pod)
		if err != nil {
			return "", err
		}
		if found {
			home, herr := p.homeName(r, rec, host)
			if herr != nil {
				return "", herr
			}
			if _, err := p.Links.MoveRename(pod, l.Name, host, home); err != nil {
				return "", fmt.Errorf("return netdev %s home as %s: %w", l.Name, home, err)
			}
			return home, nil
		}
	}
	return p.findOnHost(r, rec, host)
}

// findInPod looks for the VF in the pod: under CNI_IFNAME, else by its bus
// device or its index, in case the kernel named it otherwise.
func (p *Plugin) findInPod(r *run, rec *state.Record, pod ns.NetNS) (netdev.Attrs, bool, error) {
	l, err := p.Links.Get(pod, rec.IfName)
	switch {
	case err == nil && isOurs(l, rec):
		return l, true, nil
	case err == nil:
		r.log.Warn("interface in the pod is not this VF; left alone", "ifname", rec.IfName, "parentDev", l.ParentDev, "index", l.Index)
	case !errors.Is(err, netdev.ErrNotFound):
		return l, false, fmt.Errorf("look up %s in the pod: %w", rec.IfName, err)
	}
	all, err := p.Links.List(pod)
	if err != nil {
		return netdev.Attrs{}, false, fmt.Errorf("list the pod's links: %w", err)
	}
	for _, c := range all {
		if c.Name == rec.IfName {
			continue
		}
		if (c.ParentDev != "" && c.ParentDev == rec.DeviceID) || (c.ParentDev == "" && rec.Orig.ParentDev == "" && c.Index == podIndex(rec)) {
			r.log.Warn("VF found in the pod under another name than CNI_IFNAME", "ifname", rec.IfName, "name", c.Name, "index", c.Index)
			return c, true, nil
		}
	}
	return netdev.Attrs{}, false, nil
}

// podIndex is the VF netdev's index in the pod: the one the kernel
// reported after the move, else the host index, which a move keeps unless
// the pod already used it.
func podIndex(rec *state.Record) int {
	if rec.PodIfIndex != 0 {
		return rec.PodIfIndex
	}
	return rec.Orig.IfIndex
}

// findOnHost finds the VF netdev on the host, under its original name or,
// returned by the kernel under another, by its PCI address, and renames it
// home. "" when it is not there.
func (p *Plugin) findOnHost(r *run, rec *state.Record, host ns.NetNS) (string, error) {
	if l, err := p.Links.Get(host, rec.Orig.Netdev); err == nil && isOurs(l, rec) {
		return l.Name, nil
	}
	// The kernel returns a physical netdev to the initial namespace when its
	// namespace dies, renamed if its name was taken: find it by PCI address.
	names, err := p.Devices.NetdevsOf(rec.DeviceID)
	if err != nil {
		return "", fmt.Errorf("find netdev of %s: %w", rec.DeviceID, err)
	}
	for _, n := range names {
		if _, err := p.Links.Get(host, n); err != nil {
			continue
		}
		if n == rec.Orig.Netdev {
			return n, nil
		}
		home, herr := p.homeName(r, rec, host)
		if herr != nil {
			return "", herr
		}
		if err := p.Links.Rename(host, n, home); err != nil {
			return "", fmt.Errorf("rename returned netdev %s to %s: %w", n, home, err)
		}
		r.log.Info("netdev returned by the kernel renamed back", "from", n, "to", home)
		return home, nil
	}
	return "", nil
}

// isOurs tells the VF from a look-alike: a netdev with a PCI parent must
// sit on our VF; a virtual stand-in (no parent) must keep its ifindex.
func isOurs(l netdev.Attrs, rec *state.Record) bool {
	if l.ParentDev != "" {
		return l.ParentDev == rec.DeviceID
	}
	// A salvaged record may have lost the ifindex: CNI_IFNAME in this
	// attachment's own netns is the attachment's interface.
	return l.Index == rec.Orig.IfIndex || (rec.PodIfIndex != 0 && l.Index == rec.PodIfIndex) || rec.Salvaged
}

// homeName is the original name, or, when another device took it meanwhile,
// a name derived from the PCI address (stable, so a later DEL or an operator
// finds it).
func (p *Plugin) homeName(r *run, rec *state.Record, host ns.NetNS) (string, error) {
	l, err := p.Links.Get(host, rec.Orig.Netdev)
	if errors.Is(err, netdev.ErrNotFound) {
		return rec.Orig.Netdev, nil
	}
	if err != nil {
		return "", fmt.Errorf("look up %s on the host: %w", rec.Orig.Netdev, err)
	}
	alt := fallbackName(rec.DeviceID)
	r.log.Warn("original netdev name taken on the host; using a name derived from the PCI address",
		"name", rec.Orig.Netdev, "takenBy", l.Index, "fallback", alt)
	return alt, nil
}

// fallbackName turns 0000:01:10.2 into vf0000011002 (IFNAMSIZ allows 15).
func fallbackName(addr string) string {
	return "vf" + strings.NewReplacer(":", "", ".", "").Replace(addr)
}

// restoreLinkAttrs puts back MAC, MTU and up/down on the host.
func (p *Plugin) restoreLinkAttrs(host ns.NetNS, name string, rec *state.Record) error {
	l, err := p.Links.Get(host, name)
	if err != nil {
		return fmt.Errorf("read %s on the host: %w", name, err)
	}
	if rec.Orig.MAC != "" && !strings.EqualFold(l.MAC, rec.Orig.MAC) {
		mac, err := net.ParseMAC(rec.Orig.MAC)
		if err != nil {
			return fmt.Errorf("journalled mac %q: %w", rec.Orig.MAC, err)
		}
		if err := p.Links.SetMAC(host, name, mac); err != nil {
			return err
		}
	}
	if rec.Orig.MTU != 0 && l.MTU != rec.Orig.MTU {
		if err := p.Links.SetMTU(host, name, rec.Orig.MTU); err != nil {
			return err
		}
	}
	if l.Up != rec.Orig.Up {
		if err := p.Links.SetUp(host, name, rec.Orig.Up); err != nil {
			return err
		}
	}
	return nil
}
