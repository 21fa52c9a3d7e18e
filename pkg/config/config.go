package config

import (
	"log/slog"
	"net"
)

// RDMAPolicy says what to do about the VF's RDMA device.
type RDMAPolicy string

const (
	// RDMAAuto moves the RDMA device when the VF has one, and carries on without.
	RDMAAuto RDMAPolicy = "auto"
	// RDMARequired fails ADD when the VF has no RDMA device.
	RDMARequired RDMAPolicy = "required"
	// RDMAOff leaves any RDMA device on the host.
	RDMAOff RDMAPolicy = "off"
)

// VFSettings are the PF-side VF settings the config asks for; a nil field was
// not asked for and is left as it is.
type VFSettings struct {
	MAC       net.HardwareAddr // admin MAC (the effective mac); nil = not asked
	VLAN      *int
	QoS       *int
	Proto     *string // "802.1q" | "802.1ad", lower-case
	SpoofChk  *bool
	Trust     *bool
	LinkState *string // "auto" | "enable" | "disable", lower-case
	MinTxRate *int    // Mbps
	MaxTxRate *int    // Mbps
}

// Empty reports whether no PF-side setting is asked for, so the plugin can skip
// the PF entirely (it may not even be able to open it, e.g. with a userspace PF driver).
func (s VFSettings) Empty() bool {
	return s.MAC == nil && s.VLAN == nil && s.QoS == nil && s.Proto == nil &&
		s.SpoofChk == nil && s.Trust == nil && s.LinkState == nil &&
		s.MinTxRate == nil && s.MaxTxRate == nil
}

// K8sArgs are the Kubernetes keys of CNI_ARGS.
type K8sArgs struct {
	PodNamespace     string // K8S_POD_NAMESPACE
	PodName          string // K8S_POD_NAME
	PodUID           string // K8S_POD_UID
	InfraContainerID string // K8S_POD_INFRA_CONTAINER_ID
}

// Config is the validated, resolved view the plugin works from.
type Config struct {
	Net NetConf
	// Raw is the exact stdin (not a copy): IPAM is delegated these bytes.
	Raw []byte
	// DeviceID is the effective VF PCI address, lower-case: deviceID, else
	// runtimeConfig.deviceID, else pciBusID.
	DeviceID string
	// MAC is the effective pod-side MAC: runtimeConfig.mac over mac; nil = keep.
	MAC net.HardwareAddr
	// MTU is the pod-side MTU; 0 = keep.
	MTU int
	VF  VFSettings
	// RDMA defaults to RDMAAuto.
	RDMA RDMAPolicy
	// StateDir defaults to DefaultStateDir; always absolute, clean and
	// below StateRoot, one of the node's state roots.
	StateDir  string
	StateRoot string
	// LogFile is "" for no log file; otherwise absolute, clean and below
	// LogRoot, one of the node's log roots.
	LogFile string
	LogRoot string
	// DeviceInfoFile is runtimeConfig.CNIDeviceInfoFile ("" for none),
	// below DeviceInfoRoot.
	DeviceInfoFile string
	DeviceInfoRoot string
	// LogLevel defaults to slog.LevelInfo.
	LogLevel slog.Level
	// IPAMType is ipam.type; "" means no IPAM.
	IPAMType string
	Args     K8sArgs
	// GUID is the InfiniBand GUID to give the VF (8 bytes): runtimeConfig.
	// infinibandGUID over guid; nil = keep.
	GUID net.HardwareAddr
	// PKey is the partition key asked for; 0 = none.
	PKey uint16
}
