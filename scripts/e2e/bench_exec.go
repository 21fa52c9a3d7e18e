package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

func (b *bencher) exec(env []string, stdin []byte, name string) timedRun {
	ctx, cancel := context.WithTimeout(b.ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name)
	cmd.Env = append(slices.Clip(b.env), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t := timedRun{wall: time.Since(start)}
	t.r = result{cmdline: shellLine(env, name, nil), stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		t.r.code, t.r.err = ee.ExitCode(), err
	default:
		t.r.code, t.r.err = -1, err
	}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			t.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		}
	}
	return t
}

// cni execs a CNI plugin binary for one verb on pod p.
func (b *bencher) cni(bin, verb string, stdin []byte, p *pod, cid string) timedRun {
	return b.exec([]string{
		"CNI_COMMAND=" + verb,
		"CNI_CONTAINERID=" + cid,
		"CNI_NETNS=" + p.netns,
		"CNI_IFNAME=" + benchIfName,
		"CNI_ARGS=" + fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;K8S_POD_INFRA_CONTAINER_ID=%s", podNamespace, p.name, cid),
		"CNI_PATH=" + b.cniPath,
	}, stdin, bin)
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
	c := b.netconf(network, "1.0.0", v, map[string]any{"logLevel": "info"})
	for k, val := range set {
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
	}
	return json.Marshal(c)
}

// hostDeviceConf is host-device moving VF v's veth, with the same IPAM.
func (b *bencher) hostDeviceConf(network string, v vfSpec) ([]byte, error) {
	c := b.netconf(network, "1.0.0", v, nil)
	return json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": network, "type": "host-device",
		"device": v.netdev, "ipam": c["ipam"],
	})
}
