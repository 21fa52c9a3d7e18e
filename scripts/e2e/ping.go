package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// ping sends ICMP echo requests from inside netns, out of interface dev
// only, until dst answers or timeout passes. Raw ICMP from Go rather than
// ping(8): the lane needs nothing beyond iproute2 on a fresh machine. The
// first request may be lost to ARP, hence the retries.
func ping(netns, dev, dst string, timeout time.Duration) error {
	ip := net.ParseIP(dst).To4()
	if ip == nil {
		return fmt.Errorf("ping: %q is not an IPv4 address", dst)
	}
	var fd int
	// The socket belongs to the netns it was created in; it can be used
	// from any thread afterwards.
	err := ns.WithNetNSPath(netns, func(ns.NetNS) error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	})
	if err != nil {
		return fmt.Errorf("ping from %s: icmp socket: %w", netns, err)
	}
	defer func() { _ = unix.Close(fd) }()
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev); err != nil {
		return fmt.Errorf("ping from %s: bind to %s: %w", netns, dev, err)
	}
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	to := &unix.SockaddrInet4{Addr: [4]byte(ip)}
	id := uint16(os.Getpid())
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1500)
	var lastErr error
	for seq := uint16(1); time.Now().Before(deadline); seq++ {
		if err := unix.Sendto(fd, echoRequest(id, seq), 0, to); err != nil {
			// ENETUNREACH and friends while the link settles: retry.
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		// Read until this request's reply comes or 300 ms pass.
		wait := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(wait) {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // EAGAIN on the receive timeout
			}
			src, ok := from.(*unix.SockaddrInet4)
			if ok && src.Addr == [4]byte(ip) && isEchoReply(buf[:n], id, seq) {
				return nil
			}
		}
	}
	if lastErr != nil {
		return fmt.Errorf("no echo reply from %s via %s in %s within %s (last send error: %w)", dst, dev, netns, timeout, lastErr)
	}
	return fmt.Errorf("no echo reply from %s via %s in %s within %s", dst, dev, netns, timeout)
}

func echoRequest(id, seq uint16) []byte {
	b := make([]byte, 16)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], "sriovrd")
	binary.BigEndian.PutUint16(b[2:], checksum(b))
	return b
}

// isEchoReply: a raw IPv4 socket hands over the IP header too.
func isEchoReply(pkt []byte, id, seq uint16) bool {
	if len(pkt) < 20 {
		return false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+8 {
		return false
	}
	icmp := pkt[ihl:]
	return icmp[0] == 0 && binary.BigEndian.Uint16(icmp[4:]) == id && binary.BigEndian.Uint16(icmp[6:]) == seq
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = (sum >> 16) + (sum & 0xffff)
	}
	return ^uint16(sum)
}
