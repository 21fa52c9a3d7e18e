package sriovrdma

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
)

// corruptJournalNode is a node with one committed attachment, pod-a on
// VF 0 (hardware RDMA, PF-side VLAN, pod-side MAC and MTU), and the path and
// bytes of its journal.
func corruptJournalNode(t *testing.T) (n *node, p *pod, conf []byte, path string, journal []byte) {
	t.Helper()
	n = newNode(t, nodeOpts{vfs: 2, hwRDMA: true})
	p = n.newPod("pod-a")
	conf = n.conf(0, map[string]any{"vlan": 5, "mac": "02:00:00:00:00:05", "mtu": 1400})
	n.mustAdd(p, conf)
	path = filepath.Join(n.stateDir, "pod-a-net1.json")
	journal, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return n, p, conf, path, journal
}

// vfNetdevSomewhere: VF 0's netdev (a veth stand-in, known by its ifindex)
// still exists, on the host or in the pod, and where.
func (n *node) vfNetdevWhere(t *testing.T, p *pod, index int) string {
	t.Helper()
	for name, l := range links(t, n.host) {
		if l.Index == index {
			return "host:" + name
		}
	}
	for name, l := range links(t, p.ns) {
		if l.Index == index {
			return "pod:" + name
		}
	}
	return ""
}

// FuzzDelJournal: whatever the journal holds when DEL comes, DEL does not
// panic, exits 0, and releases what it can. The journal is the first keep
// bytes of the real one (a torn write, a truncation) followed by data (a
// tear's garbage, or with keep 0 any bytes at all). Needs root.
//
//	go test -run '^$' -fuzz FuzzDelJournal -fuzztime 2m ./plugins/sriovrdma/
func FuzzDelJournal(f *testing.F) {
	const whole = 0xffff
	f.Add([]byte(nil), uint16(whole)) // the real journal, intact
	for _, keep := range []uint16{1, 2, 16, 40, 64, 128, 256, 400, 600, 900, 1200} {
		f.Add([]byte(nil), keep) // truncated
	}
	f.Add([]byte(""), uint16(0))
	f.Add([]byte("\x00\x00\x00\x00"), uint16(0))
	f.Add([]byte("\x00\x01not json"), uint16(0))
	f.Add([]byte("null"), uint16(0))
	f.Add([]byte("{}"), uint16(0))
	f.Add([]byte("[]"), uint16(0))
	f.Add([]byte(`"}]]}`), uint16(300))
	f.Add([]byte("\xff\xfe\xfd"), uint16(500))
	f.Add([]byte(`{"version":2,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.0"}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.0"}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-b","ifName":"net1","deviceID":"0000:01:10.0"}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.2"}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.0","original":{"netdev":"../x","mac":"zz","mtu":-1}}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.0","pfNetdev":"pf0","vfIndex":99,"original":{"vf":{"mac":"00:00:00:00:00:00"}}}`), uint16(0))
	f.Add([]byte(`{"version":1,"containerID":"pod-a","ifName":"net1","deviceID":"0000:01:10.0","original":{"netdev":"vf0","ifIndex":1}}`), uint16(0))

	f.Fuzz(func(t *testing.T, data []byte, keep uint16) {
		n, p, conf, path, real := corruptJournalNode(t)
		vf0 := links(t, p.ns)["net1"].Index
		j := append(append([]byte(nil), real[:min(int(keep), len(real))]...), data...)
		rec, decErr := state.Decode(j)
		if decErr == nil && rec.Netns != "" && rec.Netns != p.ns.Path() {
			// A netns path of the fuzzer's choosing could name a namespace
			// of the machine running the test.
			t.Skip("journal names a netns outside the test node")
		}
		if err := os.WriteFile(path, j, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := n.del(p, conf); err != nil {
			t.Fatalf("DEL with journal %q: %v", j, err)
		}
		ips := n.ipam.allocated()
		_, stays := ips["pod-a/net1"]
		_, statErr := os.Stat(path)
		foreign := decErr == nil && (rec.ContainerID != "pod-a" || rec.IfName != "net1")
		switch {
		case decErr != nil, foreign:
			// Nothing trustworthy (or someone else's): today's netconf
			// releases the address.
			if stays {
				t.Errorf("address not released (journal %q: %v)", j, decErr)
			}
		case rec.IPAM.Type != "":
			if stays {
				t.Errorf("address not released with the journalled IPAM config (journal %q)", j)
			}
		}
		if foreign {
			// The file belongs to the attachment it names: not ours to drop.
			if statErr != nil {
				t.Errorf("DEL dropped another attachment's journal: %v", statErr)
			}
		} else if !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("journal still there after DEL (stat: %v)", statErr)
		}
		if where := n.vfNetdevWhere(t, p, vf0); where == "" {
			t.Errorf("VF 0's netdev is gone")
		}
		if err := n.del(p, conf); err != nil {
			t.Fatalf("second DEL: %v", err)
		}
	})
}

// A corrupt or truncated journal: DEL exits 0, finds the VF by the PCI
// address (the torn journal's, else the netconf's deviceID) as CNI_IFNAME
// in the pod, brings its netdev home, releases the address with today's
// netconf and leaves no journal or lock behind.
func TestDelCorruptJournalRestoresFromPCI(t *testing.T) {
	type tear struct {
		name string
		cut  func([]byte) []byte
	}
	tears := []tear{
		{"empty file", func([]byte) []byte { return nil }},
		{"garbage", func([]byte) []byte { return []byte("\x00\x01not json") }},
		{"null", func([]byte) []byte { return []byte("null") }},
		{"zeroes where the data was", func(b []byte) []byte { return make([]byte, len(b)) }},
		{"foreign version", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"version": 1`, `"version": 99`, 1))
		}},
	}
	for _, frac := range []int{1, 10, 25, 50, 75, 90, 99} {
		tears = append(tears, tear{fmt.Sprintf("truncated at %d%%", frac), func(b []byte) []byte { return b[:len(b)*frac/100] }})
	}
	for _, tc := range tears {
		t.Run(tc.name, func(t *testing.T) {
			n, p, conf, path, journal := corruptJournalNode(t)
			index := links(t, p.ns)["net1"].Index
			if err := os.WriteFile(path, tc.cut(journal), 0o600); err != nil {
				t.Fatal(err)
			}
			n.mustDel(p, conf)
			if l := links(t, p.ns); len(l) != 1 {
				t.Errorf("the VF netdev stayed in the pod: %v", l)
			}
			if where := n.vfNetdevWhere(t, p, index); !strings.HasPrefix(where, "host:") {
				t.Errorf("VF 0's netdev is at %q, want home", where)
			}
			if ips := n.ipam.allocated(); len(ips) != 0 {
				t.Errorf("address leaked: %v", ips)
			}
			if s := n.snapshot(); len(s.State) != 0 {
				t.Errorf("journal or lock left: %v", s.State)
			}
			if err := n.del(p, conf); err != nil {
				t.Fatalf("second DEL: %v", err)
			}
		})
	}
}

// A journal that decodes but whose deviceID is no PCI address (corruption
// that happens to stay valid JSON, or a hand-edited file) must not wedge
// DEL: today state.Decode accepts any non-empty deviceID, the VF lock then
// refuses it ("invalid attachment key"), and every DEL of the pod fails
// with the journal kept. Decode calling it corrupt would send DEL down the
// salvage path, which falls back to the netconf's deviceID.
func TestDelJournalWithInvalidDeviceID(t *testing.T) {
	for _, dev := range []string{"../../../etc", "0000:01:10.0/..", "x", "0000:01:10.0\n"} {
		t.Run(dev, func(t *testing.T) {
			n, p, conf, path, _ := corruptJournalNode(t)
			j := fmt.Sprintf(`{"version":%d,"containerID":"pod-a","ifName":"net1","deviceID":%q}`, state.SchemaVersion, dev)
			if err := os.WriteFile(path, []byte(j), 0o600); err != nil {
				t.Fatal(err)
			}
			n.mustDel(p, conf)
			if l := links(t, p.ns); len(l) != 1 {
				t.Errorf("the VF netdev stayed in the pod: %v", l)
			}
			if ips := n.ipam.allocated(); len(ips) != 0 {
				t.Errorf("address leaked: %v", ips)
			}
			if s := n.snapshot(); len(s.State) != 0 {
				t.Errorf("journal or lock left: %v", s.State)
			}
		})
	}
}
