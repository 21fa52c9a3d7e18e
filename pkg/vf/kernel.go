package vf

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Kernel talks rtnetlink to the PF in the caller's network namespace (the
// host: PFs never move).
type Kernel struct{}

var _ Netlink = Kernel{}

// Get reads the VF's entry of the PF's IFLA_VFINFO_LIST.
func (k Kernel) Get(pf string, vf int) (State, error) {
	all, err := k.List(pf)
	if err != nil {
		return State{}, err
	}
	if vf < 0 || vf >= len(all) {
		return State{}, fmt.Errorf("pf %s vf %d: %w", pf, vf, ErrNoVFInfo)
	}
	return all[vf], nil
}

// List reads every VF of the PF.
func (Kernel) List(pf string) ([]State, error) {
	link, err := pfWithVFs(pf)
	if errors.Is(err, ErrNoVFInfo) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("look up pf %s: %w", pf, err)
	}
	vfs := link.Attrs().Vfs
	if len(vfs) == 0 {
		return nil, fmt.Errorf("pf %s: %w", pf, ErrNoVFInfo)
	}
	out := make([]State, len(vfs))
	for i, v := range vfs {
		out[i] = fromVfInfo(v)
	}
	return out, nil
}

func fromVfInfo(v netlink.VfInfo) State {
	s := State{
		VLAN:      v.Vlan,
		QoS:       v.Qos,
		Proto:     Proto8021Q,
		SpoofChk:  v.Spoofchk,
		Trust:     v.Trust != 0,
		LinkState: linkStateName(v.LinkState),
		MinTxRate: int(v.MinTxRate),
		MaxTxRate: int(v.MaxTxRate),
	}
	if v.Mac != nil {
		s.MAC = strings.ToLower(v.Mac.String())
	}
	if v.VlanProto == int(netlink.VLAN_PROTOCOL_8021AD) {
		s.Proto = Proto8021AD
	}
	// Drivers without IFLA_VF_RATE report only the legacy max rate.
	if s.MaxTxRate == 0 && v.TxRate != 0 {
		s.MaxTxRate = v.TxRate
	}
	return s
}

func linkStateName(s uint32) string {
	switch s {
	case nl.IFLA_VF_LINK_STATE_ENABLE:
		return LinkStateEnable
	case nl.IFLA_VF_LINK_STATE_DISABLE:
		return LinkStateDisable
	default:
		return LinkStateAuto
	}
}

// pfLink builds a link value carrying only the PF's index: the setters need
// nothing else, and a full LinkByName would dump every VF's info each time.
func pfLink(pf string) (netlink.Link, error) {
	idx, err := ifIndex(pf)
	if err != nil {
		return nil, err
	}
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: pf, Index: idx}}, nil
}

func ifIndex(name string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("socket for ifindex of %s: %w", name, err)
	}
	defer func() { _ = unix.Close(fd) }()
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("ifindex of %s: %w", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("ifindex of %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

func (Kernel) SetMAC(pf string, vf int, mac net.HardwareAddr) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	return netlink.LinkSetVfHardwareAddr(l, vf, mac)
}

func (Kernel) SetVLAN(pf string, vf, vlan, qos int, proto string) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	p := int(netlink.VLAN_PROTOCOL_8021Q)
	if proto == Proto8021AD {
		p = int(netlink.VLAN_PROTOCOL_8021AD)
	}
	return netlink.LinkSetVfVlanQosProto(l, vf, vlan, qos, p)
}

func (Kernel) SetSpoofChk(pf string, vf int, on bool) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	return netlink.LinkSetVfSpoofchk(l, vf, on)
}

func (Kernel) SetTrust(pf string, vf int, on bool) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	return netlink.LinkSetVfTrust(l, vf, on)
}

func (Kernel) SetLinkState(pf string, vf int, state string) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	v := uint32(nl.IFLA_VF_LINK_STATE_AUTO)
	switch state {
	case LinkStateEnable:
		v = nl.IFLA_VF_LINK_STATE_ENABLE
	case LinkStateDisable:
		v = nl.IFLA_VF_LINK_STATE_DISABLE
	}
	return netlink.LinkSetVfState(l, vf, v)
}

func (Kernel) SetRate(pf string, vf, minMbps, maxMbps int) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	return netlink.LinkSetVfRate(l, vf, minMbps, maxMbps)
}

// SetGUID sets node and port GUID; mlx5 applies them at the VF's next
// probe (the caller rebinds the VF).
func (Kernel) SetGUID(pf string, vf int, guid net.HardwareAddr) error {
	l, err := pfLink(pf)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetVfNodeGUID(l, vf, guid); err != nil {
		return fmt.Errorf("set node guid: %w", err)
	}
	if err := netlink.LinkSetVfPortGUID(l, vf, guid); err != nil {
		return fmt.Errorf("set port guid: %w", err)
	}
	return nil
}

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h).
const rtextFilterSkipStats = 1 << 3

// pfWithVFs reads the PF with its VF list but without the per-VF
// statistics: the kernel builds the answer under RTNL, and on a PF with
// hundreds of VFs the counters are most of it. LinkByName asks for VF info
// with statistics, so the request is built here.
func pfWithVFs(pf string) (netlink.Link, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(pf)))
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(nl.RTEXT_FILTER_VF|rtextFilterSkipStats)))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if errors.Is(err, unix.ENODEV) || (err == nil && len(msgs) == 0) {
		// A PF netdev absent from this namespace cannot take VF settings.
		return nil, fmt.Errorf("pf %s not in this netns: %w", pf, ErrNoVFInfo)
	}
	if err != nil {
		return nil, err
	}
	return netlink.LinkDeserialize(nil, msgs[0])
}
