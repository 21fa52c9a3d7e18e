// Package vf reads, applies and restores the PF-side settings of an SR-IOV
// virtual function: admin MAC, VLAN/QoS/protocol, spoof checking, trust, link
// state and rates. The kernel calls sit behind the Netlink interface so the
// transaction logic is testable on kernels without SR-IOV.
package vf

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNoVFInfo is returned by Netlink.Get when the PF's driver reports no VF
// information over netlink (no IFLA_VFINFO_LIST entry for the VF). Such a PF
// cannot take PF-side settings at all.
var ErrNoVFInfo = errors.New("driver reports no vf information over netlink")

// Link states, as iproute2 spells them.
const (
	LinkStateAuto    = "auto"
	LinkStateEnable  = "enable"
	LinkStateDisable = "disable"
)

// VLAN protocols, as iproute2 spells them.
const (
	Proto8021Q  = "802.1q"
	Proto8021AD = "802.1ad"
)

// State is every PF-side attribute of one VF. The journal records the state
// found before ADD so that DEL can put back every attribute, including the
// ones the config never touched.
type State struct {
	MAC       string `json:"mac"`
	VLAN      int    `json:"vlan"`
	QoS       int    `json:"qos"`
	Proto     string `json:"proto"`
	SpoofChk  bool   `json:"spoofchk"`
	Trust     bool   `json:"trust"`
	LinkState string `json:"linkState"`
	MinTxRate int    `json:"minTxRate"`
	MaxTxRate int    `json:"maxTxRate"`
}

// Netlink is the kernel side: one PF, one VF index. Kernel implements it with
// rtnetlink; tests use a fake that keeps state.
type Netlink interface {
	Get(pf string, vf int) (State, error)
	// List returns every VF's state, by VF index.
	List(pf string) ([]State, error)
	SetMAC(pf string, vf int, mac net.HardwareAddr) error
	SetVLAN(pf string, vf, vlan, qos int, proto string) error
	SetSpoofChk(pf string, vf int, on bool) error
	SetTrust(pf string, vf int, on bool) error
	SetLinkState(pf string, vf int, state string) error
	SetRate(pf string, vf, minMbps, maxMbps int) error
	// SetGUID sets an InfiniBand VF's node and port GUID.
	SetGUID(pf string, vf int, guid net.HardwareAddr) error
}

// UnsetGUID returns what mlx5 takes as "no administrative GUID": restoring a
// VF that never had one writes this, not zero.
func UnsetGUID() net.HardwareAddr {
	return net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

// Setting names as they appear in the netconf, so errors point at the field a
// user wrote.
const (
	SettingMAC       = "mac"
	SettingVLAN      = "vlan"
	SettingSpoofChk  = "spoofchk"
	SettingTrust     = "trust"
	SettingLinkState = "link_state"
	SettingRate      = "max_tx_rate/min_tx_rate"
)

// SettingError says which setting the driver refused.
type SettingError struct {
	Setting string
	Value   string
	Err     error
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("set %s %s: %v", e.Setting, e.Value, e.Err)
}

func (e *SettingError) Unwrap() error { return e.Err }

// Change is one PF-side call that takes a VF from one State towards another.
type Change struct {
	Setting string
	Value   string
	apply   func(nl Netlink, pf string, vf int) error
}

// Diff lists the calls that take a VF from cur to want, in a fixed order:
// MAC first (a trusted-VF or spoof-check change must not see a half-set
// address), then VLAN, spoof checking, trust, link state, rates.
func Diff(cur, want State) []Change {
	var cs []Change
	if !strings.EqualFold(cur.MAC, want.MAC) && want.MAC != "" {
		mac := want.MAC
		cs = append(cs, Change{SettingMAC, mac, func(nl Netlink, pf string, vf int) error {
			hw, err := net.ParseMAC(mac)
			if err != nil {
				return fmt.Errorf("parse mac %q: %w", mac, err)
			}
			return nl.SetMAC(pf, vf, hw)
		}})
	}
	if cur.VLAN != want.VLAN || cur.QoS != want.QoS || (want.VLAN != 0 && !sameProto(cur.Proto, want.Proto)) {
		w := want
		val := fmt.Sprintf("%d qos %d proto %s", w.VLAN, w.QoS, protoOrDefault(w.Proto))
		cs = append(cs, Change{SettingVLAN, val, func(nl Netlink, pf string, vf int) error {
			return nl.SetVLAN(pf, vf, w.VLAN, w.QoS, protoOrDefault(w.Proto))
		}})
	}
	if cur.SpoofChk != want.SpoofChk {
		on := want.SpoofChk
		cs = append(cs, Change{SettingSpoofChk, onOff(on), func(nl Netlink, pf string, vf int) error {
			return nl.SetSpoofChk(pf, vf, on)
		}})
	}
	if cur.Trust != want.Trust {
		on := want.Trust
		cs = append(cs, Change{SettingTrust, onOff(on), func(nl Netlink, pf string, vf int) error {
			return nl.SetTrust(pf, vf, on)
		}})
	}
	if cur.LinkState != want.LinkState && want.LinkState != "" {
		st := want.LinkState
		cs = append(cs, Change{SettingLinkState, st, func(nl Netlink, pf string, vf int) error {
			return nl.SetLinkState(pf, vf, st)
		}})
	}
	if cur.MinTxRate != want.MinTxRate || cur.MaxTxRate != want.MaxTxRate {
		lo, hi := want.MinTxRate, want.MaxTxRate
		cs = append(cs, Change{SettingRate, fmt.Sprintf("%d/%d Mbps", hi, lo), func(nl Netlink, pf string, vf int) error {
			return nl.SetRate(pf, vf, lo, hi)
		}})
	}
	return cs
}

// Apply makes the calls that take the VF from cur to want. It stops at the
// first refusal and reports which setting it was; the caller restores.
func Apply(nl Netlink, pf string, vf int, cur, want State) error {
	for _, c := range Diff(cur, want) {
		if err := c.apply(nl, pf, vf); err != nil {
			return &SettingError{Setting: c.Setting, Value: c.Value, Err: err}
		}
	}
	return nil
}

// Restore reads the VF's live state and puts back every attribute that
// differs from orig. Reading first makes it idempotent and lets it repair a
// half-applied ADD whose progress is unknown (a crash, a refused setting).
// It tries every setting even when one fails, so one stubborn attribute does
// not leave the others changed, and returns the errors joined.
func Restore(nl Netlink, pf string, vf int, orig State) error {
	_, err := RestoreReport(nl, pf, vf, orig)
	return err
}

// Report says what Restore could not put back exactly.
type Report struct {
	// FallbackMAC is the admin MAC set instead of the original, which the
	// driver refused (some refuse an all-zero MAC once one was set); "" when
	// the original went back.
	FallbackMAC string
}

// RestoreReport is Restore, telling the caller what it had to improvise.
// When the driver refuses the original admin MAC, the VF gets a locally
// administered unicast MAC that no other VF of the PF has, rather than
// keeping the pod's MAC, which the next pod on this VF could duplicate.
func RestoreReport(nl Netlink, pf string, vf int, orig State) (Report, error) {
	var rep Report
	cur, err := nl.Get(pf, vf)
	if err != nil {
		return rep, fmt.Errorf("read vf %d of %s: %w", vf, pf, err)
	}
	var errs []error
	for _, c := range Diff(cur, orig) {
		err := c.apply(nl, pf, vf)
		if err != nil && c.Setting == SettingMAC && refused(err) {
			rep.FallbackMAC, err = setUniqueMAC(nl, pf, vf, cur.MAC, err)
		}
		if err != nil {
			errs = append(errs, &SettingError{Setting: c.Setting, Value: c.Value, Err: err})
		}
	}
	return rep, errors.Join(errs...)
}

// refused tells a driver's refusal of a value, which a retry cannot
// change, from a failure a retried DEL may get past.
func refused(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EADDRNOTAVAIL)
}

// setUniqueMAC sets a locally administered unicast MAC derived from the PF
// and VF index, skipping any value another VF of the PF (or this one, now)
// holds. refused is the driver's answer to the original MAC.
func setUniqueMAC(nl Netlink, pf string, vf int, current string, refused error) (string, error) {
	all, err := nl.List(pf)
	if err != nil {
		return "", fmt.Errorf("%w; and listing vfs of %s for a fallback mac: %w", refused, pf, err)
	}
	taken := map[string]bool{strings.ToLower(current): true}
	for _, s := range all {
		taken[strings.ToLower(s.MAC)] = true
	}
	for attempt := 0; attempt < 64; attempt++ {
		mac := LocalMAC(pf, vf, attempt)
		if taken[mac.String()] {
			continue
		}
		if err := nl.SetMAC(pf, vf, mac); err != nil {
			return "", fmt.Errorf("%w; and the fallback mac %s: %w", refused, mac, err)
		}
		return mac.String(), nil
	}
	return "", fmt.Errorf("%w; and no free fallback mac", refused)
}

// LocalMAC is a locally administered, unicast MAC for VF vf of pf; attempt
// picks another one when the first is taken.
func LocalMAC(pf string, vf, attempt int) net.HardwareAddr {
	sum := sha256.Sum256([]byte(fmt.Sprintf("sriov-rdma/%s/%d/%d", pf, vf, attempt)))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfc | 0x02
	return mac
}

// Mismatches names the attributes of live that differ from want, for CHECK.
func Mismatches(live, want State) []string {
	var out []string
	for _, c := range Diff(live, want) {
		out = append(out, fmt.Sprintf("%s is %s, expected %s", strings.ToUpper(c.Setting), describe(live, c.Setting), c.Value))
	}
	return out
}

func describe(s State, setting string) string {
	switch setting {
	case SettingMAC:
		return s.MAC
	case SettingVLAN:
		return fmt.Sprintf("%d qos %d proto %s", s.VLAN, s.QoS, protoOrDefault(s.Proto))
	case SettingSpoofChk:
		return onOff(s.SpoofChk)
	case SettingTrust:
		return onOff(s.Trust)
	case SettingLinkState:
		return s.LinkState
	case SettingRate:
		return fmt.Sprintf("%d/%d Mbps", s.MaxTxRate, s.MinTxRate)
	}
	return "?"
}

func sameProto(a, b string) bool { return protoOrDefault(a) == protoOrDefault(b) }

func protoOrDefault(p string) string {
	if p == "" {
		return Proto8021Q
	}
	return strings.ToLower(p)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
