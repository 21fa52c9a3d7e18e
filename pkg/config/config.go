package config

import (
	"log/slog"
	"net"

	"github.com/sriov-rdma/sriov-rdma/pkg/vf"
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
	// VF is what the netconf asks of the PF-side settings.
	VF vf.Request
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
