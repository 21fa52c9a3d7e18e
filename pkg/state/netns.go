package state

import (
	"errors"

	"github.com/containernetworking/plugins/pkg/ns"
)

// NetnsAlive reports whether an attachment's netns path still names a
// namespace. Only a path that is gone or is no namespace counts as dead;
// any other error (a permission problem, say) counts as alive, so a VF is
// never taken from a pod that may still be running. Opening it is a read.
func NetnsAlive(path string) bool {
	if path == "" {
		return false
	}
	n, err := ns.GetNS(path)
	if err == nil {
		_ = n.Close()
		return true
	}
	var notExist ns.NSPathNotExistErr
	var notNS ns.NSPathNotNSErr
	return !errors.As(err, &notExist) && !errors.As(err, &notNS)
}
