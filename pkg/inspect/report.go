// Package inspect describes, strictly read-only, the node's SR-IOV virtual
// functions as the plugin sees them: per physical function, each VF's PCI
// address, netdev, driver and RDMA device, whether that device speaks RoCE v2,
// and which pod holds the VF according to the plugin's journals, plus the RDMA
// netns mode and every journal that no longer describes a live attachment.
//
// It backs `sriov-rdma inspect`, which an operator runs by hand. It never
// creates a directory, never takes a lock and never writes: a diagnostic must
// not change what it diagnoses, nor wait behind an ADD that holds a VF.
package inspect

import (
	"errors"
	"time"
)

// State is what a VF is to the plugin.
type State string

const (
	// StateFree: no journal owns the VF.
	StateFree State = "free"
	// StateInPod: a journal of this boot owns it and its pod netns exists.
	StateInPod State = "in pod"
	// StateStale: a journal owns it, but its pod netns is gone or it was
	// written in an earlier boot; the next ADD, DEL or GC restores the VF.
	StateStale State = "stale"
)

// RoCE v2 column values. An empty value means the VF has no RDMA device.
const (
	RoCEYes   = "yes"
	RoCENo    = "no"
	RoCEInPod = "in pod" // the device was moved into the pod: not visible from the host
)

// RDMA netns modes as reported. Exclusive and shared are the kernel's words.
const (
	ModeUnavailable = "unavailable" // the kernel has no RDMA netlink (ib_core not loaded)
	ModeUnknown     = "unknown"     // reading it failed otherwise; see RDMANetnsModeError
)

// Errors Collect returns with a report a user acts on.
var (
	// ErrNoSRIOV: no PCI function with sriov_totalvfs > 0.
	ErrNoSRIOV = errors.New("no SR-IOV physical function")
	// ErrNoVFs: SR-IOV physical functions exist but none has VFs enabled.
	ErrNoVFs = errors.New("no SR-IOV virtual function")
)

// Report is everything inspect shows; --json prints it as is.
type Report struct {
	// Plugin is the build of the sriov-rdma binary that inspected the
	// node; nil when the caller did not say.
	Plugin             *Build    `json:"plugin,omitempty"`
	RDMANetnsMode      string    `json:"rdmaNetnsMode"`
	RDMANetnsModeError string    `json:"rdmaNetnsModeError,omitempty"`
	BootID             string    `json:"bootID"`
	StateDirs          []string  `json:"stateDirs"`
	LockDir            string    `json:"lockDir"`
	PFs                []PF      `json:"pfs"`
	StaleJournals      []Journal `json:"staleJournals"`
	// Warnings are things inspect could not read (a corrupt journal, an
	// unreadable lock file); what it shows is complete otherwise.
	Warnings []string `json:"warnings,omitempty"`
}

// Build names a plugin binary: its version and commit.
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// PF is a physical function and its enabled VFs.
type PF struct {
	PCI      string `json:"pci"`
	Netdev   string `json:"netdev,omitempty"`
	Driver   string `json:"driver,omitempty"`
	NumVFs   int    `json:"numVFs"`
	TotalVFs int    `json:"totalVFs"`
	// PFSideNote says why the VFs show no PF-side settings (the driver
	// reports none over netlink, or reading them failed).
	PFSideNote string `json:"pfSideNote,omitempty"`
	VFs        []VF   `json:"vfs"`
}

// VF is one virtual function.
type VF struct {
	Index int    `json:"index"`
	PCI   string `json:"pci"`
	// Netdev is the VF's netdev as the host sees it; "" when it has none
	// (userspace driver) or it is in a pod's netns.
	Netdev   string       `json:"netdev,omitempty"`
	Driver   string       `json:"driver,omitempty"`
	LinkType string       `json:"linkType,omitempty"`
	RDMA     []RDMADevice `json:"rdma,omitempty"`
	// RoCEv2 is RoCEYes, RoCENo, RoCEInPod, or "" without an RDMA device.
	RoCEv2 string `json:"roceV2,omitempty"`
	State  State  `json:"state"`
	Owner  *Owner `json:"owner,omitempty"`
	// PFSide is what the PF says of the VF over netlink; nil when its
	// driver reports nothing.
	PFSide *PFSide `json:"pfSide,omitempty"`
	// MTU of the VF's netdev: read on the host, or from the ADD result
	// when the netdev is in a pod. 0 when unknown.
	MTU int `json:"mtu,omitempty"`
	// GUID is an InfiniBand VF's port GUID (from its IPoIB address on
	// the host, from the journal when it is in a pod).
	GUID string `json:"guid,omitempty"`
	// RoCEv2GIDIndex is the GID index the pod's address uses, as ADD
	// found it (NCCL_IB_GID_INDEX); nil when ADD found none.
	RoCEv2GIDIndex *int `json:"roceV2GIDIndex,omitempty"`
	// Note says why a VF is stale, or anything else odd about it.
	Note string `json:"note,omitempty"`
	// Error is set when sysfs could not describe the VF.
	Error string `json:"error,omitempty"`
}

// PFSide is a VF's PF-side settings, as `ip link show <pf>` lists them.
type PFSide struct {
	AdminMAC  string `json:"adminMAC"`
	VLAN      int    `json:"vlan"`
	QoS       int    `json:"vlanQoS"`
	VLANProto string `json:"vlanProto"`
	SpoofChk  bool   `json:"spoofchk"`
	Trust     bool   `json:"trust"`
	LinkState string `json:"linkState"`
	MinTxRate int    `json:"minTxRateMbps"`
	MaxTxRate int    `json:"maxTxRateMbps"`
}

// RDMADevice is an RDMA device of a VF.
type RDMADevice struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "hw", "aux" or "soft"
	// InPod: the device is not visible from the host and the journal says
	// it was given to the pod; its name comes from the journal.
	InPod bool `json:"inPod,omitempty"`
}

// Owner is the attachment a journal describes.
type Owner struct {
	PodNamespace string    `json:"podNamespace,omitempty"`
	PodName      string    `json:"podName,omitempty"`
	ContainerID  string    `json:"containerID"`
	IfName       string    `json:"ifName"`
	Netns        string    `json:"netns"`
	Network      string    `json:"network,omitempty"`
	Phase        string    `json:"phase"`
	BootID       string    `json:"bootID"`
	Created      time.Time `json:"created"`
	Journal      string    `json:"journal"`
}

// Journal is a journal that no longer describes a live attachment.
type Journal struct {
	Owner
	DeviceID string `json:"deviceID"`
	Reason   string `json:"reason"`
}

// pod is "namespace/name", or "" when the journal has neither.
func (o *Owner) pod() string {
	if o == nil || (o.PodNamespace == "" && o.PodName == "") {
		return ""
	}
	return o.PodNamespace + "/" + o.PodName
}
