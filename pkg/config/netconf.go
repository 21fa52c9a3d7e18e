package config

import "github.com/containernetworking/cni/pkg/types"

const (
	// DefaultStateDir holds the per-attachment journals when stateDir is not set.
	DefaultStateDir = "/var/lib/cni/sriov-rdma"
	// DefaultStateRoot is the root DefaultStateDir lies below.
	DefaultStateRoot = "/var/lib/cni"
	// PluginType is the only value "type" may have.
	PluginType = "sriov-rdma"
	// MaxConfigBytes bounds stdin: a netconf is a few KiB, anything near this
	// is a runaway generator, and refusing it keeps memory use predictable.
	MaxConfigBytes = 1 << 20
)

// NetConf mirrors the JSON on stdin. Field names are sriov-cni's so existing
// NetworkAttachmentDefinitions keep working. Values are as written; Config
// holds the validated, normalized view.
type NetConf struct {
	types.PluginConf // cniVersion, name, type, capabilities, ipam, dns, prevResult

	DeviceID  string  `json:"deviceID,omitempty"`
	PCIBusID  string  `json:"pciBusID,omitempty"`
	MAC       string  `json:"mac,omitempty"`
	VLAN      *int    `json:"vlan,omitempty"`
	VLANQoS   *int    `json:"vlanQoS,omitempty"`
	VLANProto *string `json:"vlanProto,omitempty"`
	SpoofChk  string  `json:"spoofchk,omitempty"`
	Trust     string  `json:"trust,omitempty"`
	LinkState string  `json:"link_state,omitempty"`
	MinTxRate *int    `json:"min_tx_rate,omitempty"`
	MaxTxRate *int    `json:"max_tx_rate,omitempty"`
	MTU       *int    `json:"mtu,omitempty"`
	RDMA      string  `json:"rdma,omitempty"`
	StateDir  string  `json:"stateDir,omitempty"`
	LogFile   string  `json:"logFile,omitempty"`
	LogLevel  string  `json:"logLevel,omitempty"`
	// GUID is an InfiniBand VF's node and port GUID (ib-sriov-cni's
	// "guid"); runtimeConfig.infinibandGUID overrides it.
	GUID string `json:"guid,omitempty"`
	// PKey is an InfiniBand partition key, "0x7fff" style.
	PKey string `json:"pkey,omitempty"`

	RuntimeConfig RuntimeConfig `json:"runtimeConfig,omitempty"`
}

// RuntimeConfig holds what Multus (or another runtime) injects per attachment
// through capabilities; other runtimeConfig keys are ignored.
type RuntimeConfig struct {
	DeviceID          string `json:"deviceID,omitempty"`
	MAC               string `json:"mac,omitempty"`
	CNIDeviceInfoFile string `json:"CNIDeviceInfoFile,omitempty"`
	InfinibandGUID    string `json:"infinibandGUID,omitempty"`
}
