// Package state keeps the durable per-attachment journal and the per-VF lock.
//
// The journal is written before ADD changes anything on the host and holds
// every original attribute ADD is about to change, so that DEL, GC or the
// next ADD can put the node back exactly as it was after a crash at any
// point. The per-VF lock serialises every verb touching one VF and records
// which attachment owns it.
package state

import (
	"encoding/json"
	"time"

	"github.com/sriov-rdma/sriov-rdma/pkg/pci"
	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
)

// SchemaVersion is the journal format version. A reader refuses a newer
// version rather than guessing at fields it does not know.
const SchemaVersion = 1

// Phase says how far ADD got.
type Phase string

const (
	// PhaseAdding: the journal was written, changes may be under way.
	PhaseAdding Phase = "adding"
	// PhaseCommitted: ADD returned a result.
	PhaseCommitted Phase = "committed"
)

// Record is one attachment's journal.
type Record struct {
	Version int       `json:"version"`
	BootID  string    `json:"bootID"`
	Created time.Time `json:"created"`
	Phase   Phase     `json:"phase"`
	// Network is the netconf's name: GC of one network must never touch
	// another network's attachments, even in a shared state directory.
	Network      string `json:"network"`
	ContainerID  string `json:"containerID"`
	IfName       string `json:"ifName"`
	Netns        string `json:"netns"`
	PodNamespace string `json:"podNamespace,omitempty"`
	PodName      string `json:"podName,omitempty"`

	// Mode is ModeNetdev (the VF's kernel netdev moves into the pod) or
	// ModeUserspace (a vfio-pci/uio VF: PF-side settings and IPAM only).
	Mode     string `json:"mode"`
	DeviceID string `json:"deviceID"`
	PFAddr   string `json:"pfAddr,omitempty"`
	PFNetdev string `json:"pfNetdev,omitempty"`
	PFDriver string `json:"pfDriver,omitempty"`
	VFIndex  int    `json:"vfIndex"`
	Driver   string `json:"driver,omitempty"`

	// Orig is the host-side state before ADD.
	Orig Original `json:"original"`
	// WantVF is the PF-side state ADD set; nil when the PF reports no VF
	// information. CHECK compares the live state with it.
	WantVF *vf.State `json:"wantVF,omitempty"`
	// RDMA lists the VF's RDMA devices as found before ADD. Software ones
	// are re-created on the host by DEL: the kernel destroys them when their
	// netdev changes namespace, whatever the rdma policy.
	RDMA []RDMADevice `json:"rdma,omitempty"`
	// RDMAInPod says ADD gives the RDMA devices to the pod (exclusive netns
	// mode); false for netdev-only attachments and shared mode.
	RDMAInPod bool `json:"rdmaInPod,omitempty"`
	// RDMAMode is the RDMA netns mode ADD found ("" when it did not look).
	RDMAMode string `json:"rdmaMode,omitempty"`
	// RoCEv2GID is the index of the RoCE v2 GID carrying the pod's address.
	RoCEv2GID *int `json:"roceV2GID,omitempty"`
	// DeviceInfoFile is the device-info file ADD wrote, below the node's
	// DeviceInfoRoot; DEL removes it only if DeviceInfoOwned (ADD created it
	// rather than merging into the device plugin's).
	DeviceInfoFile  string `json:"deviceInfoFile,omitempty"`
	DeviceInfoRoot  string `json:"deviceInfoRoot,omitempty"`
	DeviceInfoOwned bool   `json:"deviceInfoOwned,omitempty"`
	// LinkType is the VF netdev's link type ("ether", "infiniband").
	LinkType string `json:"linkType,omitempty"`
	// IB is set when ADD gave an InfiniBand VF a GUID.
	IB *IB `json:"ib,omitempty"`
	// PodIfIndex is the netdev's ifindex inside the pod, once known; DEL uses
	// it to tell our VF from a look-alike when the netdev has no PCI parent.
	PodIfIndex int `json:"podIfIndex,omitempty"`

	IPAM   IPAM            `json:"ipam"`
	Result json.RawMessage `json:"result,omitempty"`

	// Salvaged marks a record pieced together from a corrupt journal and
	// the netconf; never written.
	Salvaged bool `json:"-"`
}

// Attachment modes.
const (
	ModeNetdev    = "netdev"
	ModeUserspace = "userspace"
)

// IB is an InfiniBand VF's GUID change.
type IB struct {
	// OrigGUID is the GUID the VF had (from its IPoIB address), "" when
	// none was set: DEL then writes the all-F "unset" value.
	OrigGUID string `json:"origGUID,omitempty"`
	WantGUID string `json:"wantGUID"`
}

// Original is what DEL puts back.
type Original struct {
	Netdev  string `json:"netdev"`
	MAC     string `json:"mac"`
	MTU     int    `json:"mtu"`
	IfIndex int    `json:"ifIndex"`
	Up      bool   `json:"up"`
	// ParentDev is the bus address of the device behind the netdev (the
	// VF's PCI address), "" for a virtual stand-in. The kernel returns a
	// netdev with a bus device to the host when its namespace dies, and
	// destroys a virtual one: only the first is worth waiting for.
	ParentDev string    `json:"parentDev,omitempty"`
	VF        *vf.State `json:"vf,omitempty"`
}

// RDMADevice is an RDMA device that follows the VF into the pod.
type RDMADevice struct {
	Name string `json:"name"`
	// Kind is "hw", "aux" (moved) or "soft" (re-created: the kernel destroys
	// rxe/siw devices when their netdev changes namespace).
	Kind   pci.RDMAKind `json:"kind"`
	Type   string       `json:"type,omitempty"`
	Netdev string       `json:"netdev,omitempty"`
}

// RDMAOf is how the journal records a VF's RDMA devices as sysfs shows them.
func RDMAOf(devs []pci.RDMADevice) []RDMADevice {
	out := make([]RDMADevice, 0, len(devs))
	for _, d := range devs {
		out = append(out, RDMADevice{Name: d.Name, Kind: d.Kind, Type: d.Type, Netdev: d.Netdev})
	}
	return out
}

// IPAM is what DEL needs to release the address even when the netconf it is
// given has changed since ADD (or after a reboot).
type IPAM struct {
	Type   string          `json:"type,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
	Args   string          `json:"args,omitempty"`
	Path   string          `json:"path,omitempty"`
}

// Key names an attachment's journal file.
func (r *Record) Key() string { return r.ContainerID + "-" + r.IfName }
