package pci_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/pci/fixture"
)

func TestResolveEightVFs(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{
		{Netdev: "eth1"},
		{Driver: "vfio-pci"},
		{Netdev: "ib0", Driver: "mlx5_core", LinkType: 32},
		{Netdev: "eth3"},
		{Netdev: "eth4"},
		{Netdev: "eth5"},
		{Netdev: "eth6"},
		{Netdev: "eth7"},
	}}
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	wantAddr := []string{
		"0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6",
		"0000:01:11.0", "0000:01:11.2", "0000:01:11.4", "0000:01:11.6",
	}
	for i, addr := range wantAddr {
		want := pci.Device{
			Addr: addr, PFAddr: "0000:01:00.0", PFNetdev: "eth0", PFDriver: "igb", VFIndex: i,
			Netdev: pf.VFs[i].Netdev, Driver: "igbvf", LinkType: "ether",
		}
		switch i {
		case 1:
			want.Driver, want.LinkType = "vfio-pci", ""
		case 2:
			want.Driver, want.LinkType = "mlx5_core", "infiniband"
		}
		t.Run(addr, func(t *testing.T) {
			got, err := s.Resolve(addr)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", addr, err)
			}
			checkDevice(t, got, want)
		})
	}
}

func TestResolve256VFs(t *testing.T) {
	s := tree(t, fixture.Node{PFs: []fixture.PF{manyVFs(256)}})
	tests := []struct {
		addr  string
		index int
	}{
		{"0000:01:10.0", 0},
		{"0000:01:10.2", 1},
		{"0000:01:1f.6", 63},  // last devfn of bus 01
		{"0000:02:00.0", 64},  // first VF on bus 02
		{"0000:02:10.0", 128}, // stride 2: bus 02 holds VFs 64-191
		{"0000:02:1f.6", 191}, // last on bus 02
		{"0000:03:00.0", 192}, // first on bus 03
		{"0000:03:0f.6", 255}, // last VF
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := s.Resolve(tc.addr)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", tc.addr, err)
			}
			checkDevice(t, got, pci.Device{
				Addr: tc.addr, PFAddr: "0000:01:00.0", PFNetdev: "eth0", PFDriver: "igb", VFIndex: tc.index,
				Netdev: vfNetdev(tc.index), Driver: "igbvf", LinkType: "ether",
			})
		})
	}
}

// A resolver that lists the PF's virtfnN links would pick the wrong one here:
// every link but the target's points at the target too, so only the
// routing-ID arithmetic plus one confirming read gets the index right.
func TestResolveReadsOneVirtfnLink(t *testing.T) {
	const target = 200
	pf := manyVFs(256)
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	addr := fixture.VFAddr(pf, target)
	pfDir := devPath(s, "0000:01:00.0")
	for i := range 256 {
		link := filepath.Join(pfDir, "virtfn"+strconv.Itoa(i))
		if i == target {
			continue
		}
		if i%2 == 0 {
			mustRelink(t, link, "../"+addr) // decoy: claims to be the target
		} else if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Resolve(addr)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", addr, err)
	}
	if got.VFIndex != target {
		t.Fatalf("Resolve(%s).VFIndex = %d, want %d: the resolver scanned virtfn links", addr, got.VFIndex, target)
	}
}

func TestResolveRefuses(t *testing.T) {
	pf := manyVFs(8)
	node := fixture.Node{PFs: []fixture.PF{pf}, Plain: []string{"0000:02:00.0"}}
	tests := []struct {
		name     string
		addr     string
		mutate   func(t *testing.T, s pci.Sysfs)
		wantErr  error
		wantText []string // the message must say these, for the user reading it
		notText  string   // and must not say this
	}{
		{name: "pf address", addr: "0000:01:00.0", wantErr: pci.ErrNotVF,
			wantText: []string{"0000:01:00.0", "physical function"}},
		{name: "plain nic", addr: "0000:02:00.0", wantErr: pci.ErrNotVF,
			wantText: []string{"0000:02:00.0", "no physfn"}, notText: "physical function"},
		{name: "unknown address", addr: "0000:42:00.0", wantErr: pci.ErrNotFound,
			wantText: []string{"0000:42:00.0"}},
		{name: "path traversal", addr: "0000:01:10.0/..", wantErr: pci.ErrInvalidAddress},
		{name: "escape to etc", addr: "../../etc", wantErr: pci.ErrInvalidAddress},
		{name: "upper-case", addr: "0000:01:1A.0", wantErr: pci.ErrInvalidAddress},
		{name: "short form", addr: "01:10.0", wantErr: pci.ErrInvalidAddress},
		{name: "empty", addr: "", wantErr: pci.ErrInvalidAddress},
		{
			name: "virtfn link points elsewhere", addr: fixture.VFAddr(pf, 3),
			mutate: func(t *testing.T, s pci.Sysfs) {
				mustRelink(t, devPath(s, "0000:01:00.0", "virtfn3"), "../"+fixture.VFAddr(pf, 4))
			},
			wantErr: pci.ErrNotVF, wantText: []string{"virtfn3", fixture.VFAddr(pf, 4)},
		},
		{
			name: "virtfn link missing", addr: fixture.VFAddr(pf, 3),
			mutate: func(t *testing.T, s pci.Sysfs) {
				if err := os.Remove(devPath(s, "0000:01:00.0", "virtfn3")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: pci.ErrNotVF, wantText: []string{"virtfn3"},
		},
		{
			name: "index beyond sriov_numvfs", addr: fixture.VFAddr(pf, 5),
			mutate: func(t *testing.T, s pci.Sysfs) {
				mustWrite(t, devPath(s, "0000:01:00.0", "sriov_numvfs"), "4\n")
			},
			wantErr: pci.ErrNotVF, wantText: []string{"sriov_numvfs 4"},
		},
		{
			name: "address off the stride grid", addr: fixture.VFAddr(pf, 1),
			mutate: func(t *testing.T, s pci.Sysfs) {
				mustWrite(t, devPath(s, "0000:01:00.0", "sriov_stride"), "3\n")
			},
			wantErr: pci.ErrNotVF, wantText: []string{"sriov_stride 3"},
		},
		{
			name: "unreadable sriov_offset", addr: fixture.VFAddr(pf, 1),
			mutate: func(t *testing.T, s pci.Sysfs) {
				mustWrite(t, devPath(s, "0000:01:00.0", "sriov_offset"), "garbage\n")
			},
			wantText: []string{"sriov_offset"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tree(t, node)
			if tc.mutate != nil {
				tc.mutate(t, s)
			}
			d, err := s.Resolve(tc.addr)
			if err == nil {
				t.Fatalf("Resolve(%q) = %+v, want an error", tc.addr, d)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Resolve(%q) err = %v, want errors.Is %v", tc.addr, err, tc.wantErr)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Resolve(%q) err = %q, want it to mention %q", tc.addr, err, w)
				}
			}
			if tc.notText != "" && strings.Contains(err.Error(), tc.notText) {
				t.Errorf("Resolve(%q) err = %q, must not mention %q", tc.addr, err, tc.notText)
			}
		})
	}
}

// Things a real system shows that are not errors.
func TestResolveTolerates(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "eth1"}}}
	vf := fixture.VFAddr(pf, 0)
	base := pci.Device{Addr: vf, PFAddr: "0000:01:00.0", PFNetdev: "eth0", PFDriver: "igb", VFIndex: 0,
		Netdev: "eth1", Driver: "igbvf", LinkType: "ether"}
	tests := []struct {
		name   string
		mutate func(t *testing.T, s pci.Sysfs)
		want   func(d pci.Device) pci.Device
	}{
		{"unbound vf", func(t *testing.T, s pci.Sysfs) {
			if err := os.Remove(devPath(s, vf, "driver")); err != nil {
				t.Fatal(err)
			}
		}, func(d pci.Device) pci.Device { d.Driver = ""; return d }},
		{"pf netdev in another netns", func(t *testing.T, s pci.Sysfs) {
			if err := os.RemoveAll(devPath(s, "0000:01:00.0", "net")); err != nil {
				t.Fatal(err)
			}
		}, func(d pci.Device) pci.Device { d.PFNetdev = ""; return d }},
		{"vf netdev gone from the host", func(t *testing.T, s pci.Sysfs) {
			if err := os.RemoveAll(devPath(s, vf, "net")); err != nil {
				t.Fatal(err)
			}
		}, func(d pci.Device) pci.Device { d.Netdev, d.LinkType = "", ""; return d }},
		{"unusual link type", func(t *testing.T, s pci.Sysfs) {
			mustWrite(t, devPath(s, vf, "net", "eth1", "type"), "772\n")
		}, func(d pci.Device) pci.Device { d.LinkType = "unknown:772"; return d }},
		{"two netdevs on the function", func(t *testing.T, s pci.Sysfs) {
			if err := os.MkdirAll(devPath(s, vf, "net", "eth0v1"), 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, devPath(s, vf, "net", "eth0v1", "type"), "1\n")
		}, func(d pci.Device) pci.Device { d.Netdev = "eth0v1"; return d }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
			tc.mutate(t, s)
			got, err := s.Resolve(vf)
			if err != nil {
				t.Fatalf("Resolve(%s): %v", vf, err)
			}
			checkDevice(t, got, tc.want(base))
		})
	}
}

func TestResolveUserspaceVF(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "eth1"}, {Driver: "vfio-pci"}}}
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	got, err := s.Resolve(fixture.VFAddr(pf, 1))
	if err != nil {
		t.Fatal(err)
	}
	checkDevice(t, got, pci.Device{Addr: "0000:01:10.2", PFAddr: "0000:01:00.0", PFNetdev: "eth0", PFDriver: "igb",
		VFIndex: 1, Netdev: "", Driver: "vfio-pci", LinkType: ""})
}

func TestResolveBrokenNetdevType(t *testing.T) {
	pf := fixture.PF{VFs: []fixture.VF{{Netdev: "eth1"}}}
	s := tree(t, fixture.Node{PFs: []fixture.PF{pf}})
	if err := os.Remove(devPath(s, "0000:01:10.0", "net", "eth1", "type")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Resolve("0000:01:10.0")
	if err == nil || !strings.Contains(err.Error(), "link type of eth1") {
		t.Fatalf("Resolve with no net/eth1/type: err = %v, want one naming the link type of eth1", err)
	}
}
