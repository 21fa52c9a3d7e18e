package sriovrdma

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// After ADD the segment hears a gratuitous ARP for the pod's address from
// the pod's MAC, so peers and switches forget the VF's previous owner.
func TestAddAnnouncesAddress(t *testing.T) {
	n := newNode(t, nodeOpts{vfs: 1})
	var fd int
	err := n.fabric.Do(func(ns.NetNS) error {
		ifc, err := net.InterfaceByName("peer0")
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons16(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons16(unix.ETH_P_ARP), Ifindex: ifc.Index})
	})
	if err != nil {
		t.Fatalf("capture socket: %v", err)
	}
	defer func() { _ = unix.Close(fd) }()
	tv := unix.NsecToTimeval((2 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}

	p := n.newPod("pod-a")
	n.mustAdd(p, n.conf(0, map[string]any{"mac": "02:00:00:00:00:31"}))

	buf := make([]byte, 1500)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		m, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			break
		}
		f := buf[:m]
		if m < 42 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_ARP {
			continue
		}
		arp := f[14:]
		sender, target := net.IP(arp[14:18]), net.IP(arp[24:28])
		if net.HardwareAddr(arp[8:14]).String() == "02:00:00:00:00:31" && sender.Equal(net.IPv4(10, 9, 0, 2)) && target.Equal(sender) {
			return
		}
	}
	t.Fatal("no gratuitous ARP for 10.9.0.2 from 02:00:00:00:00:31 reached the fabric")
}

func htons16(v uint16) uint16 { return v<<8 | v>>8 }
