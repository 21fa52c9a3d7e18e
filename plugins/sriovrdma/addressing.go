package sriovrdma

import (
	"fmt"
	"net"

	current "github.com/containernetworking/cni/pkg/types/100"
	cniipam "github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/netdev"
)

// kernelAddressing configures addresses and routes with the CNI library
// inside the pod namespace, then announces them.
type kernelAddressing struct{}

func (kernelAddressing) Configure(in ns.NetNS, ifName string, res *current.Result) error {
	return in.Do(func(ns.NetNS) error {
		return cniipam.ConfigureIface(ifName, res)
	})
}

func (kernelAddressing) Announce(in ns.NetNS, ifName string, res *current.Result) error {
	return in.Do(func(ns.NetNS) error {
		iface, err := net.InterfaceByName(ifName)
		if err != nil {
			return fmt.Errorf("look up %s: %w", ifName, err)
		}
		ips := make([]net.IP, 0, len(res.IPs))
		for _, ipc := range res.IPs {
			ips = append(ips, ipc.Address.IP)
		}
		return netdev.Announce(iface.Index, iface.HardwareAddr, ips)
	})
}

func (kernelAddressing) Addrs(in ns.NetNS, ifName string) ([]net.IPNet, error) {
	var out []net.IPNet
	err := in.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("look up %s: %w", ifName, err)
		}
		addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("list addresses of %s: %w", ifName, err)
		}
		for _, a := range addrs {
			out = append(out, *a.IPNet)
		}
		return nil
	})
	return out, err
}
