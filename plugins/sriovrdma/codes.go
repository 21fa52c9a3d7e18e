package sriovrdma

import (
	"errors"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
)

// The CNI error codes the plugin prints. The spec reserves 0-99 for its
// well-known errors, so a code below 100 is used only with the meaning the
// spec gives it; the plugin's own meanings are 100 and up. Codes() lists
// every one with when it is used, and README's "Error codes" table is
// checked against that list by a test.
const (
	CodeIncompatibleVersion = types.ErrIncompatibleCNIVersion      // 1
	CodeUnsupportedField    = types.ErrUnsupportedField            // 2
	CodeNoContainer         = types.ErrUnknownContainer            // 3
	CodeInvalidEnv          = types.ErrInvalidEnvironmentVariables // 4
	CodeIOFailure           = types.ErrIOFailure                   // 5
	CodeDecoding            = types.ErrDecodingFailure             // 6
	CodeInvalidConfig       = types.ErrInvalidNetworkConfig        // 7
	CodeTryAgainLater       = types.ErrTryAgainLater               // 11
	// CodeNotAvailable is STATUS's answer only: the spec defines 50 for
	// STATUS, so ADD does not borrow it.
	CodeNotAvailable = types.ErrPluginNotAvailable // 50

	// CodeRDMAUnavailable: ADD with rdma: required on a node or VF that
	// cannot give the pod its RDMA device.
	CodeRDMAUnavailable uint = 100
	// CodeDeviceBusy: the VF belongs to another live attachment.
	CodeDeviceBusy uint = 101

	CodeInternal = types.ErrInternal // 999
)

// CodeUse is one code the plugin prints and when.
type CodeUse struct {
	Code uint
	When string
}

// Codes lists every code the plugin prints, in README's order. Codes of an
// IPAM plugin's error are passed on unchanged and are not listed: they
// carry the IPAM plugin's meaning, and the message names it.
func Codes() []CodeUse {
	return []CodeUse{
		{CodeIncompatibleVersion, "unsupported or missing cniVersion; CHECK below 0.4.0, GC or STATUS below 1.1.0"},
		{CodeUnsupportedField, "a setting this VF or driver cannot take (names the setting and the driver)"},
		{CodeNoContainer, "CNI_NETNS does not exist (ADD, CHECK): the pod's network namespace is gone, nothing was changed"},
		{CodeInvalidEnv, "a missing or malformed CNI_* variable: CNI_COMMAND, CNI_CONTAINERID, CNI_IFNAME (invalid, or already used in the pod), CNI_ARGS, CNI_NETNS that is relative, not a network namespace, or the node's own"},
		{CodeIOFailure, "the state directory, a journal, a lock or sysfs cannot be read or written"},
		{CodeDecoding, "the netconf is not a JSON object"},
		{CodeInvalidConfig, "a bad field (names the field, the value, what is allowed), a path outside the allowed roots, an unknown PCI address, a PF or non-VF address, a bad or missing prevResult"},
		{CodeTryAgainLater, "another operation on the same VF did not finish within 10 s, or the VF is in limbo (its pod's netns path is gone, the namespace not yet): DEL and GC keep the journal, ADD of the VF waits; try again"},
		{CodeNotAvailable, "STATUS only: the plugin cannot serve ADD now (stateDir not writable, rdma: required without an exclusive-mode RDMA subsystem)"},
		{CodeRDMAUnavailable, "ADD with rdma: required, and the node or VF cannot give the RDMA device to the pod"},
		{CodeDeviceBusy, "the VF belongs to another live pod (names it), or its netdev is not on the host"},
		{CodeInternal, "a kernel call failed (names the step and the device), or CHECK found the attachment changed"},
	}
}

// openNetns opens CNI_NETNS, telling a namespace that is gone (3: the
// container does not exist, and nothing needs cleaning up) from a value
// that is no namespace path at all (4: an invalid variable). A relative
// path would be resolved against a working directory that is the
// runtime's, not the pod's.
func openNetns(path string) (ns.NetNS, error) {
	if !filepath.IsAbs(path) {
		return nil, cniError(CodeInvalidEnv, "CNI_NETNS %q: must be an absolute path to a network namespace", path)
	}
	n, err := ns.GetNS(path)
	var gone ns.NSPathNotExistErr
	switch {
	case err == nil:
		return n, nil
	case errors.As(err, &gone):
		return nil, cniError(CodeNoContainer, "CNI_NETNS %q does not exist: the pod's network namespace is gone", path)
	default:
		return nil, cniError(CodeInvalidEnv, "CNI_NETNS %q: %v", path, err)
	}
}
