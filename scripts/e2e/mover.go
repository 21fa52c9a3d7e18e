package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// mover moves a netdev between the lane's host netns and a pod's over
// netlink sockets opened in each.
type mover struct {
	host, pod netns.NsHandle
	hh, ph    *netlink.Handle
}

func newMover(podPath string) (*mover, error) {
	m := &mover{host: -1, pod: -1}
	var err error
	// The driver's main thread never leaves the lane's host netns.
	if m.host, err = netns.GetFromPath("/proc/self/ns/net"); err != nil {
		return nil, err
	}
	if m.pod, err = netns.GetFromPath(podPath); err != nil {
		m.close()
		return nil, err
	}
	if m.hh, err = netlink.NewHandleAt(m.host); err != nil {
		m.close()
		return nil, err
	}
	if m.ph, err = netlink.NewHandleAt(m.pod); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func (m *mover) close() {
	for _, h := range []*netlink.Handle{m.hh, m.ph} {
		if h != nil {
			h.Close()
		}
	}
	for _, n := range []netns.NsHandle{m.host, m.pod} {
		if n >= 0 {
			_ = n.Close()
		}
	}
}

// roundTrip moves netdev into the pod and back, timing each request only.
func (m *mover) roundTrip(netdev string) (in, out time.Duration, err error) {
	if in, err = m.move(netdev, true); err != nil {
		return 0, 0, err
	}
	out, err = m.move(netdev, false)
	return in, out, err
}

// move moves netdev into the pod (or home) and times the request alone.
func (m *mover) move(netdev string, in bool) (time.Duration, error) {
	from, to, where := m.hh, m.pod, "into the pod"
	if !in {
		from, to, where = m.ph, m.host, "home"
	}
	k, err := from.LinkByName(netdev)
	if err != nil {
		return 0, fmt.Errorf("find %s to move it %s: %w", netdev, where, err)
	}
	t := time.Now()
	if err := from.LinkSetNsFd(k, int(to)); err != nil {
		return 0, fmt.Errorf("move %s %s: %w", netdev, where, err)
	}
	return time.Since(t), nil
}

// bareMoves moves each VF's netdev into its pod, one after the other or all
// at once, times the batch, and brings them home untimed: the kernel's own
// ceiling for figure 4, whose moves all take the RTNL lock.
func bareMoves(movers []*mover, netdevs []string, up []bool, parallel bool) (time.Duration, error) {
	errs := make([]error, len(movers))
	var wall time.Duration
	if parallel {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, m := range movers {
			wg.Go(func() {
				<-gate
				_, errs[i] = m.move(netdevs[i], true)
			})
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		wall = time.Since(start)
	} else {
		start := time.Now()
		for i, m := range movers {
			if _, errs[i] = m.move(netdevs[i], true); errs[i] != nil {
				break
			}
		}
		wall = time.Since(start)
	}
	for i, m := range movers {
		if errs[i] == nil {
			_, errs[i] = m.move(netdevs[i], false)
		}
		if errs[i] == nil && up[i] {
			// A move takes the link down; the node's baseline has it up.
			errs[i] = m.hh.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: netdevs[i]}})
		}
	}
	return wall, errors.Join(errs...)
}
