package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// onOff parses sriov-cni's "on"/"off" switches; "" means not asked.
func onOff(field, s string) (*bool, *types.Error) {
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "on":
		v := true
		return &v, nil
	case "off":
		v := false
		return &v, nil
	}
	return nil, invalid(`invalid %s %s: must be "on" or "off"`, field, quote(s))
}

// checkSwitches covers the PF-side VF switches: spoofchk, trust, link_state.
func checkSwitches(b *build) *types.Error {
	spoof, err := onOff("spoofchk", b.net.SpoofChk)
	if err != nil {
		return err
	}
	trust, err := onOff("trust", b.net.Trust)
	if err != nil {
		return err
	}
	var link *string
	if s := b.net.LinkState; s != "" {
		ls := strings.ToLower(s)
		switch ls {
		case "auto", "enable", "disable":
			link = &ls
		default:
			return invalid(`invalid link_state %s: must be "auto", "enable" or "disable"`, quote(s))
		}
	}
	b.cfg.VF.SpoofChk = spoof
	b.cfg.VF.Trust = trust
	b.cfg.VF.LinkState = link
	return nil
}
