// Package vftest provides a fake of the PF-side VF netlink calls for kernels
// without SR-IOV. It keeps per-VF state, records every call, models a
// driver's refusals, and lets a test inject errors at chosen calls.
package vftest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
	"golang.org/x/sys/unix"
)

// Driver models which settings a PF driver refuses, the way the kernel would
// answer them.
type Driver struct {
	Name          string
	NoVFInfo      bool // reports no IFLA_VFINFO_LIST at all (veth, some drivers)
	NoLinkState   bool // EOPNOTSUPP on link state (igb)
	NoMinRate     bool // EINVAL on a non-zero min rate (igb)
	No8021AD      bool // EPROTONOSUPPORT on 802.1ad (igb)
	RejectZeroMAC bool // EINVAL when asked to set 00:00:00:00:00:00
}

// IGB is the emulated 82576 of the VM lane, as FINDINGS.md measured it. A
// constant-like value: Driver is copied wherever it is used.
var IGB = Driver{Name: "igb", NoLinkState: true, NoMinRate: true, No8021AD: true}

// Full accepts every setting (an mlx5-like driver).
var Full = Driver{Name: "mlx5_core"}

// Fake is a vf.Netlink with state. Safe for concurrent use.
type Fake struct {
	mu     sync.Mutex
	pfs    map[string]*pf
	calls  []string
	FailAt func(call string) error // when non-nil and it returns an error, the call fails with it and changes nothing
}

type pf struct {
	drv   Driver
	vfs   []vf.State
	guids map[int]string
}

// New returns a fake with no PFs.
func New() *Fake { return &Fake{pfs: map[string]*pf{}} }

// AddPF registers a PF with n VFs in their power-on state: a random-looking
// but deterministic admin MAC, spoof checking on, trust off, link state auto.
func (f *Fake) AddPF(name string, drv Driver, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := &pf{drv: drv, guids: map[int]string{}}
	for i := 0; i < n; i++ {
		p.vfs = append(p.vfs, vf.State{
			MAC:       fmt.Sprintf("aa:af:23:88:%02x:%02x", i>>8, i&0xff),
			Proto:     vf.Proto8021Q,
			SpoofChk:  true,
			LinkState: vf.LinkStateAuto,
		})
	}
	f.pfs[name] = p
}

// State returns the VF's current state.
func (f *Fake) State(pfName string, idx int) vf.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pfs[pfName].vfs[idx]
}

// Set overwrites a VF's state, as an operator's `ip link set` would.
func (f *Fake) Set(pfName string, idx int, s vf.State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pfs[pfName].vfs[idx] = s
}

// Calls returns the calls made so far ("set-vlan eth0 3 100 ...").
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// ResetCalls clears the call log.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

func (f *Fake) do(call, pfName string, idx int, change func(p *pf, s *vf.State) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.FailAt != nil {
		if err := f.FailAt(call); err != nil {
			return err
		}
	}
	// As vf.Kernel answers: a PF netdev that is not there (renamed,
	// driver unbound) and a VF the PF does not list (its VFs removed)
	// both read as "no VF information".
	p, ok := f.pfs[pfName]
	if !ok {
		return fmt.Errorf("pf %s not in this netns: %w", pfName, vf.ErrNoVFInfo)
	}
	if p.drv.NoVFInfo || idx < 0 || idx >= len(p.vfs) {
		return fmt.Errorf("pf %s vf %d: %w", pfName, idx, vf.ErrNoVFInfo)
	}
	s := p.vfs[idx]
	if err := change(p, &s); err != nil {
		return err
	}
	p.vfs[idx] = s
	return nil
}

func (f *Fake) Get(pfName string, idx int) (vf.State, error) {
	var out vf.State
	err := f.do(fmt.Sprintf("get %s %d", pfName, idx), pfName, idx, func(p *pf, s *vf.State) error {
		out = *s
		return nil
	})
	return out, err
}

// List returns every VF's state.
func (f *Fake) List(pfName string) ([]vf.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pfs[pfName]
	if !ok {
		return nil, fmt.Errorf("link %s: %w", pfName, unix.ENODEV)
	}
	if p.drv.NoVFInfo {
		return nil, fmt.Errorf("pf %s: %w", pfName, vf.ErrNoVFInfo)
	}
	return append([]vf.State(nil), p.vfs...), nil
}

func (f *Fake) SetMAC(pfName string, idx int, mac net.HardwareAddr) error {
	return f.do(fmt.Sprintf("set-mac %s %d %s", pfName, idx, mac), pfName, idx, func(p *pf, s *vf.State) error {
		if p.drv.RejectZeroMAC && strings.Trim(mac.String(), "0:") == "" {
			return unix.EINVAL
		}
		s.MAC = strings.ToLower(mac.String())
		return nil
	})
}

func (f *Fake) SetVLAN(pfName string, idx, vlan, qos int, proto string) error {
	return f.do(fmt.Sprintf("set-vlan %s %d %d %d %s", pfName, idx, vlan, qos, proto), pfName, idx, func(p *pf, s *vf.State) error {
		if vlan > 4095 || qos > 7 {
			return unix.EINVAL
		}
		if proto == vf.Proto8021AD && p.drv.No8021AD {
			return unix.EPROTONOSUPPORT
		}
		s.VLAN, s.QoS, s.Proto = vlan, qos, proto
		return nil
	})
}

func (f *Fake) SetSpoofChk(pfName string, idx int, on bool) error {
	return f.do(fmt.Sprintf("set-spoofchk %s %d %t", pfName, idx, on), pfName, idx, func(p *pf, s *vf.State) error {
		s.SpoofChk = on
		return nil
	})
}

func (f *Fake) SetTrust(pfName string, idx int, on bool) error {
	return f.do(fmt.Sprintf("set-trust %s %d %t", pfName, idx, on), pfName, idx, func(p *pf, s *vf.State) error {
		s.Trust = on
		return nil
	})
}

func (f *Fake) SetLinkState(pfName string, idx int, st string) error {
	return f.do(fmt.Sprintf("set-state %s %d %s", pfName, idx, st), pfName, idx, func(p *pf, s *vf.State) error {
		if p.drv.NoLinkState {
			return unix.EOPNOTSUPP
		}
		s.LinkState = st
		return nil
	})
}

func (f *Fake) SetRate(pfName string, idx, minMbps, maxMbps int) error {
	return f.do(fmt.Sprintf("set-rate %s %d %d %d", pfName, idx, minMbps, maxMbps), pfName, idx, func(p *pf, s *vf.State) error {
		if minMbps != 0 && p.drv.NoMinRate {
			return unix.EINVAL
		}
		s.MinTxRate, s.MaxTxRate = minMbps, maxMbps
		return nil
	})
}

// ErrInjected is what tests usually return from FailAt.
var ErrInjected = errors.New("injected netlink failure")

// SetGUID records the VF's GUID (node and port alike).
func (f *Fake) SetGUID(pfName string, idx int, guid net.HardwareAddr) error {
	return f.do(fmt.Sprintf("set-guid %s %d %s", pfName, idx, guid), pfName, idx, func(p *pf, s *vf.State) error {
		if len(guid) != 8 {
			return unix.EINVAL
		}
		p.guids[idx] = strings.ToLower(guid.String())
		return nil
	})
}

// GUID returns the GUID last set on the VF, "" if none.
func (f *Fake) GUID(pfName string, idx int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pfs[pfName].guids[idx]
}
