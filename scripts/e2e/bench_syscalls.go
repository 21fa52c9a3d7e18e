package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// syscalls runs one ADD and one DEL of each plugin under strace and counts
// what the step timings cannot show: processes, threads, namespace switches,
// netlink sockets and requests (dumps apart), fsyncs.
func (b *bencher) syscalls(strace string) (*table, error) {
	oursConf, err := b.ourConf("bench-strace", b.vfs[benchOursVF], map[string]any{"logFile": nil})
	if err != nil {
		return nil, err
	}
	hdConf, err := b.hostDeviceConf("bench-strace-hd", b.vfs[benchHDVF])
	if err != nil {
		return nil, err
	}
	p, err := b.pod("bench-strace")
	if err != nil {
		return nil, err
	}
	var cols []map[string]int
	var keys []string
	for _, pl := range []struct {
		bin  string
		conf []byte
	}{{b.plugin, oursConf}, {b.o.hostDevice, hdConf}} {
		cid := b.containerID("strace")
		for _, verb := range []string{"ADD", "DEL"} {
			file := filepath.Join(b.o.out, "strace", fmt.Sprintf("%s-%s.txt", filepath.Base(pl.bin), verb))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return nil, err
			}
			r := b.straceCNI(strace, file, pl.bin, verb, pl.conf, p, cid)
			if !r.ok() {
				return nil, fmt.Errorf("%s %s under strace: %s", filepath.Base(pl.bin), verb, r)
			}
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			counts, order := countSyscalls(f)
			_ = f.Close()
			cols = append(cols, counts)
			for _, k := range order {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
		b.pause()
	}
	t := &table{
		title:  "Syscalls of one ADD and one DEL (strace -f, not timed)",
		note:   "Processes and threads include the IPAM plugin each execs. Every netlink request on RTNETLINK waits for the kernel's RTNL lock, every setns is a thread switching namespace, every fsync a disk flush.",
		header: []string{"", "sriov-rdma ADD", "sriov-rdma DEL", "host-device ADD", "host-device DEL"},
	}
	for _, k := range keys {
		row := []string{k}
		for _, c := range cols {
			row = append(row, strconv.Itoa(c[k]))
		}
		t.rows = append(t.rows, row)
	}
	return t, nil
}

func (b *bencher) straceCNI(strace, out, bin, verb string, conf []byte, p *pod, cid string) result {
	return b.run(b.cniEnv(verb, cid, p.netns, benchIfName, "IgnoreUnknown=1"), conf, strace, "-f", "-qq", "-o", out,
		"-e", "trace=execve,clone,clone3,setns,socket,sendto,sendmsg,fsync,fdatasync", bin)
}

var (
	nlType     = regexp.MustCompile(`nlmsg_type=([A-Za-z0-9_]+)`)
	sysRet     = regexp.MustCompile(`= (\d+)$`)
	sysFD      = regexp.MustCompile(`^(?:sendto|sendmsg)\((\d+),`)
	nlProtocol = regexp.MustCompile(`AF_NETLINK, [^,]+, ([A-Z_]+)`)
)

// rtnetlinkTypes names the request types strace prints as numbers when it
// cannot tell a socket's protocol (it was opened in another netns).
var rtnetlinkTypes = map[string]string{
	"0x10": "RTM_NEWLINK", "0x11": "RTM_DELLINK", "0x12": "RTM_GETLINK", "0x13": "RTM_SETLINK",
	"0x14": "RTM_NEWADDR", "0x15": "RTM_DELADDR", "0x16": "RTM_GETADDR",
	"0x18": "RTM_NEWROUTE", "0x19": "RTM_DELROUTE", "0x1a": "RTM_GETROUTE",
	"0x1c": "RTM_NEWNEIGH", "0x1d": "RTM_DELNEIGH", "0x1e": "RTM_GETNEIGH",
	"0x58": "RTM_NEWNSID", "0x5a": "RTM_GETNSID",
}

// countSyscalls summarises an strace -f log: the rows of the syscall table,
// in a fixed order first, then each netlink request type as seen.
func countSyscalls(rd io.Reader) (map[string]int, []string) {
	order := []string{"processes exec'd", "threads and processes started", "setns (namespace switches)",
		"netlink sockets opened", "netlink requests", "  of which dumps", "fsync + fdatasync"}
	c := map[string]int{}
	proto := map[string]string{}   // socket fd -> netlink protocol (fd numbers may be reused: last wins)
	pending := map[string]string{} // thread -> protocol of its unfinished socket()
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		tid, call, _ := strings.Cut(line, " ") // "TID call(args...) = ret"
		call = strings.TrimSpace(call)
		if rest, ok := strings.CutPrefix(call, "<... socket resumed>"); ok {
			if m := sysRet.FindStringSubmatch(rest); m != nil && pending[tid] != "" {
				proto[m[1]] = pending[tid]
			}
			delete(pending, tid)
			continue
		}
		if strings.HasPrefix(call, "<...") {
			continue // the rest of an interrupted call, already counted
		}
		name, _, _ := strings.Cut(call, "(")
		switch name {
		case "execve":
			if strings.HasSuffix(call, "= 0") || strings.HasSuffix(call, "<unfinished ...>") {
				c["processes exec'd"]++
			}
		case "clone", "clone3":
			c["threads and processes started"]++
		case "setns":
			c["setns (namespace switches)"]++
		case "socket":
			m := nlProtocol.FindStringSubmatch(call)
			if m == nil {
				continue
			}
			c["netlink sockets opened"]++
			if r := sysRet.FindStringSubmatch(call); r != nil {
				proto[r[1]] = m[1]
			} else {
				pending[tid] = m[1]
			}
		case "sendto", "sendmsg":
			m := nlType.FindStringSubmatch(call)
			if m == nil {
				continue
			}
			typ := m[1]
			if named, ok := rtnetlinkTypes[typ]; ok {
				if fd := sysFD.FindStringSubmatch(call); fd != nil && proto[fd[1]] == "NETLINK_ROUTE" {
					typ = named
				}
			}
			c["netlink requests"]++
			key := "  " + typ
			if strings.Contains(call, "NLM_F_DUMP") {
				c["  of which dumps"]++
				key += " (dump)"
			}
			if !slices.Contains(order, key) {
				order = append(order, key)
			}
			c[key]++
		case "fsync", "fdatasync":
			c["fsync + fdatasync"]++
		}
	}
	return c, order
}
