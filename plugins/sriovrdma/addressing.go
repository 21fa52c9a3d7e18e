package sriovrdma

import (
	"errors"
	"fmt"
	"net"
	"os"

	current "github.com/containernetworking/cni/pkg/types/100"
	cniipam "github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// kernelAddressing configures addresses and routes with the CNI library
// inside the pod namespace.
type kernelAddressing struct{}

// Configure asks the kernel to announce the addresses (gratuitous ARP,
// unsolicited NA) when the link comes up, then adds addresses and routes;
// ConfigureIface brings the link up once the addresses are on it, so the
// announcement carries them. Announcing from a packet socket of our own
// would cost an RCU grace period (10-25 ms here) when the socket closes.
func (kernelAddressing) Configure(in ns.NetNS, ifName string, res *current.Result) error {
	return in.Do(func(ns.NetNS) error {
		if err := announceOnUp(ifName); err != nil {
			return err
		}
		return cniipam.ConfigureIface(ifName, res)
	})
}

// announceOnUp sets arp_notify and ndisc_notify on the interface. They are
// per-device settings of the pod netns and vanish when the device leaves.
func announceOnUp(ifName string) error {
	for _, f := range []string{
		"/proc/sys/net/ipv4/conf/" + ifName + "/arp_notify",
		"/proc/sys/net/ipv6/conf/" + ifName + "/ndisc_notify",
	} {
		if err := os.WriteFile(f, []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("enable announcements on %s: %w", ifName, err)
		}
	}
	return nil
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
