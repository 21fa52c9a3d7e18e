package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// checkIPAM: ipam is optional, but when present its type is a file name looked
// up in CNI_PATH and then executed, so it may not reach outside it.
func checkIPAM(b *build) *types.Error {
	t := b.net.IPAM.Type
	if !b.ipamSet {
		return nil
	}
	switch {
	case t == "":
		return invalid(`missing ipam.type: set it to the IPAM plugin's name, e.g. "host-local", or remove "ipam"`)
	case strings.ContainsAny(t, "/\x00") || t == "." || t == "..":
		return invalid(`invalid ipam.type %s: must be a plugin file name in CNI_PATH, e.g. "host-local" (no "/")`, quote(t))
	}
	b.cfg.IPAMType = t
	return nil
}

// checkPrevResult parses prevResult (CHECK and DEL get one) into the netconf's
// result version, so a malformed one is a config error here and not a surprise
// later. It needs a supported cniVersion to pick the result type.
func checkPrevResult(b *build) *types.Error {
	// An unsupported cniVersion is reported by checkVersion, in its turn.
	supported := checkVersion(b) == nil
	if b.net.RawPrevResult == nil || !supported {
		return nil
	}
	if err := version.ParsePrevResult(&b.net.PluginConf); err != nil {
		return invalid("invalid prevResult: %v", err)
	}
	return nil
}
