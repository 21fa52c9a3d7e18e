// Package netdev moves and configures network devices across network
// namespaces with rtnetlink.
package netdev

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNotFound: no link of that name in that namespace.
var ErrNotFound = errors.New("link not found")

// Attrs is what the plugin reads of a link.
type Attrs struct {
	Name  string
	Index int
	MAC   string
	MTU   int
	Up    bool
	// ParentDev is the bus address of the device behind the netdev (the PCI
	// address of a VF); "" for virtual devices such as veth.
	ParentDev string
}

// Kernel implements link operations with one rtnetlink socket opened inside
// the namespace the operation targets; no thread ever switches namespace
// for longer than the socket's creation.
type Kernel struct{}

func handle(in ns.NetNS) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(netns.NsHandle(in.Fd()), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket in %s: %w", in.Path(), err)
	}
	return h, nil
}

func lookup(h *netlink.Handle, name string) (netlink.Link, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	return l, nil
}

func attrsOf(l netlink.Link) Attrs {
	a := l.Attrs()
	return Attrs{
		Name:      a.Name,
		Index:     a.Index,
		MAC:       strings.ToLower(a.HardwareAddr.String()),
		MTU:       a.MTU,
		Up:        a.Flags&net.FlagUp != 0,
		ParentDev: a.ParentDev,
	}
}

// Get reads a link in a namespace.
func (Kernel) Get(in ns.NetNS, name string) (Attrs, error) {
	h, err := handle(in)
	if err != nil {
		return Attrs{}, err
	}
	defer h.Close()
	l, err := lookup(h, name)
	if err != nil {
		return Attrs{}, err
	}
	return attrsOf(l), nil
}

// List reads every link in a namespace.
func (Kernel) List(in ns.NetNS) ([]Attrs, error) {
	h, err := handle(in)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ls, err := h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list links in %s: %w", in.Path(), err)
	}
	out := make([]Attrs, 0, len(ls))
	for _, l := range ls {
		out = append(out, attrsOf(l))
	}
	return out, nil
}

// MoveRename moves link name from namespace from into namespace to and names
// it newName there, in one RTM_SETLINK carrying IFLA_NET_NS_FD and
// IFLA_IFNAME. The kernel moves, then renames, inside one rtnl section: no
// temporary name or namespace for udev or another plugin to race, and one
// namespace move instead of the three a rename through a temporary namespace
// costs. The request is sent from inside from, where the link is.
//
// The kernel does not undo the move when the rename fails (newName taken in
// to: EEXIST): the link would be left in to under its old name, where no
// caller looks for it. MoveRename moves it back, so that an error means the
// link is still in from under name.
//
// It returns the link as it now is in to, found by its ifindex (which a
// move keeps unless to already uses it), not by the name asked for: the
// kernel may have named it otherwise, and the caller must see that.
func (Kernel) MoveRename(from ns.NetNS, name string, to ns.NetNS, newName string) (Attrs, error) {
	var moved Attrs
	err := withLink(from, name, func(h *netlink.Handle, l netlink.Link) error {
		sock, err := nl.GetNetlinkSocketAt(netns.NsHandle(from.Fd()), netns.None(), unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("netlink socket in %s: %w", from.Path(), err)
		}
		defer sock.Close()

		req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
		req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
		msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
		msg.Index = int32(l.Attrs().Index)
		req.AddData(msg)
		req.AddData(nl.NewRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(to.Fd()))))
		if newName != "" && newName != name {
			req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(newName)))
		}
		if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
			err = fmt.Errorf("move %s to %s as %s: %w", name, to.Path(), newName, err)
			if uerr := undoHalfMove(h, l, from, to, name); uerr != nil {
				return errors.Join(err, uerr)
			}
			return err
		}
		a, err := arrived(to, l, newName)
		if err != nil {
			return fmt.Errorf("moved %s to %s: %w", name, to.Path(), err)
		}
		moved = a
		return nil
	})
	return moved, err
}

// arrived finds a link just moved into to: by its old ifindex, or, when to
// already used that index and the kernel gave it another, by the name asked
// for and the same hardware address.
func arrived(to ns.NetNS, l netlink.Link, newName string) (Attrs, error) {
	th, err := handle(to)
	if err != nil {
		return Attrs{}, err
	}
	defer th.Close()
	hw := l.Attrs().HardwareAddr
	if got, err := th.LinkByIndex(l.Attrs().Index); err == nil && bytes.Equal(got.Attrs().HardwareAddr, hw) {
		return attrsOf(got), nil
	}
	if newName == "" {
		newName = l.Attrs().Name
	}
	if got, err := th.LinkByName(newName); err == nil && bytes.Equal(got.Attrs().HardwareAddr, hw) {
		return attrsOf(got), nil
	}
	return Attrs{}, fmt.Errorf("look up index %d: %w", l.Attrs().Index, ErrNotFound)
}

// undoHalfMove brings back a link the kernel moved into to before refusing
// its new name there.
func undoHalfMove(h *netlink.Handle, l netlink.Link, from, to ns.NetNS, name string) error {
	if cur, err := h.LinkByName(name); err == nil && cur.Attrs().Index == l.Attrs().Index {
		return nil // not moved
	}
	th, err := handle(to)
	if err != nil {
		return err
	}
	defer th.Close()
	moved, err := th.LinkByName(name)
	if err != nil || !bytes.Equal(moved.Attrs().HardwareAddr, l.Attrs().HardwareAddr) {
		return nil // not there either: nothing we moved
	}
	if err := th.LinkSetNsFd(moved, int(from.Fd())); err != nil {
		return fmt.Errorf("%s left in %s under its own name: move back: %w", name, to.Path(), err)
	}
	return nil
}

// Rename renames a link within its namespace; the kernel wants it down.
func (Kernel) Rename(in ns.NetNS, name, newName string) error {
	return withLink(in, name, func(h *netlink.Handle, l netlink.Link) error {
		if err := h.LinkSetDown(l); err != nil {
			return fmt.Errorf("set %s down: %w", name, err)
		}
		if err := h.LinkSetName(l, newName); err != nil {
			return fmt.Errorf("rename %s to %s: %w", name, newName, err)
		}
		return nil
	})
}

// SetMAC sets a link's hardware address.
func (Kernel) SetMAC(in ns.NetNS, name string, mac net.HardwareAddr) error {
	return withLink(in, name, func(h *netlink.Handle, l netlink.Link) error {
		if err := h.LinkSetHardwareAddr(l, mac); err != nil {
			return fmt.Errorf("set mac %s on %s: %w", mac, name, err)
		}
		return nil
	})
}

// SetMTU sets a link's MTU.
func (Kernel) SetMTU(in ns.NetNS, name string, mtu int) error {
	return withLink(in, name, func(h *netlink.Handle, l netlink.Link) error {
		if err := h.LinkSetMTU(l, mtu); err != nil {
			return fmt.Errorf("set mtu %d on %s: %w", mtu, name, err)
		}
		return nil
	})
}

// SetUp brings a link up or down.
func (Kernel) SetUp(in ns.NetNS, name string, up bool) error {
	return withLink(in, name, func(h *netlink.Handle, l netlink.Link) error {
		set, state := h.LinkSetDown, "down"
		if up {
			set, state = h.LinkSetUp, "up"
		}
		if err := set(l); err != nil {
			return fmt.Errorf("set %s %s: %w", name, state, err)
		}
		return nil
	})
}

func withLink(in ns.NetNS, name string, f func(*netlink.Handle, netlink.Link) error) error {
	h, err := handle(in)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := lookup(h, name)
	if err != nil {
		return err
	}
	return f(h, l)
}
