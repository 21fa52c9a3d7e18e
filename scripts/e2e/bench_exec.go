package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// timedRun is one process run: wall time from fork to reaped exit, and the
// peak RSS the kernel reports for it and the children it waited for.
type timedRun struct {
	wall   time.Duration
	maxRSS int64 // bytes
	r      result
}

// exec runs name as the lane runs a command, timing it.
func (b *bencher) exec(env []string, stdin []byte, name string) timedRun {
	r, wall, state := execute(b.ctx, b.env, env, stdin, name)
	t := timedRun{wall: wall, r: r}
	if state != nil {
		if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
			t.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		}
	}
	return t
}

// cni execs a CNI plugin binary for one verb on pod p.
func (b *bencher) cni(bin, verb string, stdin []byte, p *pod, cid string) timedRun {
	return b.exec(b.cniEnv(verb, cid, p.netns, benchIfName, p.cniArgsFor(cid)), stdin, bin)
}

// cycle is one ADD and its DEL of a fresh attachment on pod p. A failed ADD
// is still followed by its DEL, as a runtime does, so the node stays clean.
func (b *bencher) cycle(bin string, stdin []byte, p *pod, tag string) (add, del timedRun, cid string, err error) {
	cid = b.containerID(tag)
	add = b.cni(bin, "ADD", stdin, p, cid)
	del = b.cni(bin, "DEL", stdin, p, cid)
	switch {
	case !add.r.ok():
		err = fmt.Errorf("%s ADD: %s", filepath.Base(bin), add.r)
	case !del.r.ok():
		err = fmt.Errorf("%s DEL: %s", filepath.Base(bin), del.r)
	}
	return add, del, cid, err
}

// pause lets the kernel finish what the last run left it: a deleted netns
// (host-device makes and drops a temporary one per verb) is torn down
// later by the "netns" workqueue, under the RTNL lock every netlink request
// of the next run waits for. Each run starts on a quiet kernel, so no
// plugin pays for another's garbage.
func (b *bencher) pause() {
	select {
	case <-time.After(b.o.settle):
	case <-b.ctx.Done():
		return
	}
	_ = poll(2*time.Second, func() error {
		if netnsCleanupRunning() {
			return errors.New("netns cleanup running")
		}
		return nil
	})
}

// netnsCleanupRunning reports whether a kernel worker is running the netns
// workqueue now: a busy kworker's comm ends in "+<workqueue>".
func netnsCleanupRunning() bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && bytes.HasPrefix(comm, []byte("kworker/")) && bytes.HasSuffix(bytes.TrimSpace(comm), []byte("+netns")) {
			return true
		}
	}
	return false
}

// ourConf is the sriov-rdma netconf of network on VF v, logging its step
// timings at info, the level a node runs at.
func (b *bencher) ourConf(network string, v vfSpec, set map[string]any) ([]byte, error) {
	fields := map[string]any{"logLevel": "info"}
	maps.Copy(fields, set)
	return json.Marshal(b.netconf(network, "1.0.0", v, fields))
}

// hostDeviceConf is host-device moving VF v's veth, with the same IPAM.
func (b *bencher) hostDeviceConf(network string, v vfSpec) ([]byte, error) {
	c := b.netconf(network, "1.0.0", v, nil)
	return json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": network, "type": "host-device",
		"device": v.netdev, "ipam": c["ipam"],
	})
}
