package config

import (
	"regexp"

	"github.com/containernetworking/cni/pkg/types"
)

// networkNameRE is the CNI spec's rule for network names. skel enforces it
// too; checking here gives the user a message that says what is allowed.
var networkNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`)

func checkType(b *build) *types.Error {
	if b.net.Type == PluginType {
		return nil
	}
	if b.net.Type == "" {
		return invalid("missing type: must be %q", PluginType)
	}
	return invalid("invalid type %s: must be %q", quote(b.net.Type), PluginType)
}

func checkName(b *build) *types.Error {
	name := b.net.Name
	if name == "" {
		return invalid(`missing name: set "name" to the network's name, e.g. "sriov-rdma-net"`)
	}
	if !networkNameRE.MatchString(name) {
		return invalid("invalid name %s: must start with a letter or digit, followed by letters, digits, '_', '.' or '-'", quote(name))
	}
	return nil
}
