package sriovrdma

import (
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
)

// physical makes the node's VF netdevs behave as real VF netdevs do where
// veth cannot: netlink reports their PCI function as parent device, and
// sysfs lists each under its function by its current name, wherever a
// rename or a return from a dead namespace left it. Both follow the
// netdev's ifindex, which a move keeps.
func (n *node) physical() {
	n.t.Helper()
	byIndex := map[int]string{}
	byAddr := map[string]int{}
	host := links(n.t, n.host)
	for i := range n.pf.VFs {
		l, ok := host[n.pf.VFs[i].Netdev]
		if !ok {
			continue
		}
		byIndex[l.Index] = n.vfAddr(i)
		byAddr[n.vfAddr(i)] = l.Index
	}
	n.p.Links = parentLinks{n.p.Links, byIndex}
	n.p.Devices = liveSysfs{n.p.Devices, n.host, byAddr}
}

type parentLinks struct {
	Links
	byIndex map[int]string
}

func (l parentLinks) withParent(a netdev.Attrs) netdev.Attrs {
	if p, ok := l.byIndex[a.Index]; ok {
		a.ParentDev = p
	}
	return a
}

func (l parentLinks) Get(in ns.NetNS, name string) (netdev.Attrs, error) {
	a, err := l.Links.Get(in, name)
	return l.withParent(a), err
}

func (l parentLinks) List(in ns.NetNS) ([]netdev.Attrs, error) {
	all, err := l.Links.List(in)
	for i := range all {
		all[i] = l.withParent(all[i])
	}
	return all, err
}

func (l parentLinks) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (netdev.Attrs, error) {
	a, err := l.Links.MoveRename(from, name, to, newName)
	return l.withParent(a), err
}

type liveSysfs struct {
	Devices
	host   ns.NetNS
	byAddr map[string]int
}

// current is the name the VF's netdev has on the host now; "" when it is
// not on the host (a sysfs mounted there lists nothing then).
func (s liveSysfs) current(addr string) string {
	all, err := (netdev.Kernel{}).List(s.host)
	if err != nil {
		return ""
	}
	for _, a := range all {
		if a.Index == s.byAddr[addr] {
			return a.Name
		}
	}
	return ""
}

func (s liveSysfs) Resolve(addr string) (*pci.Device, error) {
	dev, err := s.Devices.Resolve(addr)
	if err == nil {
		if _, ok := s.byAddr[addr]; ok {
			dev.Netdev = s.current(addr)
		}
	}
	return dev, err
}

func (s liveSysfs) NetdevsOf(addr string) ([]string, error) {
	if _, ok := s.byAddr[addr]; !ok {
		return s.Devices.NetdevsOf(addr)
	}
	if name := s.current(addr); name != "" {
		return []string{name}, nil
	}
	return nil, nil
}
