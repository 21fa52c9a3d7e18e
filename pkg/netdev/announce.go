package netdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

const (
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd
)

// Announce sends one gratuitous ARP for each IPv4 address and one
// unsolicited neighbour advertisement for each IPv6 address, so that peers
// and switches drop what they cached for an address that now lives behind a
// new MAC. It must run inside the link's namespace. A VF's MAC usually
// changes between pods on the same IP range, and without this the first
// packets of a restarted pod go to the old MAC until caches expire.
func Announce(ifindex int, mac net.HardwareAddr, ips []net.IP) error {
	if len(mac) != 6 {
		return nil // not Ethernet (IPoIB): ARP/NDP announcements do not apply
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	var errs []error
	for _, ip := range ips {
		var frame []byte
		var dst net.HardwareAddr
		if v4 := ip.To4(); v4 != nil {
			frame, dst = GratuitousARP(mac, v4), net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		} else {
			frame, dst = UnsolicitedNA(mac, ip), net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
		}
		sa := &unix.SockaddrLinklayer{
			Ifindex:  ifindex,
			Protocol: htons(binary.BigEndian.Uint16(frame[12:14])),
			Halen:    6,
		}
		copy(sa.Addr[:], dst)
		if err := unix.Sendto(fd, frame, 0, sa); err != nil {
			errs = append(errs, fmt.Errorf("announce %s: %w", ip, err))
		}
	}
	return errors.Join(errs...)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// GratuitousARP builds an Ethernet frame carrying an ARP request in which the
// sender and target protocol addresses are both ip (RFC 5227 ARP
// Announcement), broadcast.
func GratuitousARP(mac net.HardwareAddr, ip net.IP) []byte {
	f := make([]byte, 14+28)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:14], etherTypeARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:2], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], 1) // request
	copy(a[8:14], mac)
	copy(a[14:18], ip.To4())
	// target hardware address stays zero
	copy(a[24:28], ip.To4())
	return f
}

// UnsolicitedNA builds an Ethernet frame carrying an ICMPv6 neighbour
// advertisement for ip to all-nodes (RFC 4861 7.2.6), override flag set,
// with the target link-layer address option.
func UnsolicitedNA(mac net.HardwareAddr, ip net.IP) []byte {
	const icmpLen = 4 + 4 + 16 + 8
	f := make([]byte, 14+40+icmpLen)
	copy(f[0:6], []byte{0x33, 0x33, 0, 0, 0, 1})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:14], etherTypeIPv6)
	h := f[14:54]
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:6], icmpLen)
	h[6] = unix.IPPROTO_ICMPV6
	h[7] = 255 // hop limit: receivers drop ND packets that crossed a router
	src := ip.To16()
	dst := net.ParseIP("ff02::1").To16()
	copy(h[8:24], src)
	copy(h[24:40], dst)
	m := f[54:]
	m[0] = 136  // neighbour advertisement
	m[4] = 0x20 // override
	copy(m[8:24], src)
	m[24], m[25] = 2, 1 // target link-layer address, 8 bytes
	copy(m[26:32], mac)
	binary.BigEndian.PutUint16(m[2:4], icmpv6Checksum(src, dst, m))
	return f
}

func icmpv6Checksum(src, dst net.IP, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	var pl [8]byte
	binary.BigEndian.PutUint32(pl[0:4], uint32(len(msg)))
	pl[7] = unix.IPPROTO_ICMPV6
	add(pl[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
