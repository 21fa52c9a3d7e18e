package config

import (
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// VersionInfo lists the CNI spec versions the plugin speaks; cmd hands the same
// value to skel so the two can never disagree. Before 0.3.0 results had no
// interface list to hang the VF and its pciID on.
func VersionInfo() version.PluginInfo {
	return version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
}

func checkVersion(b *build) *types.Error {
	supported := VersionInfo().SupportedVersions()
	v := b.net.CNIVersion
	for _, s := range supported {
		if v == s {
			return nil
		}
	}
	list := strings.Join(supported, ", ")
	if v == "" {
		return types.NewError(types.ErrIncompatibleCNIVersion,
			"missing cniVersion: this plugin supports "+list, "")
	}
	return types.NewError(types.ErrIncompatibleCNIVersion,
		"incompatible cniVersion "+quote(v)+": this plugin supports "+list, "")
}
