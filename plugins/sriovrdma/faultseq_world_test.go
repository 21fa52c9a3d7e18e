package sriovrdma

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/sriov-rdma/sriov-rdma/pkg/state"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// seqWorld is what the invariants look at: where each VF's netdev is, every
// netns's links, the PF-side state, the RDMA devices, the addresses, the
// journals and the lock files.
type seqWorld struct {
	Host     map[string]linkState
	Pods     []map[string]linkState
	Where    []string // VF i's netdev: "host:<name>", "pod<k>:<name>", "missing", or several
	VFs      []vf.State
	RDMA     string
	IPs      map[string]string
	Journals map[string]string // file name -> deviceID ("corrupt" when unreadable)
	Locks    map[string]string // VF address -> owner
	Files    []string
	DevInfo  []string // device-info files
}

func (s *faultSeq) observe() seqWorld {
	n, base := s.n, s.sn.base
	w := seqWorld{Host: links(s.t, n.host), RDMA: n.rdma.dump(), IPs: n.ipam.allocated(),
		Journals: map[string]string{}, Locks: map[string]string{}}
	for _, p := range s.pods {
		w.Pods = append(w.Pods, links(s.t, p.ns))
	}
	for i := 0; i < seqVFs; i++ {
		w.VFs = append(w.VFs, n.vfs.State("pf0", i))
		var at []string
		for name, l := range w.Host {
			if l.Index == base.index[i] {
				at = append(at, "host:"+name)
			}
		}
		for k, pl := range w.Pods {
			for name, l := range pl {
				if l.Index == base.index[i] {
					at = append(at, fmt.Sprintf("pod%d:%s", k, name))
				}
			}
		}
		sort.Strings(at)
		where := strings.Join(at, ",")
		if where == "" {
			where = "missing"
		}
		w.Where = append(w.Where, where)
	}
	ents, _ := os.ReadDir(n.stateDir)
	for _, e := range ents {
		w.Files = append(w.Files, "state/"+e.Name())
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		rec, err := state.ReadFile(filepath.Join(n.stateDir, e.Name()))
		if err != nil {
			w.Journals[e.Name()] = "corrupt: " + err.Error()
			continue
		}
		w.Journals[e.Name()] = rec.DeviceID
	}
	ents, _ = os.ReadDir(n.lockDir)
	for _, e := range ents {
		w.Files = append(w.Files, "locks/"+e.Name())
		b, err := os.ReadFile(filepath.Join(n.lockDir, e.Name()))
		if err == nil {
			w.Locks[strings.TrimSuffix(e.Name(), ".lock")] = strings.TrimSpace(string(b))
		}
	}
	sort.Strings(w.Files)
	ents, _ = os.ReadDir(s.sn.devinfo)
	for _, e := range ents {
		w.DevInfo = append(w.DevInfo, e.Name())
	}
	return w
}

func (w seqWorld) diff(o seqWorld) string {
	if reflect.DeepEqual(w, o) {
		return ""
	}
	a, _ := json.MarshalIndent(w, "", " ")
	b, _ := json.MarshalIndent(o, "", " ")
	return fmt.Sprintf("before:\n%s\nafter:\n%s", a, b)
}

// checkInvariants: what must hold after every op, whatever failed.
//   - Every VF netdev is in exactly one place: the host or one pod.
//   - A VF in a pod is that pod's CNI_IFNAME, journalled by that pod's
//     attachment, and its lock names that journal as the owner.
//   - A VF no journal mentions is fully restored: home under its name with
//     its MAC, MTU and state, PF-side settings and RDMA device as at the
//     start, no lock file.
//   - Every address IPAM holds belongs to an attachment with a journal.
//   - Nothing but journals and lock files in the two directories; no
//     corrupt journal.
func (s *faultSeq) checkInvariants(when string, w seqWorld) {
	n, base := s.n, s.sn.base
	journalled := map[string][]string{}
	for file, dev := range w.Journals {
		if strings.HasPrefix(dev, "corrupt") {
			s.fatalf("%s: journal %s is %s", when, file, dev)
		}
		journalled[dev] = append(journalled[dev], file)
	}
	for i := 0; i < seqVFs; i++ {
		addr := n.vfAddr(i)
		where := w.Where[i]
		if where == "missing" || strings.Contains(where, ",") {
			s.fatalf("%s: vf%d netdev is at %q, want exactly one place", when, i, where)
		}
		if strings.HasPrefix(where, "pod") {
			k, _ := strconv.Atoi(where[3:strings.Index(where, ":")])
			p := s.pods[k]
			if where != fmt.Sprintf("pod%d:%s", k, p.ifname) {
				s.fatalf("%s: vf%d is in pod%d under a name other than %s: %s", when, i, k, p.ifname, where)
			}
			file := p.id + "-" + p.ifname + ".json"
			if w.Journals[file] != addr {
				s.fatalf("%s: vf%d is in pod%d but pod%d's journal names %q", when, i, k, k, w.Journals[file])
			}
			if owner := w.Locks[addr]; owner != filepath.Join(n.stateDir, file) {
				s.fatalf("%s: vf%d is in pod%d but its lock names owner %q", when, i, k, owner)
			}
		}
		if len(journalled[addr]) > 1 {
			s.fatalf("%s: vf%d is in %d journals: %v", when, i, len(journalled[addr]), journalled[addr])
		}
		if len(journalled[addr]) == 0 {
			name := fmt.Sprintf("vf%d", i)
			if where != "host:"+name {
				s.fatalf("%s: vf%d has no journal but its netdev is at %s", when, i, where)
			}
			if got, want := w.Host[name], base.host[name]; got != want {
				s.fatalf("%s: vf%d has no journal but is not restored: %+v, want %+v", when, i, got, want)
			}
			if got, want := w.VFs[i], base.vfs[i]; got != want {
				s.fatalf("%s: vf%d has no journal but its PF-side state is %+v, want %+v", when, i, got, want)
			}
			if owner, ok := w.Locks[addr]; ok {
				s.fatalf("%s: vf%d has no journal but a lock file naming %q", when, i, owner)
			}
			for _, dev := range strings.Fields(base.rdma) {
				if !strings.Contains(dev, "@") {
					continue
				}
				name := dev[:strings.Index(dev, "@")]
				if name == fmt.Sprintf("mlx5_%d", i) || name == fmt.Sprintf("rxe%d", i) {
					if got := n.rdma.where(name, nil); got != "host" {
						s.fatalf("%s: vf%d has no journal but its RDMA device %s is %s", when, i, name, got)
					}
				}
			}
		}
	}
	for key := range w.IPs {
		file := strings.Replace(key, "/", "-", 1) + ".json"
		if _, ok := w.Journals[file]; !ok {
			s.fatalf("%s: IPAM holds %s for %s, which has no journal (leaked address)", when, w.IPs[key], key)
		}
	}
	for _, f := range w.Files {
		if strings.Contains(f, ".tmp-") {
			s.fatalf("%s: temporary file left: %s", when, f)
		}
	}
	for _, f := range w.DevInfo {
		if _, ok := w.Journals[f]; !ok {
			s.fatalf("%s: device-info file %s left for an attachment without a journal", when, f)
		}
	}
}

// checkIsolation: an op on other attachments never touches a live one (a
// pod whose ADD succeeded and that no DEL, GC or ADD of its own has hit
// since): its links in the pod and its VF's PF-side state are unchanged.
func (s *faultSeq) checkIsolation(op seqOp, before, after seqWorld) {
	for k, p := range s.pods {
		if p.live == nil || (op.verb != "GC" && op.pod == k) {
			continue
		}
		if !reflect.DeepEqual(before.Pods[k], after.Pods[k]) {
			s.fatalf("%s changed live pod%d's links: %v -> %v", op, k, before.Pods[k], after.Pods[k])
		}
		if before.VFs[p.vf] != after.VFs[p.vf] {
			s.fatalf("%s reconfigured live pod%d's vf%d: %+v -> %+v", op, k, p.vf, before.VFs[p.vf], after.VFs[p.vf])
		}
		if ip := before.IPs[p.id+"/"+p.ifname]; ip == "" || after.IPs[p.id+"/"+p.ifname] != ip {
			s.fatalf("%s changed live pod%d's address: %q -> %q", op, k, ip, after.IPs[p.id+"/"+p.ifname])
		}
	}
}

// checkAtBaseline: the node is exactly as built: every VF home and as it
// was, RDMA devices home, no address, empty state and lock directories,
// nothing but lo in the pods.
func (s *faultSeq) checkAtBaseline(when string) {
	w := s.observe()
	base := s.sn.base
	if !reflect.DeepEqual(w.Host, base.host) {
		s.fatalf("%s: host links %v, want %v", when, w.Host, base.host)
	}
	for i := range w.VFs {
		if w.VFs[i] != base.vfs[i] {
			s.fatalf("%s: vf%d PF-side state %+v, want %+v", when, i, w.VFs[i], base.vfs[i])
		}
	}
	if w.RDMA != base.rdma {
		s.fatalf("%s: RDMA devices %q, want %q", when, w.RDMA, base.rdma)
	}
	if len(w.IPs) != 0 {
		s.fatalf("%s: IPAM still holds %v", when, w.IPs)
	}
	if len(w.Files) != 0 {
		s.fatalf("%s: state and lock directories not empty: %v", when, w.Files)
	}
	if len(w.DevInfo) != 0 {
		s.fatalf("%s: device-info files left: %v", when, w.DevInfo)
	}
	for k, pl := range w.Pods {
		if len(pl) != 1 {
			s.fatalf("%s: pod%d has links %v, want only lo", when, k, pl)
		}
	}
}
