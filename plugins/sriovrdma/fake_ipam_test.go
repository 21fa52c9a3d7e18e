package sriovrdma

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/sriov-rdma/sriov-rdma/pkg/ipam"
)

// fakeIPAM hands out 10.9.0.0/24 addresses per attachment.
type fakeIPAM struct {
	mu    sync.Mutex
	next  int
	alloc map[string]net.IP
	calls []string
}

func newFakeIPAM() *fakeIPAM { return &fakeIPAM{alloc: map[string]net.IP{}} }

func attKey(c ipam.Call) string { return c.ContainerID + "/" + c.IfName }

func (f *fakeIPAM) record(op string, c ipam.Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+attKey(c))
}

func (f *fakeIPAM) Add(_ context.Context, c ipam.Call) (types.Result, error) {
	f.record("ADD", c)
	f.mu.Lock()
	defer f.mu.Unlock()
	ip, ok := f.alloc[attKey(c)]
	if !ok {
		f.next++
		ip = net.IPv4(10, 9, 0, byte(1+f.next))
		f.alloc[attKey(c)] = ip
	}
	return &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		IPs:        []*current.IPConfig{{Address: net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}, Gateway: net.IPv4(10, 9, 0, 1)}},
	}, nil
}

func (f *fakeIPAM) Del(_ context.Context, c ipam.Call) error {
	f.record("DEL", c)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.alloc, attKey(c))
	return nil
}

func (f *fakeIPAM) Check(_ context.Context, c ipam.Call) error {
	f.record("CHECK", c)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.alloc[attKey(c)]; !ok {
		return fmt.Errorf("no address allocated for %s", attKey(c))
	}
	return nil
}

func (f *fakeIPAM) GC(_ context.Context, c ipam.Call) error {
	f.record("GC", c)
	var conf types.PluginConf
	if err := json.Unmarshal(c.Conf, &conf); err != nil {
		return err
	}
	valid := map[string]bool{}
	for _, a := range conf.ValidAttachments {
		valid[a.ContainerID+"/"+a.IfName] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.alloc {
		if !valid[k] {
			delete(f.alloc, k)
		}
	}
	return nil
}

func (f *fakeIPAM) Status(_ context.Context, c ipam.Call) error {
	f.record("STATUS", c)
	return nil
}

func (f *fakeIPAM) allocated() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.alloc {
		out[k] = v.String()
	}
	return out
}

func (f *fakeIPAM) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
