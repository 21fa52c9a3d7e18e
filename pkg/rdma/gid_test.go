package rdma_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/sriov-rdma/sriov-rdma/pkg/netnstest"
	"github.com/sriov-rdma/sriov-rdma/pkg/rdma"
)

// gidTable writes a port's GID table as sysfs shows it (rxe: unused entries
// are all zero here; the kernel answers EIO, which reads the same).
func gidTable(t *testing.T, root, dev string, gids map[int][2]string, size int) {
	t.Helper()
	dir := filepath.Join(root, "class/infiniband", dev, "ports/1")
	for _, d := range []string{"gids", "gid_attrs/types"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < size; i++ {
		gid, typ := "0000:0000:0000:0000:0000:0000:0000:0000", ""
		if g, ok := gids[i]; ok {
			gid, typ = g[0], g[1]
		}
		if err := os.WriteFile(filepath.Join(dir, "gids", strconv.Itoa(i)), []byte(gid+"\n"), 0o444); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "gid_attrs/types", strconv.Itoa(i)), []byte(typ+"\n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindRoCEv2GID(t *testing.T) {
	root := t.TempDir()
	// As the reference capture: gid 0 link-local, then per address a RoCE v1
	// and a RoCE v2 entry (mlx5 order), IPv4 mapped.
	gidTable(t, root, "mlx5_3", map[int][2]string{
		0: {"fe80:0000:0000:0000:a8af:23ff:fe88:6b14", "IB/RoCE v1"},
		1: {"fe80:0000:0000:0000:a8af:23ff:fe88:6b14", "RoCE v2"},
		2: {"0000:0000:0000:0000:0000:ffff:c000:0202", "IB/RoCE v1"},
		3: {"0000:0000:0000:0000:0000:ffff:c000:0202", "RoCE v2"},
	}, 255)
	idx, err := rdma.FindRoCEv2GID(root, "mlx5_3", []net.IP{net.ParseIP("192.0.2.2")})
	if err != nil || idx != 3 {
		t.Fatalf("FindRoCEv2GID = %d, %v; want 3", idx, err)
	}
	if _, err := rdma.FindRoCEv2GID(root, "mlx5_3", []net.IP{net.ParseIP("192.0.2.9")}); !errors.Is(err, rdma.ErrNoRoCEv2GID) {
		t.Errorf("another address: %v, want ErrNoRoCEv2GID", err)
	}
	if _, err := rdma.FindRoCEv2GID(root, "mlx5_9", nil); err == nil || errors.Is(err, rdma.ErrNoRoCEv2GID) {
		t.Errorf("missing device: %v, want a read error", err)
	}
}

// Only RoCE v2 counts: NCCL over RoCE v1 does not route.
func TestFindRoCEv2GIDIgnoresV1(t *testing.T) {
	root := t.TempDir()
	gidTable(t, root, "rxe0", map[int][2]string{
		1: {"0000:0000:0000:0000:0000:ffff:c000:0202", "IB/RoCE v1"},
	}, 1024)
	if _, err := rdma.FindRoCEv2GID(root, "rxe0", []net.IP{net.ParseIP("192.0.2.2")}); !errors.Is(err, rdma.ErrNoRoCEv2GID) {
		t.Fatalf("a RoCE v1 entry was taken: %v", err)
	}
}

// The kernel adds the GID shortly after the address: the wait sees it.
func TestWaitRoCEv2GID(t *testing.T) {
	root := t.TempDir()
	gidTable(t, root, "rxe0", map[int][2]string{0: {"fe80:0000:0000:0000:a8af:23ff:fe88:6b14", "RoCE v2"}}, 64)
	go func() {
		time.Sleep(50 * time.Millisecond)
		dir := filepath.Join(root, "class/infiniband/rxe0/ports/1")
		_ = os.WriteFile(filepath.Join(dir, "gid_attrs/types/1"), []byte("RoCE v2\n"), 0o444)
		_ = os.WriteFile(filepath.Join(dir, "gids/1"), []byte("0000:0000:0000:0000:0000:ffff:c000:0202\n"), 0o444)
	}()
	idx, err := rdma.WaitRoCEv2GID(root, "rxe0", []net.IP{net.ParseIP("192.0.2.2")}, 2*time.Second)
	if err != nil || idx != 1 {
		t.Fatalf("WaitRoCEv2GID = %d, %v; want 1", idx, err)
	}
	start := time.Now()
	if _, err := rdma.WaitRoCEv2GID(root, "rxe0", []net.IP{net.ParseIP("192.0.2.7")}, 100*time.Millisecond); !errors.Is(err, rdma.ErrNoRoCEv2GID) {
		t.Fatalf("absent address: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("wait of 100ms took %s", d)
	}
}

// The sysfs seen inside shows the namespace's own netdevs; the host's /sys
// and the caller's thread are untouched afterwards.
func TestWithNetnsSysfs(t *testing.T) {
	target := netnstest.New(t)
	if err := target.Do(func(ns.NetNS) error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "only-here"}, PeerName: "only-here-p"})
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Readlink("/proc/thread-self/ns/mnt")
	var inside []string
	err := rdma.WithNetnsSysfs(target, func(sys string) error {
		ents, err := os.ReadDir(filepath.Join(sys, "class/net"))
		for _, e := range ents {
			inside = append(inside, e.Name())
		}
		return err
	})
	if err != nil {
		t.Fatalf("WithNetnsSysfs: %v", err)
	}
	if !slices.Contains(inside, "only-here") {
		t.Errorf("sysfs inside lists %v, want the namespace's only-here", inside)
	}
	if _, err := os.Stat("/sys/class/net/only-here"); !os.IsNotExist(err) {
		t.Errorf("the host's /sys shows the namespace's link: %v", err)
	}
	if after, _ := os.Readlink("/proc/thread-self/ns/mnt"); after != before {
		t.Errorf("caller's mount namespace changed: %s -> %s", before, after)
	}
}
